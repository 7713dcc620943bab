// RUN: infini-opt %s --allow-unregistered-dialect --infini-hoist-weight-preparation | FileCheck %s

// The weight's packing (expand_shape + transpose) and a plain transpose
// depend on weights alone: both move into @step_prepare, whose results the
// step reads as new `infini.prepared` arguments, in place of the weights,
// which it no longer reads; a weight the step reads directly stays. Work on
// the input stays.
// CHECK-LABEL: func.func @step_prepare
// CHECK-SAME: (%[[W1:[^:]+]]: tensor<64x8xf32> {infini.weight = "packed"}, %[[W2:[^:]+]]: tensor<16x8xf32> {infini.weight = "plain"})
// CHECK-SAME: -> (tensor<2x8x32xf32> {infini.prepared = "prepared.0"}, tensor<8x16xf32> {infini.prepared = "prepared.1"})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[SPLIT:.+]] = tensor.expand_shape %[[W1]]
// CHECK: %[[PANELS:.+]] = linalg.transpose ins(%[[SPLIT]]
// CHECK: %[[T:.+]] = linalg.transpose ins(%[[W2]]
// CHECK: return %[[PANELS]], %[[T]]
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x4x8xf32> {infini.input}, %[[KEPT:[^:]+]]: tensor<8xf32> {infini.weight = "kept"}, %[[P0:[^:]+]]: tensor<2x8x32xf32> {infini.prepared = "prepared.0"}, %[[P1:[^:]+]]: tensor<8x16xf32> {infini.prepared = "prepared.1"})
// CHECK-NOT: tensor.expand_shape
// CHECK: %[[XT:.+]] = linalg.transpose ins(%[[X]]
// CHECK: "test.use"(%[[P0]], %[[P1]], %[[XT]], %[[KEPT]])
func.func @step(%x: tensor<?x4x8xf32> {infini.input},
                %w1: tensor<64x8xf32> {infini.weight = "packed"},
                %w2: tensor<16x8xf32> {infini.weight = "plain"},
                %kept: tensor<8xf32> {infini.weight = "kept"}) {
  %split = tensor.expand_shape %w1 [[0, 1], [2]] output_shape [2, 32, 8]
      : tensor<64x8xf32> into tensor<2x32x8xf32>
  %e1 = tensor.empty() : tensor<2x8x32xf32>
  %panels = linalg.transpose ins(%split : tensor<2x32x8xf32>)
      outs(%e1 : tensor<2x8x32xf32>) permutation = [0, 2, 1]
  %e2 = tensor.empty() : tensor<8x16xf32>
  %t = linalg.transpose ins(%w2 : tensor<16x8xf32>)
      outs(%e2 : tensor<8x16xf32>) permutation = [1, 0]
  %c0 = arith.constant 0 : index
  %b = tensor.dim %x, %c0 : tensor<?x4x8xf32>
  %e3 = tensor.empty(%b) : tensor<?x8x4xf32>
  %xt = linalg.transpose ins(%x : tensor<?x4x8xf32>)
      outs(%e3 : tensor<?x8x4xf32>) permutation = [0, 2, 1]
  "test.use"(%panels, %t, %xt, %kept) : (tensor<2x8x32xf32>, tensor<8x16xf32>, tensor<?x8x4xf32>, tensor<8xf32>) -> ()
  return
}

// A function that is not a model step is left alone.
// CHECK-LABEL: func.func @helper
// CHECK: linalg.transpose
// CHECK-NOT: func.func @helper_prepare
func.func @helper(%w: tensor<16x8xf32> {infini.weight = "w"}) -> tensor<8x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %t = linalg.transpose ins(%w : tensor<16x8xf32>) outs(%e : tensor<8x16xf32>) permutation = [1, 0]
  return %t : tensor<8x16xf32>
}
