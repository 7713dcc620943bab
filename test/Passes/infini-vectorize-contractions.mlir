// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-vectorize-contractions))' | FileCheck %s
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-vectorize-contractions{row-tile=4 column-tile=16 reduction-tile=2}))' | FileCheck %s --check-prefix=OPTS

#x = affine_map<(b, t, o, i) -> (b, t, i)>
#wt = affine_map<(b, t, o, i) -> (i, o)>
#y = affine_map<(b, t, o, i) -> (b, t, o)>

// A projection y[b, t, o] += x[b, t, i] wt[i, o] (the form infini.linear
// lowers to): loops over the batch (tile 1), an 8x32 register tile of rows
// and columns, and the reduction (tile 1); each tile is one vector.contract.
// CHECK-LABEL: func.func @projection
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x16x8xf32>, %[[W:[^:]+]]: tensor<8x64xf32>, %[[ACC:[^:]+]]: tensor<?x16x64xf32>)
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C32:.+]] = arith.constant 32 : index
// CHECK: %[[R:.+]] = scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step %[[C1]] iter_args(%{{.+}} = %[[ACC]])
// CHECK: scf.for %[[ROW:.+]] = %{{.+}} to %{{.+}} step %[[C8]]
// CHECK: scf.for %[[COL:.+]] = %{{.+}} to %{{.+}} step %[[C32]]
// CHECK: scf.for %[[K:.+]] = %{{.+}} to %[[C8]] step %[[C1]]
// CHECK: %[[XS:.+]] = tensor.extract_slice %[[X]][%[[B]], %[[ROW]], %[[K]]] [1, 8, 1]
// CHECK: %[[WS:.+]] = tensor.extract_slice %[[W]][%[[K]], %[[COL]]] [1, 32]
// CHECK: %[[XV:.+]] = vector.transfer_read %[[XS]]{{.*}} : tensor<1x8x1xf32>, vector<1x8x1xf32>
// CHECK: %[[WV:.+]] = vector.transfer_read %[[WS]]{{.*}} : tensor<1x32xf32>, vector<1x32xf32>
// CHECK: %[[AV:.+]] = vector.transfer_read {{.*}} : tensor<1x8x32xf32>, vector<1x8x32xf32>
// CHECK: %[[C:.+]] = vector.contract {{.*}} %[[XV]], %[[WV]], %[[AV]] : vector<1x8x1xf32>, vector<1x32xf32> into vector<1x8x32xf32>
// CHECK: vector.transfer_write %[[C]]
// CHECK: tensor.insert_slice
// CHECK-NOT: linalg.contract
// CHECK: return %[[R]]

// OPTS-LABEL: func.func @projection
// OPTS: vector.contract {{.*}} : vector<1x4x2xf32>, vector<2x16xf32> into vector<1x4x16xf32>
func.func @projection(%x: tensor<?x16x8xf32>, %w: tensor<8x64xf32>,
                      %acc: tensor<?x16x64xf32>) -> tensor<?x16x64xf32> {
  %0 = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %w : tensor<?x16x8xf32>, tensor<8x64xf32>)
      outs(%acc : tensor<?x16x64xf32>) -> tensor<?x16x64xf32>
  return %0 : tensor<?x16x64xf32>
}

// Tile sizes that do not divide a dimension fall back to the largest divisor
// below them: 12 rows in tiles of 6, 40 columns in tiles of 20.
// CHECK-LABEL: func.func @uneven
// CHECK: vector.contract {{.*}} : vector<1x6x1xf32>, vector<1x20xf32> into vector<1x6x20xf32>
// CHECK-NOT: linalg.contract
// OPTS-LABEL: func.func @uneven
// OPTS: vector.contract {{.*}} : vector<1x4x2xf32>, vector<2x10xf32> into vector<1x4x10xf32>
func.func @uneven(%x: tensor<2x12x6xf32>, %w: tensor<6x40xf32>,
                  %acc: tensor<2x12x40xf32>) -> tensor<2x12x40xf32> {
  %0 = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %w : tensor<2x12x6xf32>, tensor<6x40xf32>)
      outs(%acc : tensor<2x12x40xf32>) -> tensor<2x12x40xf32>
  return %0 : tensor<2x12x40xf32>
}

// Attention scores s[b, h, i, j] = q[b, h, i, d] k[b, h, j, d]: the column
// loop j is innermost in the output but in no operand (k is read along d),
// so a tile's columns would be a gather. The contraction stays as it is.
// CHECK-LABEL: func.func @columns_not_contiguous
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<?x2x8x16xf32>, %[[K:[^:]+]]: tensor<?x2x8x16xf32>, %[[ACC:[^:]+]]: tensor<?x2x8x8xf32>)
// CHECK-NOT: scf.for
// CHECK-NOT: vector.contract
// CHECK: %[[S:.+]] = linalg.contract {{.*}} ins(%[[Q]], %[[K]] : tensor<?x2x8x16xf32>, tensor<?x2x8x16xf32>) outs(%[[ACC]] : tensor<?x2x8x8xf32>)
// CHECK-NEXT: return %[[S]]
func.func @columns_not_contiguous(%q: tensor<?x2x8x16xf32>, %k: tensor<?x2x8x16xf32>,
                                  %acc: tensor<?x2x8x8xf32>) -> tensor<?x2x8x8xf32> {
  %0 = linalg.contract
      indexing_maps = [affine_map<(b, h, i, j, d) -> (b, h, i, d)>,
                       affine_map<(b, h, i, j, d) -> (b, h, j, d)>,
                       affine_map<(b, h, i, j, d) -> (b, h, i, j)>]
      ins(%q, %k : tensor<?x2x8x16xf32>, tensor<?x2x8x16xf32>)
      outs(%acc : tensor<?x2x8x8xf32>) -> tensor<?x2x8x8xf32>
  return %0 : tensor<?x2x8x8xf32>
}

// A transposed output, c[n, m] = a[m, k] b[k, n]: the output's innermost
// dimension is a row, not a column. Untouched.
// CHECK-LABEL: func.func @transposed_output
// CHECK-NOT: vector.contract
// CHECK: linalg.contract
// CHECK-NEXT: return
func.func @transposed_output(%a: tensor<8x4xf32>, %b: tensor<4x16xf32>,
                             %acc: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %0 = linalg.contract
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (n, m)>]
      ins(%a, %b : tensor<8x4xf32>, tensor<4x16xf32>)
      outs(%acc : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %0 : tensor<16x8xf32>
}

// The register block needs static row and column counts.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK-NOT: vector.contract
// CHECK: linalg.contract
// CHECK-NEXT: return
func.func @dynamic_rows(%x: tensor<1x?x8xf32>, %w: tensor<8x64xf32>,
                        %acc: tensor<1x?x64xf32>) -> tensor<1x?x64xf32> {
  %0 = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %w : tensor<1x?x8xf32>, tensor<8x64xf32>)
      outs(%acc : tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
  return %0 : tensor<1x?x64xf32>
}

// Only contractions on tensors are tiled; buffers are left alone.
// CHECK-LABEL: func.func @buffers
// CHECK-NOT: vector.contract
// CHECK: linalg.contract
// CHECK-NEXT: return
func.func @buffers(%x: memref<2x16x8xf32>, %w: memref<8x64xf32>, %acc: memref<2x16x64xf32>) {
  linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %w : memref<2x16x8xf32>, memref<8x64xf32>)
      outs(%acc : memref<2x16x64xf32>)
  return
}
