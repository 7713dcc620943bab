// RUN: infini-opt %s --infini-linalg-to-loops | FileCheck %s
// RUN: infini-opt %s --infini-linalg-to-loops='vectorize=false' | FileCheck %s --check-prefix=SCALAR

// Stage 2 of infini-to-cpu on a projection as stage 1 emits it: the step gets
// the C interface, tensors become buffers, the result an out-parameter, and
// the contraction register tiles whose accumulator is read before the
// reduction loop, carried through it in a vector, and written after it.

#x = affine_map<(b, t, o, i) -> (b, t, i)>
#wt = affine_map<(b, t, o, i) -> (i, o)>
#y = affine_map<(b, t, o, i) -> (b, t, o)>

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x16x8xf32> {infini.input}, %{{[^:]+}}: i64 {infini.position}, %[[W:[^:]+]]: memref<64x8xf32> {infini.weight = "proj"}, %[[OUT:[^:]+]]: memref<?x16x64xf32> {infini.output})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK-NOT: tensor.
// CHECK-NOT: linalg.
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c8
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32
// CHECK: %[[ACC:.+]] = vector.transfer_read {{.*}} vector<1x8x32xf32>
// CHECK-NEXT: %[[SUM:.+]] = scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c1 iter_args(%[[ITER:.+]] = %[[ACC]]) -> (vector<1x8x32xf32>)
// CHECK-NOT: vector.transfer_write
// CHECK: %[[NEXT:.+]] = vector.contract {{.*}}, %[[ITER]] : vector<1x8x1xf32>, vector<1x32xf32> into vector<1x8x32xf32>
// CHECK-NEXT: scf.yield %[[NEXT]] : vector<1x8x32xf32>
// CHECK-NEXT: }
// CHECK-NEXT: vector.transfer_write %[[SUM]]
// CHECK-NOT: tensor.
// CHECK-NOT: linalg.
// CHECK: return{{$}}

// SCALAR-LABEL: func.func @step
// SCALAR-SAME: %{{[^:]+}}: memref<?x16x64xf32> {infini.output}) attributes {llvm.emit_c_interface}
// SCALAR-NOT: vector.
// SCALAR-NOT: linalg.
// SCALAR: arith.mulf
// SCALAR: arith.addf
// SCALAR: return{{$}}
func.func @step(%x: tensor<?x16x8xf32> {infini.input}, %pos: i64 {infini.position},
                %w: tensor<64x8xf32> {infini.weight = "proj"})
    -> (tensor<?x16x64xf32> {infini.output}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x16x8xf32>
  %e = tensor.empty() : tensor<8x64xf32>
  %wt = linalg.transpose ins(%w : tensor<64x8xf32>) outs(%e : tensor<8x64xf32>)
      permutation = [1, 0]
  %init = tensor.empty(%b) : tensor<?x16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<?x16x64xf32>)
      -> tensor<?x16x64xf32>
  %y = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %wt : tensor<?x16x8xf32>, tensor<8x64xf32>)
      outs(%acc : tensor<?x16x64xf32>) -> tensor<?x16x64xf32>
  return %y : tensor<?x16x64xf32>
}

// A function that is not a step gets no C interface; its result becomes an
// out-parameter all the same.
// CHECK-LABEL: func.func @helper
// CHECK-SAME: (%{{[^:]+}}: memref<4xf32>, %{{[^:]+}}: memref<4xf32>)
// CHECK-NOT: llvm.emit_c_interface
// CHECK: memref.copy
// CHECK: return{{$}}
func.func @helper(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
