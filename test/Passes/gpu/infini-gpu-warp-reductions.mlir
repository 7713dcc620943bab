// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-warp-reductions),canonicalize,cse)' -split-input-file | FileCheck %s

// A row reduction (RMSNorm's sum of squares) goes to whole warps: blocks of
// 8 rows, a warp-level loop over them, lane l of min(32, block size) lanes
// folding elements l, l + lanes, ... from zero, a subgroup reduction of the
// lanes' partials, and lane 0 adding the total to the output (read before
// the lanes meet in the reduction, so that none reads it after lane 0
// stored).
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x64x128xf32>, %[[OUT:[^:]+]]: memref<?x64xf32>)
// CHECK: %[[ROWS:.+]] = arith.muli %{{.+}}, %c64
// CHECK: %[[BLOCKS:.+]] = arith.ceildivui %[[ROWS]], %c8
// CHECK: scf.parallel (%[[B:.+]]) = (%c0) to (%[[BLOCKS]]) step (%c1) {
// CHECK: %[[FIRST:.+]] = arith.muli %[[B]], %c8
// CHECK: scf.parallel (%[[W:.+]]) = (%c0) to (%c8) step (%c1) {
// CHECK: %[[ROW:.+]] = arith.addi %[[FIRST]], %[[W]]
// CHECK: arith.cmpi ult, %[[ROW]], %[[ROWS]]
// CHECK: %[[T:.+]] = arith.remui %[[ROW]], %c64
// CHECK: %[[BATCH:.+]] = arith.divui %[[ROW]], %c64
// CHECK: %[[DIM:.+]] = gpu.block_dim x
// CHECK: %[[LANES:.+]] = arith.minui %[[DIM]], %c32
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: %[[LANE:.+]] = arith.remui %[[TID]], %[[LANES]]
// CHECK: %[[PARTIAL:.+]] = scf.for %[[K:.+]] = %[[LANE]] to %c128 step %[[LANES]] iter_args(%[[ACC:.+]] = %cst) -> (f32) {
// CHECK: %[[V:.+]] = memref.load %[[X]][%[[BATCH]], %[[T]], %[[K]]]
// CHECK: %[[SQ:.+]] = arith.mulf %[[V]], %[[V]]
// CHECK: arith.addf %[[ACC]], %[[SQ]]
// CHECK: %[[OLD:.+]] = memref.load %[[OUT]][%[[BATCH]], %[[T]]]
// CHECK: %[[TOTAL:.+]] = gpu.subgroup_reduce add %[[PARTIAL]] uniform : (f32) -> f32
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK: %[[NEW:.+]] = arith.addf %[[OLD]], %[[TOTAL]]
// CHECK: scf.if %[[FIRST]]
// CHECK-NEXT: memref.store %[[NEW]], %[[OUT]][%[[BATCH]], %[[T]]]
// CHECK: } {infini.warp_level}
func.func @sum_of_squares(%x: memref<?x64x128xf32>, %out: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, t, d) -> (b, t, d)>, affine_map<(b, t, d) -> (b, t)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<?x64x128xf32>) outs(%out : memref<?x64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sq = arith.mulf %v, %v : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// A fill of the output right before the reduction is folded into it: lane 0
// combines the total with the fill's value and stores it, without reading
// the output.
// CHECK-LABEL: func.func @filled
// CHECK-SAME: (%[[X:[^:]+]]: memref<16x256xf32>, %[[OUT:[^:]+]]: memref<16xf32>, %[[START:[^:]+]]: f32)
// CHECK-NOT: linalg.fill
// CHECK: %[[TOTAL:.+]] = gpu.subgroup_reduce add
// CHECK-NOT: memref.load %[[OUT]]
// CHECK: %[[NEW:.+]] = arith.addf %[[START]], %[[TOTAL]]
// CHECK: memref.store %[[NEW]], %[[OUT]]
func.func @filled(%x: memref<16x256xf32>, %out: memref<16xf32>, %start: f32) {
  linalg.fill ins(%start : f32) outs(%out : memref<16xf32>)
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<16x256xf32>) outs(%out : memref<16xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %acc, %v : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// RMSNorm: the scaling that reads each row's sum right after the reduction
// is computed by the warp that reduced the row, from the sum in a register
// (lanes strided over the row like the reduction's reads); the allocation
// in between moves before the loop. One kernel instead of three with the
// fill; the sums, read by nobody else, are not even stored.
// CHECK-LABEL: func.func @rmsnorm
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x64x128xf32>, %[[W:[^:]+]]: memref<128xf32>)
// CHECK-NOT: linalg.
// CHECK: %[[Y:.+]] = memref.alloc(%{{.+}}) : memref<?x64x128xf32>
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.for %{{.+}} = %[[LANE:[^ ]+]] to %c128 step %[[LANES:[^ ]+]] iter_args
// CHECK: %[[TOTAL:.+]] = gpu.subgroup_reduce add
// CHECK: %[[SUM:.+]] = arith.addf %[[TOTAL]], %cst
// CHECK: scf.for %[[K:.+]] = %[[LANE]] to %c128 step %[[LANES]] {
// CHECK: %[[V:.+]] = memref.load %[[X]][%{{.+}}, %{{.+}}, %[[K]]]
// CHECK: %[[G:.+]] = memref.load %[[W]][%[[K]]]
// CHECK-NOT: memref.load
// CHECK: arith.divf %[[SUM]]
// CHECK: math.rsqrt
// CHECK: memref.store %{{.+}}, %[[Y]][%{{.+}}, %{{.+}}, %[[K]]]
// CHECK: } {infini.warp_level}
// CHECK-NOT: scf.parallel
// CHECK: return %[[Y]]
func.func @rmsnorm(%x: memref<?x64x128xf32>, %w: memref<128xf32>) -> memref<?x64x128xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 128.0 : f32
  %b = memref.dim %x, %c0 : memref<?x64x128xf32>
  %sums = memref.alloc(%b) : memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%sums : memref<?x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, t, d) -> (b, t, d)>, affine_map<(b, t, d) -> (b, t)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<?x64x128xf32>) outs(%sums : memref<?x64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sq = arith.mulf %v, %v : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  %y = memref.alloc(%b) : memref<?x64x128xf32>
  linalg.generic {indexing_maps = [affine_map<(b, t, d) -> (b, t, d)>, affine_map<(b, t, d) -> (b, t)>,
                                   affine_map<(b, t, d) -> (d)>, affine_map<(b, t, d) -> (b, t, d)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %sums, %w : memref<?x64x128xf32>, memref<?x64xf32>, memref<128xf32>) outs(%y : memref<?x64x128xf32>) {
  ^bb0(%v: f32, %s: f32, %g: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %r = math.rsqrt %mean : f32
    %scaled = arith.mulf %v, %r : f32
    %out = arith.mulf %scaled, %g : f32
    linalg.yield %out : f32
  }
  return %y : memref<?x64x128xf32>
}

// -----

// Consumers left to kernels of their own: one that overwrites what the
// reduction reads, and one that reads the sums of other rows.
// CHECK-LABEL: func.func @consumers_kept
// CHECK: gpu.subgroup_reduce
// CHECK: linalg.generic
// CHECK: gpu.subgroup_reduce
// CHECK: linalg.generic
func.func @consumers_kept(%x: memref<64x128xf32>, %sums: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(t, d) -> (t, d)>, affine_map<(t, d) -> (t)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x128xf32>) outs(%sums : memref<64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %acc, %v : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [affine_map<(t, d) -> (t)>, affine_map<(t, d) -> (t, d)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%sums : memref<64xf32>) outs(%x : memref<64x128xf32>) {
  ^bb0(%s: f32, %o: f32):
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(t, d) -> (t, d)>, affine_map<(t, d) -> (t)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x128xf32>) outs(%sums : memref<64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %acc, %v : f32
    linalg.yield %sum : f32
  }
  %y = memref.alloc() : memref<128x64xf32>
  linalg.generic {indexing_maps = [affine_map<(d, t) -> (t)>, affine_map<(d, t) -> (d, t)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%sums : memref<64xf32>) outs(%y : memref<128x64xf32>) {
  ^bb0(%s: f32, %o: f32):
    linalg.yield %s : f32
  }
  return
}

// -----

// A maximum starts the lanes from -inf.
// CHECK-LABEL: func.func @row_max
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %[[NEGINF]]) -> (f32)
// CHECK: arith.maximumf
// CHECK: gpu.subgroup_reduce maximumf
func.func @row_max(%x: memref<16x256xf32>, %out: memref<16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<16x256xf32>) outs(%out : memref<16xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %acc, %v : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Left alone: a reduction over an outer loop, a row shorter than a warp, a
// row along an input's outer dimension (lanes would not read neighbouring
// elements, while one thread per row does), a payload that reads the
// accumulator twice, and a reduction two parallel loops deep (run by single
// threads).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.subgroup_reduce
// CHECK-COUNT-5: linalg.generic
func.func @left_alone(%x: memref<128x64xf32>, %cols: memref<64xf32>, %short: memref<64x8xf32>, %rows: memref<64xf32>, %y: memref<128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (c)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<128x64xf32>) outs(%cols : memref<64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%short : memref<64x8xf32>) outs(%rows : memref<64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (c, r)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x64xf32>) outs(%cols : memref<64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x64xf32>) outs(%y : memref<128xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %p = arith.mulf %acc, %v : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c2) step (%c1) {
      linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                      iterator_types = ["parallel", "reduction"]}
          ins(%x : memref<128x64xf32>) outs(%y : memref<128xf32>) {
      ^bb0(%v: f32, %acc: f32):
        %s = arith.addf %acc, %v : f32
        linalg.yield %s : f32
      }
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// In a block's loop (the fused attention's row maximum over a key tile) the
// block's warps share all the rows: no loop over blocks of rows.
// CHECK-LABEL: func.func @in_block
// CHECK: scf.forall
// CHECK-NOT: arith.ceildivui
// CHECK: scf.parallel (%[[R:.+]]) = (%c0) to (%c64) step (%c1) {
// CHECK: scf.for %{{.+}} = %{{.+}} to %c64 step
// CHECK: gpu.subgroup_reduce maximumf
// CHECK: } {infini.warp_level}
func.func @in_block(%x: memref<4x64x64xf32>, %out: memref<4x64xf32>) {
  scf.forall (%b) in (4) {
    %tile = memref.subview %x[%b, 0, 0] [1, 64, 64] [1, 1, 1] : memref<4x64x64xf32> to memref<64x64xf32, strided<[64, 1], offset: ?>>
    %row = memref.subview %out[%b, 0] [1, 64] [1, 1] : memref<4x64xf32> to memref<64xf32, strided<[1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                    iterator_types = ["parallel", "reduction"]}
        ins(%tile : memref<64x64xf32, strided<[64, 1], offset: ?>>) outs(%row : memref<64xf32, strided<[1], offset: ?>>) {
    ^bb0(%v: f32, %acc: f32):
      %m = arith.maximumf %acc, %v : f32
      linalg.yield %m : f32
    }
  }
  return
}
