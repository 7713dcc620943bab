// RUN: infini-opt %s --infini-fuse-attention=block-size=4 | FileCheck %s

// Causal attention becomes an scf.forall over (batch, head, query tile) with
// an scf.for over key tiles up to the diagonal that carries the running max,
// the softmax denominator and the unnormalized output; scores exist only as
// one 4x4 tile.
// CHECK-LABEL: func.func @attention
// CHECK-SAME:    (%[[Q:.+]]: tensor<?x2x8x16xf32>, %[[K:.+]]: tensor<?x2x8x16xf32>, %[[V:.+]]: tensor<?x2x8x16xf32>)
// CHECK:         scf.forall (%[[B:.+]], %[[H:.+]], %[[ROW:.+]]) = (0, 0, 0) to (%{{.+}}, 2, 8) step (1, 1, 4)
// CHECK:           %[[QT:.+]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[ROW]], 0] [1, 1, 4, 16]
// CHECK:           %[[END:.+]] = arith.addi %[[ROW]], %c4
// CHECK:           scf.for %[[COL:.+]] = %c0 to %[[END]] step %c4 iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x16xf32>)
// CHECK:             tensor.extract_slice %[[K]][%[[B]], %[[H]], %[[COL]], 0] [1, 1, 4, 16]
// CHECK:             linalg.transpose
// CHECK:             linalg.contract {{.*}} -> tensor<4x4xf32>
// CHECK:             math.exp
// CHECK:             tensor.extract_slice %[[V]][%[[B]], %[[H]], %[[COL]], 0] [1, 1, 4, 16]
// CHECK:             linalg.contract {{.*}} -> tensor<4x16xf32>
// CHECK:             scf.yield
// CHECK:           arith.divf
// CHECK:           scf.forall.in_parallel
// CHECK:             tensor.parallel_insert_slice
// CHECK-NOT:     infini.local_attention
// CHECK-NOT:     tensor<{{.*}}8x8xf32>
func.func @attention(%q: tensor<?x2x8x16xf32>, %k: tensor<?x2x8x16xf32>,
                     %v: tensor<?x2x8x16xf32>) -> tensor<?x2x8x16xf32> {
  %0 = infini.local_attention %q, %k, %v : tensor<?x2x8x16xf32>
  return %0 : tensor<?x2x8x16xf32>
}

// A CoPE bias is read one tile at a time, at (query tile, key tile).
// CHECK-LABEL: func.func @attention_with_bias
// CHECK-SAME:    %[[BIAS:[^:]+]]: tensor<?x2x8x8xf32>
// CHECK:         scf.forall (%[[B:.+]], %[[H:.+]], %[[ROW:.+]]) =
// CHECK:           scf.for %[[COL:[^ ]+]] =
// CHECK:             tensor.extract_slice %[[BIAS]][%[[B]], %[[H]], %[[ROW]], %[[COL]]] [1, 1, 4, 4]
func.func @attention_with_bias(%q: tensor<?x2x8x16xf32>, %k: tensor<?x2x8x16xf32>,
                               %v: tensor<?x2x8x16xf32>,
                               %bias: tensor<?x2x8x8xf32>) -> tensor<?x2x8x16xf32> {
  %0 = infini.local_attention %q, %k, %v bias %bias : tensor<?x2x8x16xf32>, tensor<?x2x8x8xf32>
  return %0 : tensor<?x2x8x16xf32>
}

// With a CoPE bias from the same query and key, infini.cope is fused too:
// z = q E per query tile, key tiles walked from the diagonal backwards, the
// gates' reversed cumulative sum as an f64 matmul with a suffix-ones matrix
// plus the sum carried from the tiles already walked.
// CHECK-LABEL: func.func @cope_attention
// CHECK-NOT:     infini.cope
// CHECK:         %[[ONES:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<4x4xf64>)
// CHECK:         scf.forall (%{{.+}}, %{{.+}}, %[[ROW:[^)]+]]) =
// CHECK:           linalg.contract {{.*}} -> tensor<4x6xf32>
// CHECK:           scf.for %[[STEP:[^ ]+]] = {{.*}} -> (tensor<4xf32>, tensor<4xf32>, tensor<4x16xf32>, tensor<4xf64>)
// CHECK:             %[[COL:.+]] = arith.subi %[[ROW]], %[[STEP]]
// CHECK:             linalg.contract {{.*}} ins(%{{.+}}, %[[ONES]] : tensor<4x4xf64>, tensor<4x4xf64>)
// CHECK-NOT:     infini.cope
func.func @cope_attention(%q: tensor<?x2x8x16xf32>, %k: tensor<?x2x8x16xf32>,
                          %v: tensor<?x2x8x16xf32>,
                          %e: tensor<16x6xf32>) -> tensor<?x2x8x16xf32> {
  %bias = infini.cope %q, %k, %e : tensor<?x2x8x16xf32>, tensor<?x2x8x16xf32>, tensor<16x6xf32> -> tensor<?x2x8x8xf32>
  %0 = infini.local_attention %q, %k, %v bias %bias : tensor<?x2x8x16xf32>, tensor<?x2x8x8xf32>
  return %0 : tensor<?x2x8x16xf32>
}
