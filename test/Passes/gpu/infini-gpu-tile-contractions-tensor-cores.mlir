// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions{tensor-cores=f16}),canonicalize,cse)' -split-input-file | FileCheck %s
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions{tensor-cores=bf16}),canonicalize,cse)' -split-input-file | FileCheck %s --check-prefix=BF16
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions{tensor-cores=f16 warps=4}),canonicalize,cse)' -split-input-file | FileCheck %s --check-prefix=WARPS4
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions{tensor-cores=f16 warps=3}),canonicalize,cse)' -split-input-file | FileCheck %s --check-prefix=WARPS3

// With tensor-cores=f16 a large f32 product stages f16 copies of 64-deep
// slices of its inputs (rows padded to 72 elements). The block's 8 warps each
// own a warp tile of 2 x 2 tiles of 16 x 8 accumulators (a warp-level loop of
// exactly 8 iterations) and carry them in registers, zero at first, through
// the loop over slices: each slice the block stages both inputs, then the
// warp's region reads two 16 x 16 fragments of A and two 16 x 8 of B per 16
// of depth (a loop of 16-deep steps), each feeding two of the four 16x8x16
// contractions, and yields the tiles. After the last slice a region writes
// them to a padded f32 tile, which the block adds to the output.
// CHECK-LABEL: func.func @large
// CHECK-SAME: (%[[A:[^:]+]]: memref<?x100xf32>, %[[B:[^:]+]]: memref<100x96xf32>, %[[C:[^:]+]]: memref<?x96xf32>)
// CHECK-DAG: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : vector<16x8xf32>
// CHECK-DAG: %[[AT:.+]] = memref.alloc() : memref<64x72xf16>
// CHECK-DAG: %[[BT:.+]] = memref.alloc() : memref<64x72xf16>
// CHECK-DAG: %[[CT:.+]] = memref.alloc() : memref<64x72xf32>
// CHECK: scf.parallel (%[[I:.+]], %[[J:.+]]) = (%c0, %c0) to (%c2, %c4) step (%c1, %c1) {
// CHECK: %[[ACCS:.+]]:4 = scf.for %{{.+}} = %c0 to %c100 step %c64 iter_args(%[[C0:.+]] = %[[ZERO]], %[[C1:.+]] = %[[ZERO]], %[[C2:.+]] = %[[ZERO]], %[[C3:.+]] = %[[ZERO]])
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c64, %c16)
// CHECK: %[[AV:.+]] = vector.load %[[A]]{{.*}} : memref<?x100xf32>, vector<4xf32>
// CHECK: %[[AH:.+]] = arith.truncf %[[AV]] : vector<4xf32> to vector<4xf16>
// CHECK: arith.select %{{.+}}, %[[AH]], %{{.+}} : vector<4xf16>
// CHECK: vector.store %{{.+}}, %[[AT]]
// CHECK: scf.parallel
// CHECK: vector.load %[[B]]
// CHECK: arith.truncf
// CHECK: vector.store %{{.+}}, %[[BT]]
// CHECK: %[[NEXT:.+]]:4 = scf.execute_region -> (vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>) no_inline {
// CHECK: %[[ROW:.+]] = affine.apply #{{.+}}(%[[I]])
// CHECK: %[[ROW1:.+]] = affine.apply #{{.+}}(%[[I]])
// CHECK: %[[COL:.+]] = affine.apply #{{.+}}(%[[J]])
// CHECK: %[[COL1:.+]] = affine.apply #{{.+}}(%[[J]])
// CHECK: scf.for %[[K:.+]] = %c0 to %c64 step %c16 iter_args(%[[S0:.+]] = %[[C0]], %[[S1:.+]] = %[[C1]], %[[S2:.+]] = %[[C2]], %[[S3:.+]] = %[[C3]])
// CHECK: %[[A0:.+]] = vector.transfer_read %[[AT]][%[[ROW]], %[[K]]]{{.*}} vector<16x16xf16>
// CHECK: %[[A1:.+]] = vector.transfer_read %[[AT]][%[[ROW1]], %[[K]]]{{.*}} vector<16x16xf16>
// CHECK: %[[B0:.+]] = vector.transfer_read %[[BT]][%[[K]], %[[COL]]]{{.*}} vector<16x8xf16>
// CHECK: %[[B1:.+]] = vector.transfer_read %[[BT]][%[[K]], %[[COL1]]]{{.*}} vector<16x8xf16>
// CHECK: vector.contract {{.*}} %[[A0]], %[[B0]], %[[S0]] : vector<16x16xf16>, vector<16x8xf16> into vector<16x8xf32>
// CHECK: vector.contract {{.*}} %[[A0]], %[[B1]], %[[S1]]
// CHECK: vector.contract {{.*}} %[[A1]], %[[B0]], %[[S2]]
// CHECK: vector.contract {{.*}} %[[A1]], %[[B1]], %[[S3]]
// CHECK: } {infini.warp_level}
// CHECK: scf.yield %[[NEXT]]#0, %[[NEXT]]#1, %[[NEXT]]#2, %[[NEXT]]#3
// CHECK: scf.execute_region no_inline {
// CHECK: vector.transfer_write %[[ACCS]]#0, %[[CT]]
// CHECK-COUNT-3: vector.transfer_write
// CHECK: } {infini.warp_level}
// CHECK: } {infini.warp_level}
// CHECK: scf.parallel
// CHECK: %[[SUM:.+]] = vector.load %[[CT]]{{.*}} vector<4xf32>
// CHECK: %[[OLD:.+]] = vector.load %[[C]]{{.*}} vector<4xf32>
// CHECK: %[[NEW:.+]] = arith.addf %[[OLD]], %[[SUM]] : vector<4xf32>
// CHECK: vector.store %[[NEW]], %[[C]]
// With bf16 the tiles and contractions are bf16 instead.
// BF16-LABEL: func.func @large
// BF16-DAG: memref.alloc() : memref<64x72xbf16>
// BF16-DAG: memref.alloc() : memref<64x72xf32>
// BF16: arith.truncf %{{.+}} : f32 to bf16
// BF16: vector.contract {{.*}} vector<16x16xbf16>, vector<16x8xbf16> into vector<16x8xf32>
// With four warps, each warp tile is 2 x 4 tiles (32 x 32 elements).
// WARPS4-LABEL: func.func @large
// WARPS4: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c2, %c2)
// WARPS4: scf.for {{.*}} -> (vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>)
// WARPS4: scf.execute_region
// WARPS4-COUNT-2: vector.transfer_read %{{.+}} vector<16x16xf16>
// WARPS4-COUNT-4: vector.transfer_read %{{.+}} vector<16x8xf16>
// WARPS4-COUNT-8: vector.contract
// With three warps (a 96-thread block) the 32 tiles do not make one warp
// tile a warp, so the accumulators stay in the shared tile, read and
// written by each slice's region.
// WARPS3-LABEL: func.func @large
// WARPS3: scf.for %{{.+}} = %c0 to %c100 step %c64 {
// WARPS3: scf.execute_region no_inline {
// WARPS3: vector.transfer_read %{{.+}} vector<16x8xf32>
func.func @large(%a: memref<?x100xf32>, %b: memref<100x96xf32>, %c: memref<?x96xf32>) {
  linalg.matmul ins(%a, %b : memref<?x100xf32>, memref<100x96xf32>) outs(%c : memref<?x96xf32>)
  return
}

// -----

// After a zero fill of the output, the registers' sums are the outputs: the
// block stores them without reading the output. In the shared tile (three
// warps), the accumulators start from zero.
// CHECK-LABEL: func.func @zero_filled
// CHECK-SAME: (%{{[^:]+}}: memref<?x100xf32>, %{{[^:]+}}: memref<100x96xf32>, %[[C:[^:]+]]: memref<?x96xf32>)
// CHECK-NOT: linalg.fill
// CHECK-NOT: memref.load %[[C]]
// CHECK: } {infini.warp_level}
// CHECK: scf.parallel
// CHECK: %[[SUM:.+]] = vector.load
// CHECK-NOT: vector.load %[[C]]
// CHECK: vector.store %[[SUM]], %[[C]]
// WARPS3-LABEL: func.func @zero_filled
// WARPS3-SAME: %[[C:[^:]+]]: memref<?x96xf32>)
// WARPS3-NOT: memref.load %[[C]]
// WARPS3: memref.store %cst{{.*}}, %{{.+}} : memref<64x72xf32>
// WARPS3-NOT: {{memref|vector}}.load %[[C]]
// WARPS3: vector.store %{{.+}}, %[[C]]
func.func @zero_filled(%a: memref<?x100xf32>, %b: memref<100x96xf32>, %c: memref<?x96xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x96xf32>)
  linalg.matmul ins(%a, %b : memref<?x100xf32>, memref<100x96xf32>) outs(%c : memref<?x96xf32>)
  return
}

// -----

// With 32-column weight panels, a block is 64 x 32: a 64 x 40 weight tile,
// and the 8 warps each own 1 x 2 tiles (16 x 16 elements).
// CHECK-LABEL: func.func @panels
// CHECK-DAG: memref.alloc() : memref<64x72xf16>
// CHECK-DAG: memref.alloc() : memref<64x40xf16>
// CHECK-DAG: memref.alloc() : memref<64x40xf32>
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c4, %c2)
// CHECK: scf.for {{.*}} -> (vector<16x8xf32>, vector<16x8xf32>)
// CHECK-COUNT-2: vector.contract
func.func @panels(%a: memref<?x100xf32>, %w: memref<3x100x32xf16>, %c: memref<3x?x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(p, t, n, k) -> (t, k)>, affine_map<(p, t, n, k) -> (p, k, n)>,
                                   affine_map<(p, t, n, k) -> (p, t, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x100xf32>, memref<3x100x32xf16>) outs(%c : memref<3x?x32xf32>) {
  ^bb0(%x: f32, %y: f16, %acc: f32):
    %e = arith.extf %y : f16 to f32
    %m = arith.mulf %x, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Small products keep the per-thread register tiles.
// CHECK-LABEL: func.func @small
// CHECK-NOT: vector.contract
// CHECK: scf.for {{.*}} -> (f32
func.func @small(%a: memref<8x8xf32>, %b: memref<8x8xf32>, %c: memref<8x8xf32>) {
  linalg.matmul ins(%a, %b : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>)
  return
}


// -----

// A product directly in a block's loop (the fused attention's tiles), of
// whole 16 x 8 x 16 tiles, takes tensor cores in place: the block's threads
// stage f16 copies of its inputs, then a warp-level loop updates its
// output, 16 x 8 tiles of it.
// CHECK-LABEL: func.func @nested
// CHECK: scf.forall
// CHECK: %[[AT:.+]] = memref.alloc() : memref<32x24xf16>
// CHECK: scf.parallel
// CHECK: arith.truncf
// CHECK: %[[BT:.+]] = memref.alloc() : memref<16x24xf16>
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c2, %c2)
// CHECK: scf.execute_region no_inline {
// CHECK: vector.transfer_read %[[AT]]
// CHECK: vector.transfer_read %[[BT]]
// CHECK: vector.contract
// CHECK: vector.transfer_write %{{.+}}, %[[OUT:.+]][
// CHECK-NOT: linalg.matmul
func.func @nested(%a: memref<4x32x16xf32>, %b: memref<16x16xf32>) {
  scf.forall (%i) in (4) {
    %tile = memref.subview %a[%i, 0, 0] [1, 32, 16] [1, 1, 1] : memref<4x32x16xf32> to memref<32x16xf32, strided<[16, 1], offset: ?>>
    %out = memref.alloc() : memref<32x16xf32>
    linalg.matmul ins(%tile, %b : memref<32x16xf32, strided<[16, 1], offset: ?>>, memref<16x16xf32>) outs(%out : memref<32x16xf32>)
    memref.dealloc %out : memref<32x16xf32>
  }
  return
}

// -----

// Sizes that are not whole tiles, or a product nested two loops deep (run
// by single threads), keep the scalar form.
// CHECK-LABEL: func.func @ragged
// CHECK-NOT: vector.contract
// CHECK: linalg.matmul
// CHECK: linalg.matmul
func.func @ragged(%a: memref<4x30x16xf32>, %b: memref<16x16xf32>, %c: memref<32x16xf32>, %d: memref<16x16xf32>) {
  scf.forall (%i) in (4) {
    %tile = memref.subview %a[%i, 0, 0] [1, 30, 16] [1, 1, 1] : memref<4x30x16xf32> to memref<30x16xf32, strided<[16, 1], offset: ?>>
    %out = memref.alloc() : memref<30x16xf32>
    linalg.matmul ins(%tile, %b : memref<30x16xf32, strided<[16, 1], offset: ?>>, memref<16x16xf32>) outs(%out : memref<30x16xf32>)
    scf.forall (%j) in (2) {
      %out2 = memref.alloc() : memref<32x16xf32>
      linalg.matmul ins(%c, %d : memref<32x16xf32>, memref<16x16xf32>) outs(%out2 : memref<32x16xf32>)
    }
  }
  return
}

// -----

// Staging loads coalesce: a weight read as W[n][k] (x W^T) is staged with
// the reduction innermost (consecutive threads read consecutive k), the
// input x[m][k] too (4 elements at a time; the weight, stored into the
// tile transposed, one at a time).
// CHECK-LABEL: func.func @transposed_weight
// CHECK-SAME: (%[[X:[^:]+]]: memref<128x128xf32>, %[[W:[^:]+]]: memref<96x128xf32>
// CHECK: scf.parallel (%[[R:.+]], %[[K:.+]]) = (%c0, %c0) to (%c64, %c16)
// CHECK: vector.load %[[X]][%{{.+}}, %{{.+}}]
// CHECK: scf.parallel (%[[N:.+]], %[[K2:.+]]) = (%c0, %c0) to (%c64, %c64)
// CHECK: memref.store %{{.+}}, %{{.+}}[%[[K2]], %[[N]]] : memref<64x72xf16>
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @transposed_weight(%x: memref<128x128xf32>, %w: memref<96x128xf32>, %y: memref<128x96xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<128x128xf32>, memref<96x128xf32>) outs(%y : memref<128x96xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A weight already in f16 (infini-narrow-prepared-weights' output) is
// staged as it is; only the f32 input is rounded.
// CHECK-LABEL: func.func @half_weight
// CHECK-SAME: (%[[X:[^:]+]]: memref<128x64xf32>, %[[W:[^:]+]]: memref<96x64xf16>
// CHECK: vector.load %[[X]]
// CHECK-NEXT: arith.truncf
// CHECK: %[[WV:.+]] = memref.load %[[W]]
// CHECK-NOT: arith.truncf
// CHECK: arith.select %{{.+}}, %[[WV]], %{{.+}} : f16
// CHECK: vector.contract
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @half_weight(%x: memref<128x64xf32>, %w: memref<96x64xf16>, %y: memref<128x96xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<128x64xf32>, memref<96x64xf16>) outs(%y : memref<128x96xf32>) {
  ^bb0(%a: f32, %b: f16, %acc: f32):
    %wide = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %wide : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Products of one left operand with weights of the same shape, each into a
// zero-filled output of its own (the Q, K and V projections), share one
// loop of blocks: its first dimension picks the product, whose weight and
// output the block selects. The later outputs are allocated before it.
// CHECK-LABEL: func.func @shared_left_operand
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x128xf32>, %[[WQ:[^:]+]]: memref<128x96xf32>, %[[WK:[^:]+]]: memref<128x96xf32>, %[[WV:[^:]+]]: memref<128x96xf32>, %{{.+}}: memref<3x?x96xf32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[Q:.+]] = memref.alloc(%{{.+}}) : memref<?x96xf32>
// CHECK: %[[K:.+]] = memref.alloc(%{{.+}}) : memref<?x96xf32>
// CHECK: %[[V:.+]] = memref.alloc(%{{.+}}) : memref<?x96xf32>
// CHECK: scf.parallel (%[[WHICH:[^,]+]], %{{[^,]+}}, %{{[^)]+}}) = (%c0, %c0, %c0) to (%c3, %{{.+}}, %c2)
// CHECK-DAG: %[[IS_K:.+]] = arith.cmpi eq, %[[WHICH]], %c1
// CHECK-DAG: %[[IS_V:.+]] = arith.cmpi eq, %[[WHICH]], %c2
// CHECK-DAG: %[[W1:.+]] = arith.select %[[IS_K]], %[[WK]], %[[WQ]] : memref<128x96xf32>
// CHECK-DAG: %[[W:.+]] = arith.select %[[IS_V]], %[[WV]], %[[W1]] : memref<128x96xf32>
// CHECK-DAG: %[[O1:.+]] = arith.select %[[IS_K]], %[[K]], %[[Q]] : memref<?x96xf32>
// CHECK-DAG: %[[O:.+]] = arith.select %[[IS_V]], %[[V]], %[[O1]] : memref<?x96xf32>
// CHECK: vector.load %[[W]]
// CHECK: vector.store %{{.+}}, %[[O]]
// CHECK-NOT: scf.parallel
// CHECK: memref.copy %[[Q]]
// CHECK: memref.copy %[[K]]
// CHECK: memref.copy %[[V]]
func.func @shared_left_operand(%x: memref<?x128xf32>, %wq: memref<128x96xf32>, %wk: memref<128x96xf32>, %wv: memref<128x96xf32>, %out: memref<3x?x96xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x128xf32>
  %q = memref.alloc(%n) : memref<?x96xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<?x96xf32>)
  linalg.matmul ins(%x, %wq : memref<?x128xf32>, memref<128x96xf32>) outs(%q : memref<?x96xf32>)
  %k = memref.alloc(%n) : memref<?x96xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<?x96xf32>)
  linalg.matmul ins(%x, %wk : memref<?x128xf32>, memref<128x96xf32>) outs(%k : memref<?x96xf32>)
  %v = memref.alloc(%n) : memref<?x96xf32>
  linalg.fill ins(%zero : f32) outs(%v : memref<?x96xf32>)
  linalg.matmul ins(%x, %wv : memref<?x128xf32>, memref<128x96xf32>) outs(%v : memref<?x96xf32>)
  %out0 = memref.subview %out[0, 0, 0] [1, %n, 96] [1, 1, 1] : memref<3x?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
  %out1 = memref.subview %out[1, 0, 0] [1, %n, 96] [1, 1, 1] : memref<3x?x96xf32> to memref<?x96xf32, strided<[96, 1], offset: ?>>
  %out2 = memref.subview %out[2, 0, 0] [1, %n, 96] [1, 1, 1] : memref<3x?x96xf32> to memref<?x96xf32, strided<[96, 1], offset: ?>>
  memref.copy %q, %out0 : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
  memref.copy %k, %out1 : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1], offset: ?>>
  memref.copy %v, %out2 : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1], offset: ?>>
  return
}

// -----

// Not shared: the second product's weight is the first's output.
// CHECK-LABEL: func.func @dependent_products
// CHECK: scf.parallel (%{{[^,]+}}, %{{[^)]+}}) = (%c0, %c0) to (%c2, %c2)
// CHECK: scf.parallel (%{{[^,]+}}, %{{[^)]+}}) = (%c0, %c0) to (%c2, %c2)
func.func @dependent_products(%x: memref<128x128xf32>, %w: memref<128x128xf32>, %out: memref<128x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %h = memref.alloc() : memref<128x128xf32>
  linalg.fill ins(%zero : f32) outs(%h : memref<128x128xf32>)
  linalg.matmul ins(%x, %w : memref<128x128xf32>, memref<128x128xf32>) outs(%h : memref<128x128xf32>)
  %y = memref.alloc() : memref<128x128xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<128x128xf32>)
  linalg.matmul ins(%x, %h : memref<128x128xf32>, memref<128x128xf32>) outs(%y : memref<128x128xf32>)
  memref.copy %y, %out : memref<128x128xf32> to memref<128x128xf32>
  return
}

// -----

// A reduction of an even number of 64-deep slices (256: four) is
// double-buffered: slice 0 is staged before the slice loop, which takes two
// slices per iteration, each multiplied from one pair of tiles while the
// next slice is staged into the other pair. One slice keeps single tiles.
// CHECK-LABEL: func.func @double_buffered
// CHECK: %[[A0:.+]] = memref.alloc() : memref<64x72xf16>
// CHECK: %[[B0:.+]] = memref.alloc() : memref<64x72xf16>
// CHECK: memref.alloc() : memref<64x72xf32>
// CHECK: %[[A1:.+]] = memref.alloc() : memref<64x72xf16>
// CHECK: %[[B1:.+]] = memref.alloc() : memref<64x72xf16>
// CHECK: scf.parallel
// CHECK: vector.store %{{.+}}, %[[A0]]
// CHECK: vector.store %{{.+}}, %[[B0]]
// CHECK: scf.for %[[S:.+]] = %c0 to %c256 step %c128 iter_args
// CHECK: %[[NEXT:.+]] = arith.addi %[[S]], %c64
// CHECK: vector.store %{{.+}}, %[[A1]]
// CHECK: vector.store %{{.+}}, %[[B1]]
// CHECK: scf.execute_region
// CHECK: vector.transfer_read %[[A0]]
// CHECK: vector.transfer_read %[[B0]]
// CHECK: } {infini.warp_level}
// CHECK: vector.store %{{.+}}, %[[A0]]
// CHECK: vector.store %{{.+}}, %[[B0]]
// CHECK: scf.execute_region
// CHECK: vector.transfer_read %[[A1]]
// CHECK: vector.transfer_read %[[B1]]
// CHECK: } {infini.warp_level}
// CHECK: scf.yield
// CHECK-LABEL: func.func @single_slice
// CHECK-COUNT-2: memref.alloc() : memref<64x72xf16>
// CHECK-NOT: memref.alloc() : memref<64x72xf16>
// CHECK: return
func.func @double_buffered(%a: memref<128x256xf32>, %b: memref<256x64xf32>, %c: memref<128x64xf32>) {
  linalg.matmul ins(%a, %b : memref<128x256xf32>, memref<256x64xf32>) outs(%c : memref<128x64xf32>)
  return
}
func.func @single_slice(%a: memref<128x64xf32>, %b: memref<64x64xf32>, %c: memref<128x64xf32>) {
  linalg.matmul ins(%a, %b : memref<128x64xf32>, memref<64x64xf32>) outs(%c : memref<128x64xf32>)
  return
}
