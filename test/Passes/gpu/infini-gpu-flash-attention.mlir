// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-flash-attention{tensor-cores=f16 warps=2}),canonicalize)' -split-input-file -verify-diagnostics | FileCheck %s
// RUN: not infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-flash-attention{tensor-cores=f32}))' -split-input-file 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-flash-attention{tensor-cores=tf32x3 warps=2}),canonicalize)' -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=TF32

// OPTION: infini-gpu-flash-attention: tensor-cores must be f16, bf16 or tf32x3, not 'f32'

// Attention without a bias becomes memref code: one block per (batch, head,
// query tile of 16 rows per warp); the block stages Q once and each 64-key
// tile of K and V in 16-bit shared tiles padded by 8 columns (Q, K and V
// rounded to 16 bits before the kernel; K and V double-buffered), and each
// warp carries its output tiles, row maxima and row sums in whole-warp
// vectors through the key walk, which ends at the query tile's last row.
// With tensor-cores=tf32x3 the tiles are f32: Q one tile (split into TF32
// parts as each warp reads it), K and V two each (their parts, staged by
// integer rounding; V's rows padded by 4), each 16 x 8 by 8 x 8 product
// three contractions (lo by hi, hi by lo, hi by hi), and the probabilities
// split in the registers.
// TF32-LABEL: func.func @attention
// TF32: %[[QTILE:.+]] = memref.alloc() : memref<32x40xf32>
// TF32: %[[KHI:.+]] = memref.alloc() : memref<64x40xf32>
// TF32: %[[KLO:.+]] = memref.alloc() : memref<64x40xf32>
// TF32: %[[VHI:.+]] = memref.alloc() : memref<64x36xf32>
// TF32: %[[VLO:.+]] = memref.alloc() : memref<64x36xf32>
// TF32-NOT: memref.alloc()
// TF32: vector.store %{{.+}}, %[[QTILE]]
// TF32: arith.andi
// TF32: vector.store %{{.+}}, %[[KHI]]
// TF32: vector.store %{{.+}}, %[[KLO]]
// TF32: vector.store %{{.+}}, %[[VHI]]
// TF32: vector.store %{{.+}}, %[[VLO]]
// TF32: %[[QF:.+]] = vector.transfer_read %[[QTILE]]{{.+}} : memref<32x40xf32>, vector<16x8xf32>
// TF32: arith.bitcast %[[QF]] : vector<16x8xf32> to vector<16x8xi32>
// TF32: %[[KH:.+]] = vector.transfer_read %[[KHI]]{{.+}} : memref<64x40xf32>, vector<8x8xf32>
// TF32: %[[KL:.+]] = vector.transfer_read %[[KLO]]{{.+}} : memref<64x40xf32>, vector<8x8xf32>
// TF32: %[[S0:.+]] = vector.contract {{.+}} %[[QLO:[^,]+]], %[[KH]], %{{.+}} : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
// TF32: %[[S1:.+]] = vector.contract {{.+}} %[[QHI:[^,]+]], %[[KL]], %[[S0]]
// TF32: vector.contract {{.+}} %[[QHI]], %[[KH]], %[[S1]]
// TF32: math.exp2
// TF32: arith.andi %{{.+}} : vector<16x8xi32>
// TF32: vector.transfer_read %[[VHI]]{{.+}} : memref<64x36xf32>, vector<8x8xf32>
// TF32: vector.transfer_read %[[VLO]]{{.+}} : memref<64x36xf32>, vector<8x8xf32>
// TF32-COUNT-3: vector.contract {{.+}} : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
// CHECK-LABEL: func.func @attention
// Q (times the softmax scale 1 / sqrt(32) and log2(e): the scores are in
// base 2), K and V are rounded to f16 by element-wise generics first.
// CHECK: %[[QH:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<?x2x64x32xf32>) outs(%{{.+}} : tensor<?x2x64x32xf16>)
// CHECK: arith.mulf %{{.+}}, %[[SCALE:.+]] : f32
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: %[[KH:.+]] = linalg.generic {{.+}} ins(%arg1 : tensor<?x2x64x32xf32>) outs(%{{.+}} : tensor<?x2x64x32xf16>)
// CHECK-NOT: arith.mulf
// CHECK: %[[VH:.+]] = linalg.generic {{.+}} ins(%arg2 : tensor<?x2x64x32xf32>) outs(%{{.+}} : tensor<?x2x64x32xf16>)
// CHECK: %[[Q:.+]] = bufferization.to_buffer %[[QH]] read_only : tensor<?x2x64x32xf16> to memref<?x2x64x32xf16, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: %[[K:.+]] = bufferization.to_buffer %[[KH]] read_only
// CHECK: %[[V:.+]] = bufferization.to_buffer %[[VH]] read_only
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) : memref<?x2x64x32xf32>
// CHECK: scf.parallel (%[[B:.+]], %[[H:.+]], %[[QT:.+]]) = (%c0, %c0, %c0) to (%{{.+}}, %c2, %c2)
// Two buffers each of K and V.
// CHECK: %[[QTILE:.+]] = memref.alloc() : memref<32x40xf16>
// CHECK: %[[KTILE:.+]] = memref.alloc() : memref<64x40xf16>
// CHECK: %[[VTILE:.+]] = memref.alloc() : memref<64x40xf16>
// CHECK: %[[KTILE1:.+]] = memref.alloc() : memref<64x40xf16>
// CHECK: %[[VTILE1:.+]] = memref.alloc() : memref<64x40xf16>
// CHECK: scf.parallel (%[[W:.+]]) = (%c0) to (%c2)
// Q staged: 8 elements (16 bytes) per iteration, loaded from a valid row
// and zero past the segment, stored as they are.
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%c128)
// CHECK: %[[IN:.+]] = arith.cmpi ult, %{{.+}}, %c64 : index
// CHECK: %[[ROW:.+]] = arith.minui %{{.+}}, %c63 : index
// CHECK: %[[QV:.+]] = vector.load %[[Q]][%[[B]], %[[H]], %[[ROW]], %{{.+}}] {{.+}} vector<8xf16>
// CHECK: %[[QS:.+]] = arith.select %[[IN]], %[[QV]], %{{.+}} : vector<8xf16>
// CHECK: vector.store %[[QS]], %[[QTILE]]
// The first key tile, K and V in one phase, before the walk.
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%c256)
// CHECK: vector.load %[[K]]
// CHECK: vector.store %{{.+}}, %[[KTILE]]
// CHECK: vector.load %[[V]]
// CHECK: vector.store %{{.+}}, %[[VTILE]]
// Each iteration walks two key tiles; while the warps take one, the next
// (where the walk has one) is staged into the other buffer.
// CHECK: scf.for %[[WALK:.+]] = %c0 to %[[END:.+]] step %c128 iter_args({{.+}}) -> (vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[NEXT:.+]] = arith.addi %[[WALK]], %c64
// CHECK: %[[HASNEXT:.+]] = arith.cmpi ult, %[[NEXT]], %[[END]]
// CHECK: scf.parallel
// CHECK: arith.andi %{{.+}}, %[[HASNEXT]]
// CHECK: vector.store %{{.+}}, %[[KTILE1]]
// CHECK: vector.store %{{.+}}, %[[VTILE1]]
// The warp's step: skipped where all its rows precede the key tile.
// CHECK: scf.execute_region -> ({{.+}}) no_inline
// CHECK: scf.if
// CHECK: vector.transfer_read %{{.+}} : memref<32x40xf16>, vector<16x16xf16>
// CHECK: vector.transfer_read %[[KTILE]]{{.+}}permutation_map = #{{.+}}} : memref<64x40xf16>, vector<16x8xf16>
// CHECK: vector.contract
// Causal mask only on tiles that reach past the warp's first row.
// CHECK: scf.if
// CHECK: arith.cmpi sge, %{{.+}}, %{{.+}} : vector<16x8xi32>
// CHECK: arith.select
// CHECK: vector.multi_reduction <maximumf>, %{{.+}}, %{{.+}} [1] : vector<16x8xf32> to vector<16xf32>
// CHECK: math.exp2 %{{.+}} fastmath<afn> : vector<16xf32>
// CHECK: math.exp2 %{{.+}} fastmath<afn> : vector<16x8xf32>
// CHECK: vector.multi_reduction <add>, %{{.+}}, %{{.+}} [1] : vector<16x8xf32> to vector<16xf32>
// Two score tiles make one 16-bit left operand of P V.
// CHECK: vector.insert_strided_slice %{{.+}}, %{{.+}} {offsets = [0, 0], strides = [1, 1]} : vector<16x8xf32> into vector<16x16xf32>
// CHECK: vector.insert_strided_slice %{{.+}}, %{{.+}} {offsets = [0, 8], strides = [1, 1]} : vector<16x8xf32> into vector<16x16xf32>
// CHECK: arith.truncf %{{.+}} : vector<16x16xf32> to vector<16x16xf16>
// CHECK: vector.transfer_read %[[VTILE]]{{.+}} : memref<64x40xf16>, vector<16x8xf16>
// CHECK: vector.contract
// CHECK: } {infini.mma_fragments, infini.warp_level}
// Then the tile after it: the next staged into the first buffers, the
// warp's step on the second ones.
// CHECK: scf.parallel
// CHECK: vector.store %{{.+}}, %[[KTILE]]
// CHECK: vector.store %{{.+}}, %[[VTILE]]
// CHECK: scf.execute_region
// CHECK: vector.transfer_read %[[KTILE1]]
// CHECK: vector.transfer_read %[[VTILE1]]
// CHECK: } {infini.mma_fragments, infini.warp_level}
// CHECK: scf.yield
// O / l written from the registers, rows in the segment only.
// CHECK: scf.execute_region no_inline
// CHECK: scf.if
// CHECK: %[[ROWS:.+]] = memref.subview %[[OUT]][%[[B]], %[[H]], 0, 0] [1, 1, 64, 32] [1, 1, 1, 1]
// CHECK: arith.divf
// CHECK: vector.transfer_write %{{.+}}, %[[ROWS]]
// CHECK: } {infini.mma_fragments, infini.warp_level}
// CHECK: } {infini.warp_level}
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
func.func @attention(%q: tensor<?x2x64x32xf32>, %k: tensor<?x2x64x32xf32>, %v: tensor<?x2x64x32xf32>) -> tensor<?x2x64x32xf32> {
  %0 = infini.local_attention %q, %k, %v : tensor<?x2x64x32xf32>
  return %0 : tensor<?x2x64x32xf32>
}

// -----

// With CoPE's bias (from the same query and key, P = 16): E is staged once
// per block; a first region writes each warp's z = q E to its 16 rows of a
// 32 x 16 f32 table; the key tiles are walked from the last to the first
// with each row's gate sum carried along; per tile the gates' suffix sums
// (products with the 8 x 8 triangle of ones) give the positions, whose
// floor and ceiling index the warp's table (vector.gather). The CoPE op
// goes.
// CHECK-LABEL: func.func @cope
// CHECK-NOT: infini.cope
// CHECK-DAG: %[[E:.+]] = bufferization.to_buffer %arg3 read_only : tensor<32x16xf32> to memref<32x16xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG: arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, {{.+}}]]> : vector<8x8xf32>
// CHECK: %[[ETILE:.+]] = memref.alloc() : memref<32x24xf16>
// CHECK: %[[TABLE:.+]] = memref.alloc() : memref<32x16xf32>
// CHECK: vector.load %[[E]]
// CHECK: vector.store %{{.+}}, %[[ETILE]]
// CHECK: scf.execute_region no_inline
// CHECK: vector.transfer_read %[[ETILE]]
// CHECK: vector.transfer_write %{{.+}}, %[[TABLE]]
// CHECK: } {infini.mma_fragments, infini.warp_level}
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[TABLE]] {{\[\[}}0, 1]] : memref<32x16xf32> into memref<512xf32>
// CHECK: %[[LAST:.+]] = arith.subi %[[END:.+]], %c1
// CHECK: scf.for %[[STEP:.+]] = %c0 to %[[END]] step %c128 iter_args({{.+}}) -> (vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[KEY0:.+]] = arith.subi %{{.+}}, %[[STEP]]
// CHECK: scf.execute_region -> ({{.+}}) no_inline
// CHECK: vector.multi_reduction <add>
// CHECK: vector.contract {{.+}} : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
// CHECK: math.floor
// CHECK: math.ceil
// CHECK: vector.gather %[[FLAT]]
// CHECK: vector.gather %[[FLAT]]
// CHECK: vector.multi_reduction <maximumf>
func.func @cope(%q: tensor<?x2x64x32xf32>, %k: tensor<?x2x64x32xf32>, %v: tensor<?x2x64x32xf32>, %e: tensor<32x16xf32>) -> tensor<?x2x64x32xf32> {
  %b = infini.cope %q, %k, %e : tensor<?x2x64x32xf32>, tensor<?x2x64x32xf32>, tensor<32x16xf32> -> tensor<?x2x64x64xf32>
  %0 = infini.local_attention %q, %k, %v bias %b : tensor<?x2x64x32xf32>, tensor<?x2x64x64xf32>
  return %0 : tensor<?x2x64x32xf32>
}

// -----

// Where two buffers of K and V would take the block past its shared memory
// (heads of 128 with CoPE over 128 positions: about 127 KiB), K and V keep
// one tile each and the walk one key tile per iteration.
// CHECK-LABEL: func.func @cope_single_buffer
// CHECK: memref.alloc() : memref<32x136xf16>
// CHECK-NEXT: memref.alloc() : memref<64x136xf16>
// CHECK-NEXT: memref.alloc() : memref<64x136xf16>
// CHECK-NEXT: memref.alloc() : memref<128x136xf16>
// CHECK-NEXT: memref.alloc() : memref<32x128xf32>
// CHECK: scf.for %{{.+}} = %c0 to %{{.+}} step %c64 iter_args
func.func @cope_single_buffer(%q: tensor<?x1x64x128xf32>, %k: tensor<?x1x64x128xf32>, %v: tensor<?x1x64x128xf32>, %e: tensor<128x128xf32>) -> tensor<?x1x64x128xf32> {
  %b = infini.cope %q, %k, %e : tensor<?x1x64x128xf32>, tensor<?x1x64x128xf32>, tensor<128x128xf32> -> tensor<?x1x64x64xf32>
  %0 = infini.local_attention %q, %k, %v bias %b : tensor<?x1x64x128xf32>, tensor<?x1x64x64xf32>
  return %0 : tensor<?x1x64x128xf32>
}

// -----

// Another bias, CoPE with a number of positions that is no multiple of 8,
// a head size or a number of tokens that is no multiple of 16 keep the
// generic fused attention.
// CHECK-LABEL: func.func @generic
// CHECK-COUNT-4: infini.local_attention
// CHECK-NOT: bufferization.to_buffer
func.func @generic(%q: tensor<?x2x64x32xf32>, %b: tensor<?x2x64x64xf32>,
                   %n: tensor<?x2x64x24xf32>, %t: tensor<?x2x40x32xf32>,
                   %e: tensor<32x12xf32>)
    -> (tensor<?x2x64x32xf32>, tensor<?x2x64x32xf32>, tensor<?x2x64x24xf32>, tensor<?x2x40x32xf32>) {
  %0 = infini.local_attention %q, %q, %q bias %b : tensor<?x2x64x32xf32>, tensor<?x2x64x64xf32>
  %c = infini.cope %q, %q, %e : tensor<?x2x64x32xf32>, tensor<?x2x64x32xf32>, tensor<32x12xf32> -> tensor<?x2x64x64xf32>
  %1 = infini.local_attention %q, %q, %q bias %c : tensor<?x2x64x32xf32>, tensor<?x2x64x64xf32>
  %2 = infini.local_attention %n, %n, %n : tensor<?x2x64x24xf32>
  %3 = infini.local_attention %t, %t, %t : tensor<?x2x40x32xf32>
  return %0, %1, %2, %3 : tensor<?x2x64x32xf32>, tensor<?x2x64x32xf32>, tensor<?x2x64x24xf32>, tensor<?x2x40x32xf32>
}
