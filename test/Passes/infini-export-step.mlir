// RUN: infini-opt %s --infini-export-step | FileCheck %s

// The step function (the one with an infini.input argument) gets the C
// interface; helpers and functions without one do not.

// CHECK-LABEL: func.func @step
// CHECK-SAME: {infini.input}
// CHECK-SAME: attributes {llvm.emit_c_interface}
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                %n: i64 {infini.valid_length})
    -> (tensor<?x4x8xf32> {infini.output}) {
  %0 = call @helper(%x) : (tensor<?x4x8xf32>) -> tensor<?x4x8xf32>
  return %0 : tensor<?x4x8xf32>
}

// CHECK-LABEL: func.func private @helper
// CHECK-NOT: llvm.emit_c_interface
// CHECK: return
func.func private @helper(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  return %x : tensor<?x4x8xf32>
}

// The input argument need not come first.
// CHECK-LABEL: func.func @late_input
// CHECK-SAME: attributes {llvm.emit_c_interface}
func.func @late_input(%w: tensor<8xf32> {infini.weight = "w"},
                      %x: tensor<?x4x8xf32> {infini.input}) {
  return
}

// Other infini argument attributes alone do not make a step function.
// CHECK-LABEL: func.func @weights_only
// CHECK-NOT: llvm.emit_c_interface
// CHECK: return
func.func @weights_only(%w: tensor<8xf32> {infini.weight = "w"},
                        %pos: i64 {infini.position}) {
  return
}

// Nothing else is changed.
// CHECK-LABEL: func.func @plain
// CHECK-NOT: llvm.emit_c_interface
// CHECK: return
func.func @plain() {
  return
}
