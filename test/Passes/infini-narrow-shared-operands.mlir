// RUN: infini-opt %s --infini-narrow-shared-operands | FileCheck %s
// RUN: infini-opt %s --infini-narrow-shared-operands=element-type=bf16 | FileCheck %s --check-prefix=BF16
// RUN: not infini-opt %s --infini-narrow-shared-operands=element-type=f8 2>&1 | FileCheck %s --check-prefix=BAD

#id = affine_map<(b, t, d) -> (b, t, d)>
#row = affine_map<(b, t, d) -> (b, t)>
#lhs = affine_map<(b, t, n, k) -> (b, t, k)>
#rhs = affine_map<(b, t, n, k) -> (n, k)>
#out = affine_map<(b, t, n, k) -> (b, t, n)>

// An element-wise result (RMSNorm's scaling, with a dynamic batch) that
// two projections over 16-bit weights read, and nothing else, is rounded
// to f16 right after it is computed; both products read the rounded
// tensor and widen it in their payload.
// CHECK-LABEL: func.func @shared
// CHECK: %[[NORMED:.+]] = linalg.generic
// CHECK-SAME: outs(%{{.+}} : tensor<?x8x32xf32>)
// CHECK: %[[HALF:.+]] = linalg.generic
// CHECK-SAME: ins(%[[NORMED]] : tensor<?x8x32xf32>) outs(%{{.+}} : tensor<?x8x32xf16>)
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[HALF]], %arg2 : tensor<?x8x32xf16>, tensor<16x32xf16>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: f16, %{{.+}}: f16, %{{.+}}: f32):
// CHECK-NEXT: arith.extf %[[A]] : f16 to f32
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[HALF]], %arg3 : tensor<?x8x32xf16>, tensor<16x32xf16>)
// CHECK: arith.extf
// With bf16, products over these f16 weights are not bf16 tensor-core
// products: nothing is rounded.
// BF16-LABEL: func.func @shared
// BF16-NOT: arith.truncf
// BF16: return
// BAD: unsupported element-type 'f8'; expected f16 or bf16
func.func @shared(%x: tensor<?x8x32xf32> {infini.input}, %scale: tensor<?x8xf32>,
                  %wq: tensor<16x32xf16>, %wk: tensor<16x32xf16>)
    -> (tensor<?x8x16xf32>, tensor<?x8x16xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x8x32xf32>
  %e = tensor.empty(%n) : tensor<?x8x32xf32>
  %normed = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %scale : tensor<?x8x32xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8x32xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %m = arith.mulf %in, %s : f32
    linalg.yield %m : f32
  } -> tensor<?x8x32xf32>
  %eo = tensor.empty(%n) : tensor<?x8x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%eo : tensor<?x8x16xf32>) -> tensor<?x8x16xf32>
  %q = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%normed, %wq : tensor<?x8x32xf32>, tensor<16x32xf16>) outs(%acc : tensor<?x8x16xf32>) {
  ^bb0(%a: f32, %b: f16, %c: f32):
    %wide = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %wide : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x8x16xf32>
  %k = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%normed, %wk : tensor<?x8x32xf32>, tensor<16x32xf16>) outs(%acc : tensor<?x8x16xf32>) {
  ^bb0(%a: f32, %b: f16, %c: f32):
    %wide = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %wide : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x8x16xf32>
  return %q, %k : tensor<?x8x16xf32>, tensor<?x8x16xf32>
}

// Left as they are: an input of one product (computed as it is staged),
// an input shared with something else than products, and an input shared
// by products over f32 weights.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: tensor<4x8x32xf16>
// CHECK-NOT: arith.truncf
// CHECK: return
func.func @kept(%x: tensor<4x8x32xf32> {infini.input}, %w: tensor<16x32xf16>,
                %w32: tensor<16x32xf32>)
    -> (tensor<4x8x16xf32>, tensor<4x8x32xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8x32xf32>
  %one = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<4x8x32xf32>) outs(%e : tensor<4x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.addf %in, %in : f32
    linalg.yield %d : f32
  } -> tensor<4x8x32xf32>
  %eo = tensor.empty() : tensor<4x8x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%one, %w : tensor<4x8x32xf32>, tensor<16x32xf16>) outs(%acc : tensor<4x8x16xf32>) {
  ^bb0(%a: f32, %b: f16, %c: f32):
    %wide = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %wide : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8x16xf32>
  %two = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<4x8x32xf32>) outs(%e : tensor<4x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.mulf %in, %in : f32
    linalg.yield %d : f32
  } -> tensor<4x8x32xf32>
  %z = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%two, %w : tensor<4x8x32xf32>, tensor<16x32xf16>) outs(%acc : tensor<4x8x16xf32>) {
  ^bb0(%a: f32, %b: f16, %c: f32):
    %wide = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %wide : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8x16xf32>
  %u = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%one, %w32 : tensor<4x8x32xf32>, tensor<16x32xf32>) outs(%acc : tensor<4x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8x16xf32>
  %v = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%one, %w32 : tensor<4x8x32xf32>, tensor<16x32xf32>) outs(%acc : tensor<4x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8x16xf32>
  return %y, %two, %u, %v : tensor<4x8x16xf32>, tensor<4x8x32xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>
}
