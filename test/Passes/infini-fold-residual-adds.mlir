// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-fold-residual-adds))' -split-input-file | FileCheck %s

#x = affine_map<(t, p, c, i) -> (t, i)>
#w = affine_map<(t, p, c, i) -> (p, i, c)>
#y = affine_map<(t, p, c, i) -> (t, p, c)>
#id = affine_map<(t, d) -> (t, d)>

// A projection into 32-column panels, collapsed and added to the residual,
// starts from the residual (expanded to panels) instead of from zero; the
// add and the fill are gone.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: (%[[R:[^:]+]]: tensor<16x64xf32>, %[[A:[^:]+]]: tensor<16x32xf32>, %[[W:[^:]+]]: tensor<2x32x32xf32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[START:.+]] = tensor.expand_shape %[[R]] {{\[}}[0], [1, 2]] output_shape [16, 2, 32] : tensor<16x64xf32> into tensor<16x2x32xf32>
// CHECK: %[[P:.+]] = linalg.generic {{.*}} ins(%[[A]], %[[W]] : tensor<16x32xf32>, tensor<2x32x32xf32>) outs(%[[START]] : tensor<16x2x32xf32>)
// CHECK: %[[SUM:.+]] = tensor.collapse_shape %[[P]] {{\[}}[0], [1, 2]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[SUM]]
func.func @residual(%r: tensor<16x64xf32>, %a: tensor<16x32xf32>, %w: tensor<2x32x32xf32>) -> tensor<16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x2x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<16x2x32xf32>) -> tensor<16x2x32xf32>
  %p = linalg.generic {indexing_maps = [#x, #w, #y],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<16x32xf32>, tensor<2x32x32xf32>) outs(%z : tensor<16x2x32xf32>) {
  ^bb0(%in: f32, %wv: f32, %out: f32):
    %m = arith.mulf %in, %wv : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  } -> tensor<16x2x32xf32>
  %c = tensor.collapse_shape %p [[0], [1, 2]] : tensor<16x2x32xf32> into tensor<16x64xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %r : tensor<16x64xf32>, tensor<16x64xf32>) outs(%r : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %v, %u : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %sum : tensor<16x64xf32>
}

// -----

#id = affine_map<(t, d) -> (t, d)>

// Left alone: a product from a fill that is not zero, a product whose
// result is also used elsewhere, and a residual defined after the product.
// CHECK-LABEL: func.func @kept
// CHECK: linalg.fill
// CHECK: linalg.matmul
// CHECK: arith.addf
// CHECK: linalg.fill
// CHECK: linalg.matmul
// CHECK: arith.addf
// CHECK: linalg.fill
// CHECK: linalg.matmul
// CHECK: arith.addf
func.func @kept(%r: tensor<16x64xf32>, %a: tensor<16x32xf32>, %w: tensor<32x64xf32>)
    -> (tensor<16x64xf32>, tensor<16x64xf32>, tensor<16x64xf32>, tensor<16x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %f1 = linalg.fill ins(%one : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p1 = linalg.matmul ins(%a, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%f1 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %p1 : tensor<16x64xf32>, tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p2 = linalg.matmul ins(%a, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%f2 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %p2 : tensor<16x64xf32>, tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p3 = linalg.matmul ins(%a, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%f3 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %late = tensor.empty() : tensor<16x64xf32>
  %s3 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%late, %p3 : tensor<16x64xf32>, tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %s1, %s2, %s3, %p2 : tensor<16x64xf32>, tensor<16x64xf32>, tensor<16x64xf32>, tensor<16x64xf32>
}
