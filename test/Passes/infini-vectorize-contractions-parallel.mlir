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
