// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-fuse-rope))' | FileCheck %s
// RUN: infini-opt %s --infini-to-linalg | FileCheck %s --check-prefix=HOISTED
// RUN: infini-opt %s --infini-to-linalg='fuse-rope=0' | FileCheck %s --check-prefix=UNFUSED

// Half-split: the weight rows of head h, feature s*P + i (P = 2 pairs) are
// reordered to [H, 2, D, P]; one contraction over (b, t, h, s, i, k) makes
// the product [B, T, H, 2, P]; the epilogue over (b, h, t, s, i) reads each
// element (mine) and its pair partner at 1 - s, cos and sin of (t, i) and
// the sign of s, and writes the rotated heads and, since split_heads has
// another user, the unrotated ones.
// CHECK-DAG: #[[MINE:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d3, d4)>
// CHECK-DAG: #[[PARTNER:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, -d3 + 1, d4)>
// CHECK-DAG: #[[ANGLE:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d4)>
// CHECK-DAG: #[[SIGN:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d3)>
// CHECK-DAG: #[[IMINE:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d4, d3)>
// CHECK-DAG: #[[IPARTNER:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, -d4 + 1, d3)>
// CHECK-LABEL: func.func @half_split
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x8x16xf32>, %[[W:[^:]+]]: tensor<8x16xf32>
// CHECK-DAG: %[[SIGNS:.+]] = arith.constant dense<[-1.000000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK: %[[ROWS:.+]] = tensor.expand_shape %[[W]] {{\[}}[0, 1, 2], [3]] output_shape [2, 2, 2, 16]
// CHECK: %[[PACKED:.+]] = linalg.transpose ins(%[[ROWS]] : tensor<2x2x2x16xf32>) outs(%{{.+}} : tensor<2x2x16x2xf32>) permutation = [0, 1, 3, 2]
// CHECK: %[[PRODUCT:.+]] = linalg.contract {{.+}} ins(%[[X]], %[[PACKED]] : tensor<?x8x16xf32>, tensor<2x2x16x2xf32>) outs(%{{.+}} : tensor<?x8x2x2x2xf32>)
// CHECK: %[[TABLES:.+]]:2 = linalg.generic
// CHECK: math.cos
// CHECK: math.sin
// CHECK: %[[HEADS:.+]]:2 = linalg.generic {indexing_maps = [#[[MINE]], #[[PARTNER]], #[[ANGLE]], #[[ANGLE]], #[[SIGN]], #{{.+}}, #{{.+}}]
// CHECK-SAME: ins(%[[PRODUCT]], %[[PRODUCT]], %[[TABLES]]#0, %[[TABLES]]#1, %[[SIGNS]] :
// CHECK: ^bb0(%[[M:[^:]+]]: f32, %[[P:[^:]+]]: f32, %[[COS:[^:]+]]: f32, %[[SIN:[^:]+]]: f32, %[[S:[^:]+]]: f32,
// CHECK: %[[PS:.+]] = arith.mulf %[[P]], %[[SIN]]
// CHECK: %[[SPS:.+]] = arith.mulf %[[S]], %[[PS]]
// CHECK: %[[MC:.+]] = arith.mulf %[[M]], %[[COS]]
// CHECK: %[[ROT:.+]] = arith.addf %[[MC]], %[[SPS]]
// CHECK: linalg.yield %[[ROT]], %[[M]]
// CHECK: } -> (tensor<?x2x8x2x2xf32>, tensor<?x2x8x2x2xf32>)
// CHECK-DAG: %[[PLAIN:.+]] = tensor.collapse_shape %[[HEADS]]#1 {{\[}}[0], [1], [2], [3, 4]] : tensor<?x2x8x2x2xf32> into tensor<?x2x8x4xf32>
// CHECK-DAG: %[[ROTATED:.+]] = tensor.collapse_shape %[[HEADS]]#0 {{\[}}[0], [1], [2], [3, 4]] : tensor<?x2x8x2x2xf32> into tensor<?x2x8x4xf32>
// CHECK: return %[[ROTATED]], %[[PLAIN]]
func.func @half_split(%x: tensor<?x8x16xf32>, %w: tensor<8x16xf32>, %pos: i64)
    -> (tensor<?x2x8x4xf32>, tensor<?x2x8x4xf32>) {
  %p = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<8x16xf32> -> tensor<?x8x8xf32>
  %h = infini.split_heads %p : tensor<?x8x8xf32> -> tensor<?x2x8x4xf32>
  %r = infini.rope %h at %pos : tensor<?x2x8x4xf32>
  return %r, %h : tensor<?x2x8x4xf32>, tensor<?x2x8x4xf32>
}

// Interleaved: feature 2i + s, so the rows are [H, P, 2, D] and the
// epilogue's loops (b, h, t, i, s) write [B, H, T, P, 2]; only the rotated
// heads are used.
// CHECK-LABEL: func.func @interleaved
// CHECK-NOT: infini.
// CHECK: tensor.expand_shape %{{.+}} {{\[}}[0, 1, 2], [3]] output_shape [2, 2, 2, 16]
// CHECK: linalg.transpose {{.+}} permutation = [0, 2, 3, 1]
// CHECK: linalg.contract
// CHECK: %[[IHEADS:.+]] = linalg.generic {indexing_maps = [#[[IMINE]], #[[IPARTNER]],
// CHECK: } -> tensor<?x2x8x2x2xf32>
// CHECK: tensor.collapse_shape %[[IHEADS]]
func.func @interleaved(%x: tensor<?x8x16xf32>, %w: tensor<8x16xf32>, %pos: i64)
    -> tensor<?x2x8x4xf32> {
  %p = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<8x16xf32> -> tensor<?x8x8xf32>
  %h = infini.split_heads %p : tensor<?x8x8xf32> -> tensor<?x2x8x4xf32>
  %r = infini.rope %h at %pos {layout = #infini.rope_layout<interleaved>} : tensor<?x2x8x4xf32>
  return %r : tensor<?x2x8x4xf32>
}

// Keys whose unrotated heads feed a delta-rule memory write: the epilogue
// writes their feature map s(k) = elu(k) + 1, 0 past the valid length,
// instead of the heads, and the update is lowered on it (no pass of its own
// over the keys to map them).
// CHECK-LABEL: func.func @memory
// CHECK-SAME: %[[VALID:[^:]+]]: i64, %[[MEM:[^:]+]]: tensor<?x2x4x4xf32>, %[[NORM:[^:]+]]: tensor<?x2x4xf32>
// CHECK-NOT: infini.
// CHECK: math.sin
// CHECK: %[[KHEADS:.+]]:2 = linalg.generic
// CHECK: ^bb0(%[[KM:[^:]+]]: f32,
// CHECK: %[[KROT:.+]] = arith.addf
// CHECK: %[[TOKEN:.+]] = linalg.index 2 : index
// CHECK: math.exp
// CHECK: %[[MAPPED:.+]] = arith.select
// CHECK: %[[TOKEN64:.+]] = arith.index_cast %[[TOKEN]] : index to i64
// CHECK: %[[INSIDE:.+]] = arith.cmpi slt, %[[TOKEN64]], %[[VALID]] : i64
// CHECK: %[[MASKED:.+]] = arith.select %[[INSIDE]], %[[MAPPED]], %{{.+}} : f32
// CHECK: linalg.yield %[[KROT]], %[[MASKED]] : f32, f32
// CHECK-DAG: %[[KROTATED:.+]] = tensor.collapse_shape %[[KHEADS]]#0
// CHECK-DAG: %[[SK:.+]] = tensor.collapse_shape %[[KHEADS]]#1
// CHECK: linalg.contract {{.+}} ins(%[[SK]], %[[MEM]] :
// CHECK: linalg.contract {{.+}} ins(%[[SK]], %[[NORM]] :
// CHECK: %[[NEWMEM:.+]] = linalg.contract {{.+}} ins(%[[SK]], %{{.+}} : {{.+}}) outs(%[[MEM]] :
// CHECK: %[[NEWNORM:.+]] = linalg.generic {{.+}} ins(%[[SK]] : {{.+}}) outs(%[[NORM]] :
// CHECK: return %[[KROTATED]], %[[NEWMEM]], %[[NEWNORM]]
func.func @memory(%x: tensor<?x8x16xf32>, %wk: tensor<8x16xf32>, %v: tensor<?x2x8x4xf32>,
                  %pos: i64, %valid: i64, %m: tensor<?x2x4x4xf32>, %z: tensor<?x2x4xf32>)
    -> (tensor<?x2x8x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4xf32>) {
  %p = infini.linear %x, %wk : tensor<?x8x16xf32>, tensor<8x16xf32> -> tensor<?x8x8xf32>
  %k = infini.split_heads %p : tensor<?x8x8xf32> -> tensor<?x2x8x4xf32>
  %r = infini.rope %k at %pos : tensor<?x2x8x4xf32>
  %m2, %z2 = infini.memory_update %k, %v, %m, %z valid %valid {mode = #infini.memory_update<delta>}
      : tensor<?x2x8x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4xf32>
  return %r, %m2, %z2 : tensor<?x2x8x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4xf32>
}

// Queries read by memory after rotation (memory_uses_rope): the epilogue
// writes the map of the rotated heads, unmasked, next to the heads.
// CHECK-LABEL: func.func @rotated_query
// CHECK: math.sin
// CHECK: %[[QHEADS:.+]]:2 = linalg.generic
// CHECK: %[[QROT:.+]] = arith.addf
// CHECK: arith.cmpf ogt, %[[QROT]]
// CHECK-NOT: linalg.index
// CHECK: %[[QMAPPED:.+]] = arith.select
// CHECK: linalg.yield %[[QROT]], %[[QMAPPED]] : f32, f32
// CHECK: %[[SQ:.+]] = tensor.collapse_shape %[[QHEADS]]#1
// CHECK: linalg.contract {{.+}} ins(%[[SQ]],
func.func @rotated_query(%x: tensor<?x8x16xf32>, %wq: tensor<8x16xf32>, %pos: i64,
                         %m: tensor<?x2x4x4xf32>, %z: tensor<?x2x4xf32>)
    -> (tensor<?x2x8x4xf32>, tensor<?x2x8x4xf32>) {
  %p = infini.linear %x, %wq : tensor<?x8x16xf32>, tensor<8x16xf32> -> tensor<?x8x8xf32>
  %q = infini.split_heads %p : tensor<?x8x8xf32> -> tensor<?x2x8x4xf32>
  %r = infini.rope %q at %pos : tensor<?x2x8x4xf32>
  %a = infini.memory_retrieve %r, %m, %z : tensor<?x2x8x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4xf32>
  return %r, %a : tensor<?x2x8x4xf32>, tensor<?x2x8x4xf32>
}

// Partial rotation is left to the plain lowering.
// CHECK-LABEL: func.func @partial
// CHECK: infini.linear
// CHECK: infini.split_heads
// CHECK: infini.rope
func.func @partial(%x: tensor<?x8x16xf32>, %w: tensor<8x16xf32>, %pos: i64)
    -> tensor<?x2x8x4xf32> {
  %p = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<8x16xf32> -> tensor<?x8x8xf32>
  %h = infini.split_heads %p : tensor<?x8x8xf32> -> tensor<?x2x8x4xf32>
  %r = infini.rope %h at %pos {rotary_dim = 2 : i64} : tensor<?x2x8x4xf32>
  return %r : tensor<?x2x8x4xf32>
}

// In a model step (the pass is on by default in infini-to-linalg),
// reordering the weight is prepare-time work; the step contracts with the
// prepared weight and has no gather of pair partners (tensor.extract).
// HOISTED-LABEL: func.func @step_prepare
// HOISTED-SAME: tensor<8x16xf32> {infini.weight = "q"}
// HOISTED: linalg.transpose
// HOISTED: return {{.*}} : tensor<2x2x16x2xf32>
// HOISTED-LABEL: func.func @step(
// HOISTED-SAME: %[[PREPARED:[^:]+]]: tensor<2x2x16x2xf32> {infini.prepared = "prepared.0"}
// HOISTED-NOT: linalg.transpose
// HOISTED: linalg.contract {{.+}} %[[PREPARED]] :
// HOISTED-NOT: tensor.extract
// HOISTED: return
// UNFUSED-LABEL: func.func @step(
// UNFUSED: tensor.extract
func.func @step(%x: tensor<?x8x16xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %w: tensor<8x16xf32> {infini.weight = "q"})
    -> (tensor<?x2x8x4xf32> {infini.output}) {
  %p = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<8x16xf32> -> tensor<?x8x8xf32>
  %h = infini.split_heads %p : tensor<?x8x8xf32> -> tensor<?x2x8x4xf32>
  %r = infini.rope %h at %pos : tensor<?x2x8x4xf32>
  return %r : tensor<?x2x8x4xf32>
}
