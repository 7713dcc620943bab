// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-fuse-swiglu))' | FileCheck %s
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-fuse-swiglu),infini-lower-to-linalg,canonicalize,cse,infini-hoist-weight-preparation)' | FileCheck %s --check-prefix=HOISTED
// RUN: infini-opt %s --infini-to-linalg='fuse-swiglu=1' | FileCheck %s --check-prefix=HOISTED

// Gate and up weights [64, 16] are packed into two panels each and stacked
// side by side, [2, 2, 16, 32]; one contraction over (b, t, panel, half,
// column, i) computes both projections; the epilogue reads half 0 (gate)
// and half 1 (up) of the product; the down projection reads its result.
// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x8x16xf32>, %[[WG:[^:]+]]: tensor<64x16xf32>, %[[WU:[^:]+]]: tensor<64x16xf32>, %[[WD:[^:]+]]: tensor<16x64xf32>)
// CHECK-NOT: infini.swiglu
// CHECK: %[[STACK0:.+]] = tensor.empty() : tensor<2x2x16x32xf32>
// CHECK: %[[GP:.+]] = linalg.transpose ins(%{{.+}} : tensor<2x32x16xf32>)
// CHECK: %[[STACK1:.+]] = tensor.insert_slice %[[GP]] into %[[STACK0]][0, 0, 0, 0] [2, 1, 16, 32] [1, 1, 1, 1]
// CHECK: %[[UP:.+]] = linalg.transpose ins(%{{.+}} : tensor<2x32x16xf32>)
// CHECK: %[[STACK:.+]] = tensor.insert_slice %[[UP]] into %[[STACK1]][0, 1, 0, 0] [2, 1, 16, 32] [1, 1, 1, 1]
// CHECK: %[[PRODUCT:.+]] = linalg.contract indexing_maps = [#{{.+}}, #{{.+}}, #{{.+}}] ins(%[[X]], %[[STACK]] : tensor<?x8x16xf32>, tensor<2x2x16x32xf32>) outs(%{{.+}} : tensor<?x8x2x2x32xf32>)
// CHECK: %[[ACT:.+]] = linalg.generic {{.+}} ins(%[[PRODUCT]], %[[PRODUCT]] : tensor<?x8x2x2x32xf32>, tensor<?x8x2x2x32xf32>) outs(%{{.+}} : tensor<?x8x2x32xf32>)
// CHECK: math.exp
// CHECK: %[[FLAT:.+]] = tensor.collapse_shape %[[ACT]] {{\[}}[0], [1], [2, 3]] : tensor<?x8x2x32xf32> into tensor<?x8x64xf32>
// CHECK: linalg.contract {{.+}} ins(%[[FLAT]], %{{.+}} : tensor<?x8x64xf32>,
// CHECK-NOT: linalg.contract
// CHECK-LABEL: func.func @step(

// Run before the lowering in a model step, the stacking is weight-only work
// that moves into the prepare function.
// HOISTED-LABEL: func.func @step_prepare
// HOISTED: tensor.insert_slice
// HOISTED: tensor.insert_slice
// HOISTED: return {{.*}} : tensor<2x2x16x32xf32>
// HOISTED-LABEL: func.func @step(
// HOISTED-NOT: tensor.insert_slice
// HOISTED: linalg.contract {{.+}} tensor<2x2x16x32xf32>

// A feature count that is no multiple of 32 is left to the plain lowering.
// CHECK-LABEL: func.func @unaligned
// CHECK: infini.swiglu
func.func @swiglu(%x: tensor<?x8x16xf32>, %wg: tensor<64x16xf32>,
                  %wu: tensor<64x16xf32>, %wd: tensor<16x64xf32>) -> tensor<?x8x16xf32> {
  %y = infini.swiglu %x, %wg, %wu, %wd {beta = 1.0 : f64}
      : tensor<?x8x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>
  return %y : tensor<?x8x16xf32>
}

func.func @step(%x: tensor<?x8x16xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %wg: tensor<64x16xf32> {infini.weight = "gate"},
                %wu: tensor<64x16xf32> {infini.weight = "up"},
                %wd: tensor<16x64xf32> {infini.weight = "down"})
    -> (tensor<?x8x16xf32> {infini.output}) {
  %y = infini.swiglu %x, %wg, %wu, %wd {beta = 1.0 : f64}
      : tensor<?x8x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>
  return %y : tensor<?x8x16xf32>
}

func.func @unaligned(%x: tensor<?x8x16xf32>, %wg: tensor<40x16xf32>,
                     %wu: tensor<40x16xf32>, %wd: tensor<16x40xf32>) -> tensor<?x8x16xf32> {
  %y = infini.swiglu %x, %wg, %wu, %wd {beta = 1.0 : f64}
      : tensor<?x8x16xf32>, tensor<40x16xf32>, tensor<40x16xf32>, tensor<16x40xf32>
  return %y : tensor<?x8x16xf32>
}
