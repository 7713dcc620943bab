// RUN: infini-opt %s --infini-lower-to-linalg | FileCheck %s
// RUN: infini-opt %s --infini-lower-to-linalg | FileCheck %s --check-prefix=NOINFINI

// NOINFINI-NOT: infini.

// The contraction maps of a projection, loops (b, t, o, i).
// CHECK-DAG: #[[$XMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$WMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-DAG: #[[$YMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$HEAD:.+]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// A projection into heads, loops (b, h, t, panel, column, i).
// CHECK-DAG: #[[$XHEADS:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d2, d5)>
// CHECK-DAG: #[[$WHEADS:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d5, d4)>
// CHECK-DAG: #[[$YHEADS:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>

// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[IDS:[^:]+]]: tensor<?x4xi32>, %[[TABLE:[^:]+]]: tensor<10x8xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty(%{{.+}}) : tensor<?x4x8xf32>
// CHECK: %[[R:.+]] = linalg.generic
// CHECK-SAME: ins(%[[IDS]] : tensor<?x4xi32>) outs(%[[INIT]] : tensor<?x4x8xf32>)
// CHECK: %[[ROW:.+]] = arith.index_cast %{{.+}} : i32 to index
// Out-of-range ids are clamped into the table.
// CHECK: %[[LO:.+]] = arith.maxsi %[[ROW]]
// CHECK: %[[HI:.+]] = arith.minsi %[[LO]]
// CHECK: %[[COL:.+]] = linalg.index 2
// CHECK: tensor.extract %[[TABLE]][%[[HI]], %[[COL]]]
// CHECK: return %[[R]]
func.func @embedding(%ids: tensor<?x4xi32>, %table: tensor<10x8xf32>) -> tensor<?x4x8xf32> {
  %0 = infini.embedding %ids, %table : tensor<?x4xi32>, tensor<10x8xf32> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x4x8xf32>, %[[W:[^:]+]]: tensor<16x8xf32>)
// CHECK: %[[WT:.+]] = linalg.transpose ins(%[[W]] : tensor<16x8xf32>) outs(%{{.+}} : tensor<8x16xf32>) permutation = [1, 0]
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x4x16xf32>)
// CHECK: %[[Y:.+]] = linalg.contract indexing_maps = [#[[$XMAP]], #[[$WMAP]], #[[$YMAP]]] ins(%[[X]], %[[WT]] : tensor<?x4x8xf32>, tensor<8x16xf32>) outs(%[[ZERO]] : tensor<?x4x16xf32>)
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<?x4x8xf32>, %w: tensor<16x8xf32>) -> tensor<?x4x16xf32> {
  %0 = infini.linear %x, %w : tensor<?x4x8xf32>, tensor<16x8xf32> -> tensor<?x4x16xf32>
  return %0 : tensor<?x4x16xf32>
}

// With a multiple of 32 output features, the weight is packed into panels
// [O/32, I, 32] and the contraction writes [B, T, O/32, 32].
// CHECK-LABEL: func.func @linear_packed
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x4x8xf32>, %[[W:[^:]+]]: tensor<64x8xf32>)
// CHECK: %[[SPLIT:.+]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1], [2]] output_shape [2, 32, 8] : tensor<64x8xf32> into tensor<2x32x8xf32>
// CHECK: %[[PANELS:.+]] = linalg.transpose ins(%[[SPLIT]] : tensor<2x32x8xf32>) outs(%{{.+}} : tensor<2x8x32xf32>) permutation = [0, 2, 1]
// CHECK: %[[Y:.+]] = linalg.contract {{.*}} ins(%[[X]], %[[PANELS]] : tensor<?x4x8xf32>, tensor<2x8x32xf32>) outs(%{{.+}} : tensor<?x4x2x32xf32>)
// CHECK: %[[R:.+]] = tensor.collapse_shape %[[Y]] {{\[\[}}0], [1], [2, 3]] : tensor<?x4x2x32xf32> into tensor<?x4x64xf32>
// CHECK: return %[[R]]
func.func @linear_packed(%x: tensor<?x4x8xf32>, %w: tensor<64x8xf32>) -> tensor<?x4x64xf32> {
  %0 = infini.linear %x, %w : tensor<?x4x8xf32>, tensor<64x8xf32> -> tensor<?x4x64xf32>
  return %0 : tensor<?x4x64xf32>
}

// CHECK-LABEL: func.func @split_heads
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x4x8xf32>)
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %c0
// CHECK: %[[E:.+]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3]] output_shape [%[[B]], 4, 2, 4] : tensor<?x4x8xf32> into tensor<?x4x2x4xf32>
// CHECK: %[[T:.+]] = linalg.transpose ins(%[[E]] : tensor<?x4x2x4xf32>) outs(%{{.+}} : tensor<?x2x4x4xf32>) permutation = [0, 2, 1, 3]
// CHECK: return %[[T]]
func.func @split_heads(%x: tensor<?x4x8xf32>) -> tensor<?x2x4x4xf32> {
  %0 = infini.split_heads %x : tensor<?x4x8xf32> -> tensor<?x2x4x4xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// A projection read only as heads of a multiple of 32 features contracts
// straight into the heads' layout: its panels viewed per head [H, Dh/32, I,
// 32], loops (b, h, t, panel, column, i), output [B, H, T, Dh/32, 32].
// CHECK-LABEL: func.func @linear_into_heads
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x4x8xf32>, %[[W:[^:]+]]: tensor<128x8xf32>)
// CHECK: %[[PANELS:.+]] = linalg.transpose {{.+}} outs(%{{.+}} : tensor<4x8x32xf32>) permutation = [0, 2, 1]
// CHECK: %[[PERHEAD:.+]] = tensor.expand_shape %[[PANELS]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 2, 8, 32] : tensor<4x8x32xf32> into tensor<2x2x8x32xf32>
// CHECK: %[[Y:.+]] = linalg.contract indexing_maps = [#[[$XHEADS]], #[[$WHEADS]], #[[$YHEADS]]] ins(%[[X]], %[[PERHEAD]] : tensor<?x4x8xf32>, tensor<2x2x8x32xf32>) outs(%{{.+}} : tensor<?x2x4x2x32xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[HEADS:.+]] = tensor.collapse_shape %[[Y]] {{\[\[}}0], [1], [2], [3, 4]] : tensor<?x2x4x2x32xf32> into tensor<?x2x4x64xf32>
// CHECK: return %[[HEADS]]
func.func @linear_into_heads(%x: tensor<?x4x8xf32>, %w: tensor<128x8xf32>) -> tensor<?x2x4x64xf32> {
  %0 = infini.linear %x, %w : tensor<?x4x8xf32>, tensor<128x8xf32> -> tensor<?x4x128xf32>
  %1 = infini.split_heads %0 : tensor<?x4x128xf32> -> tensor<?x2x4x64xf32>
  return %1 : tensor<?x2x4x64xf32>
}

// CHECK-LABEL: func.func @merge_heads
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x2x4x4xf32>)
// CHECK: %[[T:.+]] = linalg.transpose ins(%[[X]] : tensor<?x2x4x4xf32>) outs(%{{.+}} : tensor<?x4x2x4xf32>) permutation = [0, 2, 1, 3]
// CHECK: %[[C:.+]] = tensor.collapse_shape %[[T]] {{\[}}[0], [1], [2, 3]] : tensor<?x4x2x4xf32> into tensor<?x4x8xf32>
// CHECK: return %[[C]]
func.func @merge_heads(%x: tensor<?x2x4x4xf32>) -> tensor<?x4x8xf32> {
  %0 = infini.merge_heads %x : tensor<?x2x4x4xf32> -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// CHECK-LABEL: func.func @rmsnorm
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x4x8xf32>, %[[W:[^:]+]]: tensor<8xf32>)
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK: %[[SUM:.+]] = linalg.generic {{{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]] : tensor<?x4x8xf32>) outs(%[[ZERO]] : tensor<?x4xf32>)
// CHECK: %[[SQ:.+]] = arith.mulf %[[IN:.+]], %[[IN]] : f32
// CHECK: arith.addf %{{.+}}, %[[SQ]]
// CHECK: %[[Y:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[SUM]], %[[W]] : tensor<?x4x8xf32>, tensor<?x4xf32>, tensor<8xf32>)
// CHECK: arith.constant 8.000000e+00 : f32
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK: math.rsqrt
// CHECK: return %[[Y]]
func.func @rmsnorm(%x: tensor<?x4x8xf32>, %w: tensor<8xf32>) -> tensor<?x4x8xf32> {
  %0 = infini.rmsnorm %x, %w : tensor<?x4x8xf32>, tensor<8xf32>
  return %0 : tensor<?x4x8xf32>
}

// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x4x8xf32>, %[[WG:[^:]+]]: tensor<12x8xf32>, %[[WU:[^:]+]]: tensor<12x8xf32>, %[[WD:[^:]+]]: tensor<8x12xf32>)
// CHECK: %[[WGT:.+]] = linalg.transpose ins(%[[WG]]
// CHECK: %[[G:.+]] = linalg.contract {{.*}} ins(%[[X]], %[[WGT]] :
// CHECK: %[[WUT:.+]] = linalg.transpose ins(%[[WU]]
// CHECK: %[[U:.+]] = linalg.contract {{.*}} ins(%[[X]], %[[WUT]] :
// CHECK: %[[H:.+]] = linalg.generic {{.*}} ins(%[[G]], %[[U]] : tensor<?x4x12xf32>, tensor<?x4x12xf32>)
// CHECK: ^bb0(%[[GIN:.+]]: f32, %[[UIN:.+]]: f32, %{{.+}}: f32):
// swish_beta(g) = g * sigmoid(beta * g), beta = 2.
// CHECK: %[[BETAG:.+]] = arith.mulf %[[GIN]], %{{.+}} : f32
// CHECK: arith.negf %[[BETAG]]
// CHECK: math.exp
// CHECK: %[[SIG:.+]] = arith.divf
// CHECK: %[[SWISH:.+]] = arith.mulf %[[GIN]], %[[SIG]]
// CHECK: arith.mulf %[[SWISH]], %[[UIN]]
// CHECK: %[[WDT:.+]] = linalg.transpose ins(%[[WD]] : tensor<8x12xf32>) outs(%{{.+}} : tensor<12x8xf32>)
// CHECK: %[[Y:.+]] = linalg.contract {{.*}} ins(%[[H]], %[[WDT]] : tensor<?x4x12xf32>, tensor<12x8xf32>)
// CHECK: return %[[Y]]
func.func @swiglu(%x: tensor<?x4x8xf32>, %wg: tensor<12x8xf32>, %wu: tensor<12x8xf32>,
                  %wd: tensor<8x12xf32>) -> tensor<?x4x8xf32> {
  %0 = infini.swiglu %x, %wg, %wu, %wd {beta = 2.0 : f64}
      : tensor<?x4x8xf32>, tensor<12x8xf32>, tensor<12x8xf32>, tensor<8x12xf32>
  return %0 : tensor<?x4x8xf32>
}

// CHECK-LABEL: func.func @rope_half_split
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x2x4x8xf32>, %[[OFF:[^:]+]]: i64)
// The angle table: [T, rotary_dim / 2] cos and sin, computed in f64.
// CHECK: %[[TABLE:.+]]:2 = linalg.generic {{.*}} outs(%{{.+}}, %{{.+}} : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK: %[[T:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[POS:.+]] = arith.addi %[[OFF]], %[[T]] : i64
// CHECK: arith.sitofp %[[POS]] : i64 to f64
// -2 ln(10000) / 8
// CHECK: arith.constant -2.302585{{[0-9]+}} : f64
// CHECK: math.exp %{{.+}} : f64
// CHECK: %[[ANGLE:.+]] = arith.mulf %{{.+}}, %{{.+}} : f64
// CHECK: %[[COS:.+]] = math.cos %[[ANGLE]] : f64
// CHECK: arith.truncf %[[COS]] : f64 to f32
// CHECK: %[[SIN:.+]] = math.sin %[[ANGLE]] : f64
// CHECK: arith.truncf %[[SIN]] : f64 to f32
// The rotation: feature d pairs with d +- rotary_dim / 2.
// CHECK: %[[R:.+]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x2x4x8xf32>)
// CHECK: %[[D:.+]] = linalg.index 3 : index
// CHECK: arith.constant 4 : index
// CHECK: arith.cmpi ult, %[[D]]
// CHECK: tensor.extract %[[TABLE]]#0
// CHECK: tensor.extract %[[TABLE]]#1
// CHECK: tensor.extract %[[X]]
// CHECK: arith.negf
// CHECK: return %[[R]]
func.func @rope_half_split(%x: tensor<?x2x4x8xf32>, %offset: i64) -> tensor<?x2x4x8xf32> {
  %0 = infini.rope %x at %offset : tensor<?x2x4x8xf32>
  return %0 : tensor<?x2x4x8xf32>
}

// CHECK-LABEL: func.func @rope_interleaved_partial
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x2x4x8xf32>, %[[OFF:[^:]+]]: i64)
// rotary_dim = 4: two pairs per token.
// CHECK: %[[TABLE:.+]]:2 = linalg.generic {{.*}} outs(%{{.+}}, %{{.+}} : tensor<4x2xf32>, tensor<4x2xf32>)
// -2 ln(10000) / 4
// CHECK: arith.constant -4.605170{{[0-9]+}} : f64
// The position is divided by the scaling factor.
// CHECK: %[[FACTOR:.+]] = arith.constant 2.000000e+00 : f64
// CHECK: arith.divf %{{.+}}, %[[FACTOR]] : f64
// CHECK: math.cos %{{.+}} : f64
// CHECK: math.sin %{{.+}} : f64
// CHECK: %[[R:.+]] = linalg.generic {{.*}} ins(%[[X]] : tensor<1x2x4x8xf32>)
// CHECK: %[[D:.+]] = linalg.index 3 : index
// Features from rotary_dim on pass through.
// CHECK: %[[ROT_DIM:.+]] = arith.constant 4 : index
// CHECK: %[[ROTATED:.+]] = arith.cmpi ult, %[[D]], %[[ROT_DIM]] : index
// Interleaved pairs: (2i, 2i+1).
// CHECK: arith.remui %[[D]], %{{.+}} : index
// CHECK: arith.divui %[[D]], %{{.+}} : index
// CHECK: %[[OUT:.+]] = arith.select %[[ROTATED]], %{{.+}}, %{{.+}} : f32
// CHECK: linalg.yield %[[OUT]]
// CHECK: return %[[R]]
func.func @rope_interleaved_partial(%x: tensor<1x2x4x8xf32>, %offset: i64) -> tensor<1x2x4x8xf32> {
  %0 = infini.rope %x at %offset {layout = #infini.rope_layout<interleaved>,
                                  rotary_dim = 4 : i64, scaling_factor = 2.0 : f64}
      : tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// CHECK-LABEL: func.func @cope
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<?x2x4x8xf32>, %[[K:[^:]+]]: tensor<?x2x4x8xf32>, %[[E:[^:]+]]: tensor<8x3xf32>)
// CHECK: %[[S:.+]] = linalg.contract {{.*}} ins(%[[Q]], %[[K]] : {{.*}}) outs(%{{.+}} : tensor<?x2x4x4xf32>)
// Gates: sigmoid of the scaled logits, 0 above the diagonal.
// CHECK: %[[G:.+]] = linalg.generic {{.*}} ins(%[[S]] : tensor<?x2x4x4xf32>)
// CHECK: arith.constant 0.353553{{[0-9]+}} : f32
// CHECK: arith.cmpi ule
// CHECK: math.exp
// Gates and positions are kept in f64.
// CHECK: arith.extf {{.*}} : f32 to f64
// The reversed cumulative sum over key columns.
// CHECK: %[[P:.+]]:2 = scf.for {{.*}} -> (tensor<?x2x4xf64>, tensor<?x2x4x4xf64>)
// CHECK: %[[COL:.+]] = tensor.extract_slice %[[G]][0, 0, 0, %{{.+}}] [%{{.+}}, 2, 4, 1] [1, 1, 1, 1] : tensor<?x2x4x4xf64> to tensor<?x2x4xf64>
// CHECK: %[[RUNNING:.+]] = linalg.generic {{.*}} ins(%[[COL]] : tensor<?x2x4xf64>)
// CHECK: %[[INS:.+]] = tensor.insert_slice %[[RUNNING]]
// CHECK: scf.yield %[[RUNNING]], %[[INS]]
// z = q E
// CHECK: %[[Z:.+]] = linalg.contract {{.*}} ins(%[[Q]], %[[E]] : tensor<?x2x4x8xf32>, tensor<8x3xf32>) outs(%{{.+}} : tensor<?x2x4x3xf32>)
// CHECK: %[[BIAS:.+]] = linalg.generic {{.*}} ins(%[[P]]#1 : tensor<?x2x4x4xf64>)
// Positions are clamped to P - 1 and interpolated.
// CHECK: arith.minimumf %{{.+}}, %{{.+}} : f64
// CHECK: math.floor
// CHECK: math.ceil
// CHECK: tensor.extract %[[Z]]
// CHECK: tensor.extract %[[Z]]
// CHECK: return %[[BIAS]]
func.func @cope(%q: tensor<?x2x4x8xf32>, %k: tensor<?x2x4x8xf32>, %e: tensor<8x3xf32>)
    -> tensor<?x2x4x4xf32> {
  %0 = infini.cope %q, %k, %e
      : tensor<?x2x4x8xf32>, tensor<?x2x4x8xf32>, tensor<8x3xf32> -> tensor<?x2x4x4xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// CHECK-LABEL: func.func @local_attention
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<?x2x4x8xf32>, %[[K:[^:]+]]: tensor<?x2x4x8xf32>, %[[V:[^:]+]]: tensor<?x2x4x8xf32>)
// CHECK: %[[S:.+]] = linalg.contract {{.*}} ins(%[[Q]], %[[K]] :
// Scaled by 1/sqrt(8) and causally masked with -inf.
// CHECK: %[[L:.+]] = linalg.generic {{.*}} ins(%[[S]] : tensor<?x2x4x4xf32>)
// CHECK: arith.constant 0.353553{{[0-9]+}} : f32
// CHECK: arith.cmpi ule
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: %[[MAX:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[L]] :
// CHECK: arith.maximumf
// CHECK: %[[EXP:.+]] = linalg.generic {{.*}} ins(%[[L]], %[[MAX]] :
// CHECK: math.exp
// CHECK: %[[SUM:.+]] = linalg.generic {{.*}} ins(%[[EXP]] :
// CHECK: %[[PV:.+]] = linalg.contract {{.*}} ins(%[[EXP]], %[[V]] :
// CHECK: %[[R:.+]] = linalg.generic {{.*}} ins(%[[PV]], %[[SUM]] :
// CHECK: arith.divf
// CHECK: return %[[R]]
func.func @local_attention(%q: tensor<?x2x4x8xf32>, %k: tensor<?x2x4x8xf32>,
                           %v: tensor<?x2x4x8xf32>) -> tensor<?x2x4x8xf32> {
  %0 = infini.local_attention %q, %k, %v : tensor<?x2x4x8xf32>
  return %0 : tensor<?x2x4x8xf32>
}

// CHECK-LABEL: func.func @local_attention_bias
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<?x2x4x8xf32>, %[[B:[^:]+]]: tensor<?x2x4x4xf32>)
// CHECK: %[[S:.+]] = linalg.contract
// The bias is added after scaling, before the mask.
// CHECK: linalg.generic {{.*}} ins(%[[S]], %[[B]] : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>)
// CHECK: ^bb0(%[[SIN:.+]]: f32, %[[BIN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[SCALED:.+]] = arith.mulf %[[SIN]], %{{.+}} : f32
// CHECK: arith.addf %[[SCALED]], %[[BIN]] : f32
// CHECK: return
func.func @local_attention_bias(%q: tensor<?x2x4x8xf32>, %b: tensor<?x2x4x4xf32>)
    -> tensor<?x2x4x8xf32> {
  %0 = infini.local_attention %q, %q, %q bias %b : tensor<?x2x4x8xf32>, tensor<?x2x4x4xf32>
  return %0 : tensor<?x2x4x8xf32>
}

// CHECK-LABEL: func.func @memory_retrieve
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<?x2x4x8xf32>, %[[M:[^:]+]]: tensor<?x2x8x8xf32>, %[[Z:[^:]+]]: tensor<?x2x8xf32>)
// s(q) = elu(q) + 1
// CHECK: %[[SQ:.+]] = linalg.generic {{.*}} ins(%[[Q]] :
// CHECK: arith.cmpf ogt
// CHECK: math.exp
// CHECK: %[[NUM:.+]] = linalg.contract {{.*}} ins(%[[SQ]], %[[M]] : tensor<?x2x4x8xf32>, tensor<?x2x8x8xf32>)
// CHECK: %[[DEN:.+]] = linalg.contract {{.*}} ins(%[[SQ]], %[[Z]] : tensor<?x2x4x8xf32>, tensor<?x2x8xf32>)
// CHECK: %[[R:.+]] = linalg.generic {{.*}} ins(%[[NUM]], %[[DEN]] :
// CHECK: arith.constant 9.99999997E-7 : f32
// CHECK: arith.divf
// CHECK: return %[[R]]
func.func @memory_retrieve(%q: tensor<?x2x4x8xf32>, %m: tensor<?x2x8x8xf32>,
                           %z: tensor<?x2x8xf32>) -> tensor<?x2x4x8xf32> {
  %0 = infini.memory_retrieve %q, %m, %z
      : tensor<?x2x4x8xf32>, tensor<?x2x8x8xf32>, tensor<?x2x8xf32>
  return %0 : tensor<?x2x4x8xf32>
}

// CHECK-LABEL: func.func @memory_update_linear
// CHECK-SAME: (%[[K:[^:]+]]: tensor<?x2x4x8xf32>, %[[V:[^:]+]]: tensor<?x2x4x8xf32>, %[[M:[^:]+]]: tensor<?x2x8x8xf32>, %[[Z:[^:]+]]: tensor<?x2x8xf32>)
// CHECK: %[[SK:.+]] = linalg.generic {{.*}} ins(%[[K]] :
// CHECK-NOT: arith.cmpi slt
// CHECK: linalg.yield
// Linear rule: M += s(K)^T V, accumulated into the incoming state.
// CHECK: %[[NM:.+]] = linalg.contract {{.*}} ins(%[[SK]], %[[V]] : {{.*}}) outs(%[[M]] : tensor<?x2x8x8xf32>)
// CHECK: %[[NZ:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[SK]] : tensor<?x2x4x8xf32>) outs(%[[Z]] : tensor<?x2x8xf32>)
// CHECK: return %[[NM]], %[[NZ]]
func.func @memory_update_linear(%k: tensor<?x2x4x8xf32>, %v: tensor<?x2x4x8xf32>,
                                %m: tensor<?x2x8x8xf32>, %z: tensor<?x2x8xf32>)
    -> (tensor<?x2x8x8xf32>, tensor<?x2x8xf32>) {
  %m1, %z1 = infini.memory_update %k, %v, %m, %z
      : tensor<?x2x4x8xf32>, tensor<?x2x8x8xf32>, tensor<?x2x8xf32>
  return %m1, %z1 : tensor<?x2x8x8xf32>, tensor<?x2x8xf32>
}

// CHECK-LABEL: func.func @memory_update_delta_valid
// CHECK-SAME: (%[[K:[^:]+]]: tensor<?x2x4x8xf32>, %[[V:[^:]+]]: tensor<?x2x4x8xf32>, %[[M:[^:]+]]: tensor<?x2x8x8xf32>, %[[Z:[^:]+]]: tensor<?x2x8xf32>, %[[N:[^:]+]]: i64)
// Tokens at or past the valid length map to 0: they write nothing.
// CHECK: %[[SK:.+]] = linalg.generic {{.*}} ins(%[[K]] :
// CHECK: %[[T:.+]] = linalg.index 2 : index
// CHECK: %[[MAPPED:.+]] = arith.select %{{.+}}, %{{.+}}, %{{.+}} : f32
// CHECK: %[[TI:.+]] = arith.index_cast %[[T]] : index to i64
// CHECK: %[[VALID:.+]] = arith.cmpi slt, %[[TI]], %[[N]] : i64
// CHECK: %[[MASKED:.+]] = arith.select %[[VALID]], %[[MAPPED]], %{{.+}} : f32
// CHECK: linalg.yield %[[MASKED]]
// Delta rule: write V minus what memory already retrieves for each key.
// CHECK: %[[NUM:.+]] = linalg.contract {{.*}} ins(%[[SK]], %[[M]] :
// CHECK: %[[DEN:.+]] = linalg.contract {{.*}} ins(%[[SK]], %[[Z]] :
// CHECK: %[[READ:.+]] = linalg.generic {{.*}} ins(%[[NUM]], %[[DEN]] :
// CHECK: %[[DIFF:.+]] = linalg.generic {{.*}} ins(%[[V]], %[[READ]] :
// CHECK: arith.subf
// CHECK: %[[NM:.+]] = linalg.contract {{.*}} ins(%[[SK]], %[[DIFF]] : {{.*}}) outs(%[[M]] : tensor<?x2x8x8xf32>)
// CHECK: %[[NZ:.+]] = linalg.generic {{.*}} ins(%[[SK]] : tensor<?x2x4x8xf32>) outs(%[[Z]] : tensor<?x2x8xf32>)
// CHECK: return %[[NM]], %[[NZ]]
func.func @memory_update_delta_valid(%k: tensor<?x2x4x8xf32>, %v: tensor<?x2x4x8xf32>,
                                     %m: tensor<?x2x8x8xf32>, %z: tensor<?x2x8xf32>,
                                     %n: i64) -> (tensor<?x2x8x8xf32>, tensor<?x2x8xf32>) {
  %m1, %z1 = infini.memory_update %k, %v, %m, %z valid %n
      {mode = #infini.memory_update<delta>}
      : tensor<?x2x4x8xf32>, tensor<?x2x8x8xf32>, tensor<?x2x8xf32>
  return %m1, %z1 : tensor<?x2x8x8xf32>, tensor<?x2x8xf32>
}

// CHECK-LABEL: func.func @memory_gate
// CHECK-SAME: (%[[M:[^:]+]]: tensor<?x2x4x8xf32>, %[[L:[^:]+]]: tensor<?x2x4x8xf32>, %[[BETA:[^:]+]]: tensor<2xf32>)
// One beta per head: beta is indexed by the head loop.
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[$ID4]], #[[$ID4]], #[[$HEAD]], #[[$ID4]]], {{.*}} ins(%[[M]], %[[L]], %[[BETA]] :
// CHECK: ^bb0(%[[MIN:.+]]: f32, %[[LIN:.+]]: f32, %[[BIN:.+]]: f32, %{{.+}}: f32):
// CHECK: arith.negf %[[BIN]]
// CHECK: %[[GATE:.+]] = arith.divf
// CHECK: %[[DIFF:.+]] = arith.subf %[[MIN]], %[[LIN]]
// CHECK: %[[MIX:.+]] = arith.mulf %[[GATE]], %[[DIFF]]
// CHECK: arith.addf %[[LIN]], %[[MIX]]
// CHECK: return %[[R]]
func.func @memory_gate(%m: tensor<?x2x4x8xf32>, %l: tensor<?x2x4x8xf32>,
                       %beta: tensor<2xf32>) -> tensor<?x2x4x8xf32> {
  %0 = infini.memory_gate %m, %l, %beta : tensor<?x2x4x8xf32>, tensor<2xf32>
  return %0 : tensor<?x2x4x8xf32>
}
