// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-vectorize-contractions{parallel-rows=16 parallel-columns=64}))' | FileCheck %s

#x = affine_map<(b, t, o, i) -> (b, t, i)>
#wt = affine_map<(b, t, o, i) -> (i, o)>
#y = affine_map<(b, t, o, i) -> (b, t, o)>

// With parallel-rows set, the projection is first split into an scf.forall
// over (batch, 16-row, 64-column) blocks, each a whole number of 8x32
// register tiles; inside a block the register tiles are vectorized as usual.
// 96 columns hold no multiple of 32 that divides 96 and is <= 64 other than
// 32 itself, so the column block is 32.
// CHECK-LABEL: func.func @projection
// CHECK: scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) = (0, 0, 0) to (%{{.+}}, 32, 96) step (1, 16, 32)
// CHECK:   scf.for
// CHECK:     scf.for
// CHECK:       scf.for
// CHECK:         vector.contract {{.*}} : vector<1x8x1xf32>, vector<1x32xf32> into vector<1x8x32xf32>
// CHECK: scf.forall.in_parallel
// CHECK-NOT: linalg.contract
func.func @projection(%x: tensor<?x32x8xf32>, %w: tensor<8x96xf32>,
                      %acc: tensor<?x32x96xf32>) -> tensor<?x32x96xf32> {
  %0 = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %w : tensor<?x32x8xf32>, tensor<8x96xf32>)
      outs(%acc : tensor<?x32x96xf32>) -> tensor<?x32x96xf32>
  return %0 : tensor<?x32x96xf32>
}

// A contraction already inside a parallel loop gets no nested scf.forall.
// CHECK-LABEL: func.func @nested
// CHECK: scf.forall
// CHECK-NOT: scf.forall
// CHECK: vector.contract
func.func @nested(%x: tensor<1x32x8xf32>, %w: tensor<8x96xf32>,
                  %acc: tensor<1x32x96xf32>) -> tensor<1x32x96xf32> {
  %r = scf.forall (%i) in (1) shared_outs(%o = %acc) -> (tensor<1x32x96xf32>) {
    %0 = linalg.contract indexing_maps = [#x, #wt, #y]
        ins(%x, %w : tensor<1x32x8xf32>, tensor<8x96xf32>)
        outs(%o : tensor<1x32x96xf32>) -> tensor<1x32x96xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %0 into %o[0, 0, 0] [1, 32, 96] [1, 1, 1]
          : tensor<1x32x96xf32> into tensor<1x32x96xf32>
    }
  }
  return %r : tensor<1x32x96xf32>
}

// A zero fill of the output moves into the blocks: each block fills its own
// tile, so a fill shared by two contractions (as CSE leaves it) needs no
// copy when the two are bufferized.
// (The whole-tensor fill is left for canonicalization to remove.)
// CHECK-LABEL: func.func @shared_fill
// CHECK: %[[EMPTY:.+]] = tensor.empty
// CHECK: scf.forall {{.+}} shared_outs(%[[OUT:.+]] = %[[EMPTY]])
// CHECK:   %[[TILE:.+]] = tensor.extract_slice %[[OUT]]
// CHECK:   linalg.fill ins(%{{.+}} : f32) outs(%[[TILE]] : tensor<1x16x32xf32>)
// CHECK: scf.forall {{.+}} shared_outs(%[[OUT2:.+]] = %[[EMPTY]])
// CHECK:   %[[TILE2:.+]] = tensor.extract_slice %[[OUT2]]
// CHECK:   linalg.fill ins(%{{.+}} : f32) outs(%[[TILE2]] : tensor<1x16x32xf32>)
func.func @shared_fill(%x: tensor<?x32x8xf32>, %w: tensor<8x96xf32>)
    -> (tensor<?x32x96xf32>, tensor<?x32x96xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x32x8xf32>
  %empty = tensor.empty(%b) : tensor<?x32x96xf32>
  %filled = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x32x96xf32>) -> tensor<?x32x96xf32>
  %0 = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %w : tensor<?x32x8xf32>, tensor<8x96xf32>)
      outs(%filled : tensor<?x32x96xf32>) -> tensor<?x32x96xf32>
  %1 = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %w : tensor<?x32x8xf32>, tensor<8x96xf32>)
      outs(%filled : tensor<?x32x96xf32>) -> tensor<?x32x96xf32>
  return %0, %1 : tensor<?x32x96xf32>, tensor<?x32x96xf32>
}
