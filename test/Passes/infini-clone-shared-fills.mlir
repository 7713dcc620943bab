// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-clone-shared-fills))' | FileCheck %s
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-clone-shared-fills),one-shot-bufferize{bufferize-function-boundaries=1})' | FileCheck %s --check-prefix=BUF

#x = affine_map<(t, o, i) -> (t, i)>
#w = affine_map<(t, o, i) -> (i, o)>
#y = affine_map<(t, o, i) -> (t, o)>

// One zero fill shared by three products (as CSE leaves the Q, K and V
// projections) becomes a fill per product, right before it, of an empty
// tensor of its own; the read-only use (the add's input) keeps the original.
// CHECK-LABEL: func.func @shared
// CHECK: %[[E0:.+]] = tensor.empty() : tensor<16x32xf32>
// CHECK: %[[F0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E0]] : tensor<16x32xf32>)
// CHECK: %[[E1:.+]] = tensor.empty() : tensor<16x32xf32>
// CHECK-NEXT: %[[F1:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E1]] : tensor<16x32xf32>)
// CHECK-NEXT: %[[Q:.+]] = linalg.contract {{.*}} outs(%[[F1]] : tensor<16x32xf32>)
// CHECK-NEXT: %[[E2:.+]] = tensor.empty() : tensor<16x32xf32>
// CHECK-NEXT: %[[F2:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E2]] : tensor<16x32xf32>)
// CHECK-NEXT: %[[K:.+]] = linalg.contract {{.*}} outs(%[[F2]] : tensor<16x32xf32>)
// CHECK-NEXT: %[[E3:.+]] = tensor.empty() : tensor<16x32xf32>
// CHECK-NEXT: %[[F3:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E3]] : tensor<16x32xf32>)
// CHECK-NEXT: %[[V:.+]] = linalg.contract {{.*}} outs(%[[F3]] : tensor<16x32xf32>)
// CHECK: linalg.add ins(%[[Q]], %[[F0]] : {{.*}}) outs(%[[K]] : tensor<16x32xf32>)
// Bufferized, nothing is copied: each product fills and writes its own buffer.
// BUF-LABEL: func.func @shared
// BUF-NOT: memref.copy
// BUF-COUNT-3: linalg.fill
// BUF-NOT: memref.copy
func.func @shared(%x: tensor<16x8xf32>, %wq: tensor<8x32xf32>, %wk: tensor<8x32xf32>,
                  %wv: tensor<8x32xf32>) -> (tensor<16x32xf32>, tensor<16x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<16x32xf32>) -> tensor<16x32xf32>
  %q = linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : tensor<16x8xf32>, tensor<8x32xf32>) outs(%z : tensor<16x32xf32>) -> tensor<16x32xf32>
  %k = linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : tensor<16x8xf32>, tensor<8x32xf32>) outs(%z : tensor<16x32xf32>) -> tensor<16x32xf32>
  %v = linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wv : tensor<16x8xf32>, tensor<8x32xf32>) outs(%z : tensor<16x32xf32>) -> tensor<16x32xf32>
  %s = linalg.add ins(%q, %z : tensor<16x32xf32>, tensor<16x32xf32>) outs(%k : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %s, %v : tensor<16x32xf32>, tensor<16x32xf32>
}

// A use in a nested loop keeps the shared fill (a clone there would fill
// once per iteration), as does a fill of a tensor that is not empty.
// CHECK-LABEL: func.func @kept
// BUF-LABEL: func.func @kept
// CHECK-COUNT-2: linalg.fill
// CHECK-NOT: linalg.fill
func.func @kept(%x: tensor<16x8xf32>, %w: tensor<8x32xf32>, %t: tensor<16x32xf32>, %n: index)
    -> (tensor<16x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<16x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<16x32xf32>) -> tensor<16x32xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %t) -> tensor<16x32xf32> {
    %p = linalg.contract indexing_maps = [#x, #w, #y]
        ins(%x, %w : tensor<16x8xf32>, tensor<8x32xf32>) outs(%z : tensor<16x32xf32>) -> tensor<16x32xf32>
    %a = linalg.add ins(%acc, %p : tensor<16x32xf32>, tensor<16x32xf32>) outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
    scf.yield %a : tensor<16x32xf32>
  }
  %zt = linalg.fill ins(%zero : f32) outs(%t : tensor<16x32xf32>) -> tensor<16x32xf32>
  %p1 = linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : tensor<16x8xf32>, tensor<8x32xf32>) outs(%zt : tensor<16x32xf32>) -> tensor<16x32xf32>
  %p2 = linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : tensor<16x8xf32>, tensor<8x32xf32>) outs(%zt : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r, %p1, %p2 : tensor<16x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>
}
