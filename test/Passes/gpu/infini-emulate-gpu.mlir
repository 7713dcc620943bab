// RUN: infini-opt %s --infini-linalg-to-gpu --infini-emulate-gpu | FileCheck %s

// Stage 2's output back on the host: each launch a loop nest over its grid
// and block around the kernel's body (block and thread ids the loop
// indices), device buffers host buffers, no stream, no gpu.module.

// CHECK-LABEL: func.func @step
// CHECK-NOT: gpu.
// CHECK: %[[WT:.+]] = memref.alloc() : memref<8x64xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1 step %{{.+}} {
// CHECK-NEXT: scf.for %{{.+}} = %{{.+}} to %c1 step %{{.+}} {
// CHECK-NEXT: scf.for %[[BX:.+]] = %{{.+}} to %c2 step %{{.+}} {
// CHECK-NEXT: scf.for %{{.+}} = %{{.+}} to %c1 step %{{.+}} {
// CHECK-NEXT: scf.for %{{.+}} = %{{.+}} to %c1 step %{{.+}} {
// CHECK-NEXT: scf.for %[[TX:.+]] = %{{.+}} to %c256 step %{{.+}} {
// CHECK: %[[BASE:.+]] = arith.muli %[[BX]], %{{.+}}
// CHECK-NEXT: arith.addi %[[BASE]], %[[TX]]
// CHECK: memref.store %{{.+}}, %[[WT]]
// CHECK: memref.dealloc %[[WT]]
// CHECK-NOT: gpu.
// CHECK: return

#x = affine_map<(b, t, o, i) -> (b, t, i)>
#wt = affine_map<(b, t, o, i) -> (i, o)>
#y = affine_map<(b, t, o, i) -> (b, t, o)>

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
