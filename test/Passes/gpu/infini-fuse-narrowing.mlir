// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-fuse-narrowing))' | FileCheck %s

#id = affine_map<(b, t, d) -> (b, t, d)>

// A rounding to f16 (of a scaled value) folds into the element-wise
// producer of its input, here one reading a neighbouring element as RoPE
// does: one generic writes the f16 tensor, and no f32 tensor is made. (The
// rounding's size, read off the producer's result, is read off the
// producer's init instead.)
// CHECK-LABEL: func.func @fused
// CHECK: %[[RESULT:.+]] = linalg.generic
// CHECK-SAME: ins(%arg0 : tensor<?x8x32xf32>) outs(%{{.+}} : tensor<?x8x32xf16>)
// CHECK: linalg.index 2
// CHECK: tensor.extract %arg0
// CHECK: arith.mulf
// CHECK: %[[HALF:.+]] = arith.truncf %{{.+}} : f32 to f16
// CHECK: linalg.yield %[[HALF]] : f16
// CHECK-NOT: linalg.generic
// CHECK: return %[[RESULT]]
func.func @fused(%x: tensor<?x8x32xf32>) -> tensor<?x8x32xf16> {
  %c0 = arith.constant 0 : index
  %c31 = arith.constant 31 : index
  %scale = arith.constant 0.5 : f32
  %n = tensor.dim %x, %c0 : tensor<?x8x32xf32>
  %e32 = tensor.empty(%n) : tensor<?x8x32xf32>
  %rotated = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x8x32xf32>) outs(%e32 : tensor<?x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %b = linalg.index 0 : index
    %t = linalg.index 1 : index
    %d = linalg.index 2 : index
    %partner = arith.subi %c31, %d : index
    %other = tensor.extract %x[%b, %t, %partner] : tensor<?x8x32xf32>
    %sum = arith.addf %in, %other : f32
    linalg.yield %sum : f32
  } -> tensor<?x8x32xf32>
  %rows = tensor.dim %rotated, %c0 : tensor<?x8x32xf32>
  %e16 = tensor.empty(%rows) : tensor<?x8x32xf16>
  %half = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%rotated : tensor<?x8x32xf32>) outs(%e16 : tensor<?x8x32xf16>) {
  ^bb0(%in: f32, %out: f16):
    %scaled = arith.mulf %in, %scale : f32
    %h = arith.truncf %scaled : f32 to f16
    linalg.yield %h : f16
  } -> tensor<?x8x32xf16>
  return %half : tensor<?x8x32xf16>
}

// A producer whose result is used elsewhere too, and a rounding of a
// function argument, stay as they are.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: linalg.generic
func.func @kept(%x: tensor<4x8x32xf32>) -> (tensor<4x8x32xf32>, tensor<4x8x32xf16>, tensor<4x8x32xf16>) {
  %e32 = tensor.empty() : tensor<4x8x32xf32>
  %e16 = tensor.empty() : tensor<4x8x32xf16>
  %doubled = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<4x8x32xf32>) outs(%e32 : tensor<4x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.addf %in, %in : f32
    linalg.yield %d : f32
  } -> tensor<4x8x32xf32>
  %half = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%doubled : tensor<4x8x32xf32>) outs(%e16 : tensor<4x8x32xf16>) {
  ^bb0(%in: f32, %out: f16):
    %h = arith.truncf %in : f32 to f16
    linalg.yield %h : f16
  } -> tensor<4x8x32xf16>
  %direct = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<4x8x32xf32>) outs(%e16 : tensor<4x8x32xf16>) {
  ^bb0(%in: f32, %out: f16):
    %h = arith.truncf %in : f32 to f16
    linalg.yield %h : f16
  } -> tensor<4x8x32xf16>
  return %doubled, %half, %direct : tensor<4x8x32xf32>, tensor<4x8x32xf16>, tensor<4x8x32xf16>
}
