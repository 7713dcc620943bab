// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions{tile-rows=2 tile-columns=2}),canonicalize)' | FileCheck %s

// A product becomes a parallel loop over 2x2 register tiles: the tile's
// rows are contiguous, its columns strided by the number of column tiles
// (32 here); loads are clamped to the last row and column, stores guarded.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:[^:]+]]: memref<?x8xf32>, %[[B:[^:]+]]: memref<8x64xf32>, %[[C:[^:]+]]: memref<?x64xf32>)
// CHECK: %[[M:.+]] = memref.dim %[[A]], %c0
// CHECK: %[[ROWTILES:.+]] = arith.ceildivui %[[M]], %c2
// CHECK: scf.parallel (%[[R:.+]], %[[CT:.+]]) = (%c0, %c0) to (%[[ROWTILES]], %c32) step (%c1, %c1) {
// CHECK: %[[ROW0:.+]] = arith.muli %[[R]], %c2
// CHECK: %[[COL1:.+]] = arith.addi %[[CT]], %c32
// CHECK: %[[C1:.+]] = arith.minui %[[COL1]], %c63
// CHECK-COUNT-4: memref.load %[[C]]
// CHECK: %[[SUM:.+]]:4 = scf.for %[[K:.+]] = %c0 to %c8 step %c1 iter_args({{.*}}) -> (f32, f32, f32, f32) {
// CHECK: memref.load %[[A]]
// CHECK: memref.load %[[B]][%[[K]], {{.+}}]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: memref.load %[[B]][%[[K]], %[[C1]]]
// CHECK: scf.yield
// CHECK: %[[IN:.+]] = arith.cmpi ult, %[[ROW0]], %[[M]]
// CHECK: scf.if
// CHECK-NEXT: memref.store %[[SUM]]#0, %[[C]]
// CHECK-NOT: linalg.matmul
func.func @matmul(%a: memref<?x8xf32>, %b: memref<8x64xf32>, %c: memref<?x64xf32>) {
  linalg.matmul ins(%a, %b : memref<?x8xf32>, memref<8x64xf32>) outs(%c : memref<?x64xf32>)
  return
}

// A product inside a parallel loop (the fused attention's tiles) is left
// alone: it runs in one thread anyway.
// CHECK-LABEL: func.func @nested
// CHECK: scf.parallel
// CHECK: linalg.matmul
func.func @nested(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
    scf.reduce
  }
  return
}

// Element-wise ops are not contractions.
// CHECK-LABEL: func.func @elementwise
// CHECK: linalg.add
func.func @elementwise(%a: memref<4xf32>, %b: memref<4xf32>) {
  linalg.add ins(%a, %a : memref<4xf32>, memref<4xf32>) outs(%b : memref<4xf32>)
  return
}

// A large product goes through shared-memory tiles: one outer iteration
// (a GPU block) per 64x64 output tile, with accumulator, input and weight
// tiles (only loaded and stored: shared memory after
// infini-parallel-loops-to-gpu), 16-deep slices of the reduction staged
// with zeros past its end, then 2x2 register tiles updated from them. Each
// staging iteration moves 4 consecutive elements (16 bytes) along the
// input's last dimension, clamped to a whole vector inside it, and so does
// each iteration of the final write of the block's outputs.
// CHECK-LABEL: func.func @large
// CHECK-SAME: (%[[A:[^:]+]]: memref<?x100xf32>, %[[B:[^:]+]]: memref<100x96xf32>, %[[C:[^:]+]]: memref<?x96xf32>)
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%{{.+}}, %c2) step (%c1, %c1) {
// CHECK-DAG: %[[AT:.+]] = memref.alloc() : memref<64x16xf32>
// CHECK-DAG: %[[BT:.+]] = memref.alloc() : memref<16x64xf32>
// CHECK-DAG: %[[CT:.+]] = memref.alloc() : memref<64x64xf32>
// CHECK: scf.parallel
// CHECK: memref.load %[[C]]
// CHECK: memref.store %{{.+}}, %[[CT]]
// CHECK: scf.for %[[S:.+]] = %c0 to %c100 step %c16 {
// CHECK: scf.parallel (%[[I:.+]], %[[JV:.+]]) = (%c0, %c0) to (%c64, %c4)
// CHECK: %[[J:.+]] = arith.muli %[[JV]], %c4
// CHECK: %[[K:.+]] = arith.addi %[[S]], %[[J]]
// CHECK: %[[KC:.+]] = arith.minui %[[K]], %c96
// CHECK: %[[AV:.+]] = vector.load %[[A]][%{{.+}}, %[[KC]]] {alignment = 16 : i64} : memref<?x100xf32>, vector<4xf32>
// CHECK: %[[IN:.+]] = arith.cmpi ult, %[[K]], %c100
// CHECK: %[[AZ:.+]] = arith.select %[[IN]], %[[AV]], %cst
// CHECK: vector.store %[[AZ]], %[[AT]][%[[I]], %[[J]]]
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c16, %c16)
// CHECK: vector.load %[[B]]{{.*}} : memref<100x96xf32>, vector<4xf32>
// CHECK: vector.store %{{.+}}, %[[BT]]
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c32, %c32)
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32)
// CHECK: memref.load %[[AT]]
// CHECK: memref.load %[[BT]]
// CHECK: scf.yield
// CHECK-COUNT-4: memref.store %{{.+}}, %[[CT]]
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c64, %c16)
// CHECK: scf.if
// CHECK: %[[SUM:.+]] = vector.load %[[CT]]{{.*}} vector<4xf32>
// CHECK: vector.store %[[SUM]], %[[C]]{{.*}} {alignment = 16 : i64} : memref<?x96xf32>, vector<4xf32>
func.func @large(%a: memref<?x100xf32>, %b: memref<100x96xf32>, %c: memref<?x96xf32>) {
  linalg.matmul ins(%a, %b : memref<?x100xf32>, memref<100x96xf32>) outs(%c : memref<?x96xf32>)
  return
}

// A zero fill of the output right before a product is erased: the register
// tiles start from zero and the output is only stored.
// CHECK-LABEL: func.func @zero_filled
// CHECK-SAME: (%[[A:[^:]+]]: memref<?x8xf32>, %[[B:[^:]+]]: memref<8x64xf32>, %[[C:[^:]+]]: memref<?x64xf32>)
// CHECK-NOT: linalg.fill
// CHECK-NOT: memref.load %[[C]]
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %cst, %{{.+}} = %cst, %{{.+}} = %cst, %{{.+}} = %cst) -> (f32, f32, f32, f32)
// CHECK-NOT: memref.load %[[C]]
// CHECK: memref.store %{{.+}}, %[[C]]
func.func @zero_filled(%a: memref<?x8xf32>, %b: memref<8x64xf32>, %c: memref<?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x64xf32>)
  linalg.matmul ins(%a, %b : memref<?x8xf32>, memref<8x64xf32>) outs(%c : memref<?x64xf32>)
  return
}

// In shared-memory tiles, the accumulator tile starts from zero instead of
// from the output.
// CHECK-LABEL: func.func @zero_filled_large
// CHECK-SAME: (%[[A:[^:]+]]: memref<?x100xf32>, %[[B:[^:]+]]: memref<100x96xf32>, %[[C:[^:]+]]: memref<?x96xf32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[CT:.+]] = memref.alloc() : memref<64x64xf32>
// CHECK: scf.parallel
// CHECK-NOT: memref.load %[[C]]
// CHECK: memref.store %cst{{.*}}, %[[CT]]
// CHECK: scf.for
// CHECK-NOT: memref.load %[[C]]
// CHECK: vector.store %{{.+}}, %[[C]]
func.func @zero_filled_large(%a: memref<?x100xf32>, %b: memref<100x96xf32>, %c: memref<?x96xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x96xf32>)
  linalg.matmul ins(%a, %b : memref<?x100xf32>, memref<100x96xf32>) outs(%c : memref<?x96xf32>)
  return
}

// Fills that are not zero, not of the product's output, or not right before
// it (a write of the output in between) stay, and the product reads the
// output.
// CHECK-LABEL: func.func @fills_kept
// CHECK-SAME: (%[[A:[^:]+]]: memref<4x8xf32>, %[[B:[^:]+]]: memref<8x64xf32>, %[[C:[^:]+]]: memref<4x64xf32>, %[[D:[^:]+]]: memref<4x64xf32>)
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[C]]
// CHECK: memref.load %[[C]]
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[D]]
// CHECK: memref.load %[[C]]
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[C]]
// CHECK: memref.store %{{.+}}, %[[C]][%c0, %c0]
// CHECK: memref.load %[[C]]
func.func @fills_kept(%a: memref<4x8xf32>, %b: memref<8x64xf32>, %c: memref<4x64xf32>, %d: memref<4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  linalg.fill ins(%one : f32) outs(%c : memref<4x64xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x64xf32>) outs(%c : memref<4x64xf32>)
  linalg.fill ins(%zero : f32) outs(%d : memref<4x64xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x64xf32>) outs(%c : memref<4x64xf32>)
  linalg.fill ins(%zero : f32) outs(%c : memref<4x64xf32>)
  memref.store %one, %c[%c0, %c0] : memref<4x64xf32>
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x64xf32>) outs(%c : memref<4x64xf32>)
  return
}

// A product whose innermost column dimension has 32 columns (a 32-column
// weight panel; the panels are an outer loop) gets 64 x 32 blocks, so no
// block computes columns past the panel (the column blocks' loop, of one
// iteration, folds away).
// CHECK-LABEL: func.func @panels
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c3, %{{.+}}) step (%c1, %c1) {
// CHECK-DAG: memref.alloc() : memref<64x16xf32>
// CHECK-DAG: memref.alloc() : memref<16x32xf32>
// CHECK-DAG: memref.alloc() : memref<64x32xf32>
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c32, %c16)
func.func @panels(%a: memref<?x100xf32>, %w: memref<3x100x32xf32>, %c: memref<3x?x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(p, t, n, k) -> (t, k)>, affine_map<(p, t, n, k) -> (p, k, n)>,
                                   affine_map<(p, t, n, k) -> (p, t, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x100xf32>, memref<3x100x32xf32>) outs(%c : memref<3x?x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// A last dimension that is not a multiple of 4 elements is staged element
// by element.
// CHECK-LABEL: func.func @odd_depth
// CHECK: memref.load %{{.+}} : memref<?x99xf32>
// CHECK: vector.load %{{.+}} : memref<99x64xf32>, vector<4xf32>
func.func @odd_depth(%a: memref<?x99xf32>, %b: memref<99x64xf32>, %c: memref<?x64xf32>) {
  linalg.matmul ins(%a, %b : memref<?x99xf32>, memref<99x64xf32>) outs(%c : memref<?x64xf32>)
  return
}
