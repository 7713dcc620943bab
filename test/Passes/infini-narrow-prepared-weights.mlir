// RUN: infini-opt %s --allow-unregistered-dialect --infini-narrow-prepared-weights | FileCheck %s
// RUN: infini-opt %s --allow-unregistered-dialect --infini-narrow-prepared-weights=element-type=bf16 | FileCheck %s --check-prefix=BF16
// RUN: not infini-opt %s --allow-unregistered-dialect --infini-narrow-prepared-weights=element-type=tf32 2>&1 | FileCheck %s --check-prefix=BAD

// A prepared weight read only by products (a named contraction and a
// generic one) is returned rounded to f16; each product reads the f16
// tensor and widens it in its payload. A prepared tensor with another use
// stays f32.
// CHECK-LABEL: func.func @step_prepare
// CHECK-SAME: -> (tensor<8x16xf16> {infini.prepared = "prepared.0"}, tensor<8x16xf32> {infini.prepared = "prepared.1"})
// CHECK: %[[T:.+]] = linalg.transpose
// CHECK: %[[R:.+]] = linalg.generic
// CHECK-SAME: ins(%[[T]] : tensor<8x16xf32>) outs(%{{.+}} : tensor<8x16xf16>)
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: return %[[R]], %[[T]]
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[P0:[^:]+]]: tensor<8x16xf16> {infini.prepared = "prepared.0"}, %[[P1:[^:]+]]: tensor<8x16xf32> {infini.prepared = "prepared.1"})
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.+}}, %[[P0]] : tensor<4x8xf32>, tensor<8x16xf16>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: f32, %[[B:.+]]: f16, %[[C:.+]]: f32):
// CHECK-NEXT: %[[WIDE:.+]] = arith.extf %[[B]] : f16 to f32
// CHECK-NEXT: %[[M:.+]] = arith.mulf %[[A]], %[[WIDE]]
// CHECK-NEXT: arith.addf %[[C]], %[[M]]
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.+}}, %[[P0]] : tensor<4x8xf32>, tensor<8x16xf16>)
// CHECK: arith.extf
// CHECK: linalg.matmul ins(%{{.+}}, %[[P1]] :
// CHECK: "test.use"(%[[P1]])
// BF16-LABEL: func.func @step_prepare
// BF16-SAME: -> (tensor<8x16xbf16> {infini.prepared = "prepared.0"}, tensor<8x16xf32> {infini.prepared = "prepared.1"})
// BAD: unsupported element-type 'tf32'; expected f16 or bf16
func.func @step_prepare(%w: tensor<16x8xf32> {infini.weight = "w"})
    -> (tensor<8x16xf32> {infini.prepared = "prepared.0"},
        tensor<8x16xf32> {infini.prepared = "prepared.1"}) {
  %e = tensor.empty() : tensor<8x16xf32>
  %t = linalg.transpose ins(%w : tensor<16x8xf32>) outs(%e : tensor<8x16xf32>) permutation = [1, 0]
  return %t, %t : tensor<8x16xf32>, tensor<8x16xf32>
}
func.func @step(%x: tensor<4x8xf32> {infini.input},
                %p0: tensor<8x16xf32> {infini.prepared = "prepared.0"},
                %p1: tensor<8x16xf32> {infini.prepared = "prepared.1"})
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y0 = linalg.matmul ins(%x, %p0 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y1 = linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %p0 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %y2 = linalg.matmul ins(%x, %p1 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) -> tensor<4x16xf32>
  "test.use"(%p1) : (tensor<8x16xf32>) -> ()
  return %y0, %y1, %y2 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
