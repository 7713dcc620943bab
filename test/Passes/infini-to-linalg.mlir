// RUN: infini-opt %s --infini-to-linalg | FileCheck %s

// Stage 1 of infini-to-cpu: infini ops become linalg on tensors, and so do
// the element-wise arith ops on tensors of the model (residual additions);
// canonicalize and CSE then tidy up what the per-op lowerings duplicate.

// Weight-only work (the projection's transpose) moves into a prepare
// function that the runtime runs once; the step reads its result instead of
// the weight.
// CHECK-LABEL: func.func @residual_prepare
// CHECK-SAME: (%[[PWQ:[^:]+]]: tensor<8x8xf32> {infini.weight = "proj"})
// CHECK-SAME: -> (tensor<8x8xf32> {infini.prepared = "prepared.0"})
// CHECK: %[[PT:.+]] = linalg.transpose ins(%[[PWQ]]
// CHECK: return %[[PT]]
// CHECK-LABEL: func.func @residual(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x4x8xf32> {infini.input}, %{{[^:]+}}: i64 {infini.position}, %[[W:[^:]+]]: tensor<8xf32> {infini.weight = "norm"}, %[[WT:[^:]+]]: tensor<8x8xf32> {infini.prepared = "prepared.0"})
// CHECK-SAME: -> (tensor<?x4x8xf32> {infini.output})
// CHECK-NOT: = infini.
// The batch size is read once and shared.
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %c0
// CHECK-NOT: tensor.dim
// CHECK: %[[SUM:.+]] = linalg.generic {{.*}} ins(%[[X]] :
// CHECK: %[[H:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[SUM]], %[[W]] :
// CHECK: math.rsqrt
// CHECK-NOT: linalg.transpose
// CHECK: %[[P:.+]] = linalg.contract {{.*}} ins(%[[H]], %[[WT]] :
// The residual addition.
// CHECK: %[[Y:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[P]] : tensor<?x4x8xf32>, tensor<?x4x8xf32>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: f32, %[[C:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: %[[S:.+]] = arith.addf %[[A]], %[[C]] : f32
// CHECK-NEXT: linalg.yield %[[S]]
// CHECK-NOT: = infini.
// CHECK: return %[[Y]] : tensor<?x4x8xf32>
func.func @residual(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                    %w: tensor<8xf32> {infini.weight = "norm"},
                    %wq: tensor<8x8xf32> {infini.weight = "proj"})
    -> (tensor<?x4x8xf32> {infini.output}) {
  %h = infini.rmsnorm %x, %w : tensor<?x4x8xf32>, tensor<8xf32>
  %p = infini.linear %h, %wq : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %y = arith.addf %x, %p : tensor<?x4x8xf32>
  return %y : tensor<?x4x8xf32>
}

// Functions without infini ops pass through; element-wise tensor arith is
// still converted.
// CHECK-LABEL: func.func @plain
// CHECK-SAME: (%[[A:[^:]+]]: tensor<2x3xf32>, %[[B:[^:]+]]: tensor<2x3xf32>)
// CHECK: %[[M:.+]] = linalg.generic {{.*}} ins(%[[A]], %[[B]] :
// CHECK: arith.mulf
// CHECK: return %[[M]]
func.func @plain(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = arith.mulf %a, %b : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
