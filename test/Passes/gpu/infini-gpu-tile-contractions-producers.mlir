// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions{tensor-cores=f16}),canonicalize,cse)' -split-input-file | FileCheck %s
// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions),canonicalize,cse)' -split-input-file | FileCheck %s --check-prefix=CUDA-CORES

// SwiGLU's gated activation, written to a temporary only the down
// projection reads: the projection's staging computes silu(g) * u from 4
// elements of g and u at a time, and the producer, its temporary and the
// temporary's deallocation are gone.
// CHECK-LABEL: func.func @gated_activation
// CHECK-SAME: (%[[G:[^:]+]]: memref<?x128xf32>, %[[U:[^:]+]]: memref<?x128xf32>, %[[W:[^:]+]]: memref<128x96xf32>, %[[Y:[^:]+]]: memref<?x96xf32>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref<?x128xf32>) {alignment
// CHECK: scf.for
// CHECK: %[[GV:.+]] = vector.load %[[G]]{{.*}} : memref<?x128xf32>, vector<4xf32>
// CHECK: %[[UV:.+]] = vector.load %[[U]]{{.*}} : memref<?x128xf32>, vector<4xf32>
// CHECK: %[[NEG:.+]] = arith.negf %[[GV]] : vector<4xf32>
// CHECK: math.exp %[[NEG]] : vector<4xf32>
// CHECK: arith.mulf %{{.+}}, %[[UV]] : vector<4xf32>
// CHECK: arith.truncf %{{.+}} : vector<4xf32> to vector<4xf16>
// CHECK: vector.load %[[W]]
// CHECK-NOT: memref.dealloc
// CHECK: return
// CUDA-CORES-LABEL: func.func @gated_activation
// CUDA-CORES-NOT: linalg.generic
// CUDA-CORES: math.exp %{{.+}} : vector<4xf32>
func.func @gated_activation(%g: memref<?x128xf32>, %u: memref<?x128xf32>, %w: memref<128x96xf32>, %y: memref<?x96xf32>) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %rows = memref.dim %g, %c0 : memref<?x128xf32>
  %h = memref.alloc(%rows) {alignment = 64 : i64} : memref<?x128xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : memref<?x128xf32>, memref<?x128xf32>) outs(%h : memref<?x128xf32>) {
  ^bb0(%gate: f32, %up: f32, %out: f32):
    %n = arith.negf %gate : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %silu = arith.divf %gate, %d : f32
    %r = arith.mulf %silu, %up : f32
    linalg.yield %r : f32
  }
  linalg.matmul ins(%h, %w : memref<?x128xf32>, memref<128x96xf32>) outs(%y : memref<?x96xf32>)
  memref.dealloc %h : memref<?x128xf32>
  return
}

// -----

// A chain through a view: heads mixed in place with a per-head gate (a
// weight, which the state update in between cannot write), transposed to
// token-major order and collapsed into the output projection's rows. The
// staging reads both heads' buffers 4 at a time and computes each head's
// gate once per vector; the mixed and transposed buffers are not written,
// and the transposed one (whose view gave the product's row count) is gone.
// The deallocation of the second input, which followed the mixing, moves
// after the product.
// CHECK-LABEL: func.func @mixed_heads
// CHECK-SAME: (%[[A:[^:]+]]: memref<2x?x32xf32>, %[[B:[^:]+]]: memref<2x?x32xf32>, %[[GATE:[^:]+]]: memref<2xf32> {infini.weight = "gate"}, %[[S:[^:]+]]: memref<2x32xf32>, %{{[^:]+}}: memref<64x64xf32>, %{{[^:]+}}: memref<?x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.transpose
// CHECK-NOT: memref<?x2x32xf32>
// CHECK-NOT: memref.collapse_shape
// CHECK: %[[BUF:.+]] = memref.alloc(%{{.+}}) : memref<2x?x32xf32>
// CHECK: memref.copy %[[A]], %[[BUF]]
// CHECK: %[[B2:.+]] = memref.alloc(%{{.+}}) : memref<2x?x32xf32>
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[S]] : memref<2x32xf32>)
// CHECK: scf.parallel
// CHECK: vector.load %[[BUF]]{{.*}} : memref<2x?x32xf32>, vector<4xf32>
// CHECK: vector.load %[[B2]]{{.*}} : memref<2x?x32xf32>, vector<4xf32>
// CHECK: memref.load %[[GATE]]
// CHECK: math.exp %{{.+}} : f32
// CHECK: vector.broadcast
// CHECK: } {infini.warp_level}
// CHECK: memref.dealloc %[[B2]]
// CHECK-NEXT: memref.dealloc %[[BUF]]
// CHECK-NEXT: return
func.func @mixed_heads(%a: memref<2x?x32xf32>, %b: memref<2x?x32xf32>, %gate: memref<2xf32> {infini.weight = "gate"}, %s: memref<2x32xf32>, %w: memref<64x64xf32>, %y: memref<?x64xf32>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %tokens = memref.dim %a, %c1 : memref<2x?x32xf32>
  %buf = memref.alloc(%tokens) : memref<2x?x32xf32>
  memref.copy %a, %buf : memref<2x?x32xf32> to memref<2x?x32xf32>
  %b2 = memref.alloc(%tokens) : memref<2x?x32xf32>
  memref.copy %b, %b2 : memref<2x?x32xf32> to memref<2x?x32xf32>
  linalg.generic {indexing_maps = [affine_map<(h, t, d) -> (h, t, d)>, affine_map<(h, t, d) -> (h, t, d)>, affine_map<(h, t, d) -> (h)>, affine_map<(h, t, d) -> (h, t, d)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%buf, %b2, %gate : memref<2x?x32xf32>, memref<2x?x32xf32>, memref<2xf32>) outs(%buf : memref<2x?x32xf32>) {
  ^bb0(%x: f32, %z: f32, %g: f32, %out: f32):
    %n = arith.negf %g : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %sig = arith.divf %one, %d : f32
    %diff = arith.subf %x, %z : f32
    %m = arith.mulf %sig, %diff : f32
    %r = arith.addf %z, %m : f32
    linalg.yield %r : f32
  }
  memref.dealloc %b2 : memref<2x?x32xf32>
  // A state update in between.
  linalg.fill ins(%zero : f32) outs(%s : memref<2x32xf32>)
  %t = memref.alloc(%tokens) : memref<?x2x32xf32>
  linalg.transpose ins(%buf : memref<2x?x32xf32>) outs(%t : memref<?x2x32xf32>) permutation = [1, 0, 2]
  %rows = memref.collapse_shape %t [[0], [1, 2]] : memref<?x2x32xf32> into memref<?x64xf32>
  linalg.matmul ins(%rows, %w : memref<?x64xf32>, memref<64x64xf32>) outs(%y : memref<?x64xf32>)
  memref.dealloc %t : memref<?x2x32xf32>
  memref.dealloc %buf : memref<2x?x32xf32>
  return
}

// -----

// Not fused: the temporary is read again after the product.
// CHECK-LABEL: func.func @read_again
// CHECK: linalg.generic
// CHECK: scf.parallel
// CHECK: linalg.copy
func.func @read_again(%x: memref<64x64xf32>, %w: memref<64x64xf32>, %y: memref<64x64xf32>, %z: memref<64x64xf32>) {
  %h = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%h : memref<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  linalg.matmul ins(%h, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  linalg.copy ins(%h : memref<64x64xf32>) outs(%z : memref<64x64xf32>)
  memref.dealloc %h : memref<64x64xf32>
  return
}

// -----

// Not fused: the producer's input is overwritten before the product, which
// must see the values from before.
// CHECK-LABEL: func.func @input_overwritten
// CHECK: linalg.generic
// CHECK: linalg.fill
// CHECK: scf.parallel
func.func @input_overwritten(%x: memref<64x64xf32>, %w: memref<64x64xf32>, %y: memref<64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %h = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%h : memref<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%x : memref<64x64xf32>)
  linalg.matmul ins(%h, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  memref.dealloc %h : memref<64x64xf32>
  return
}

// -----

// Not fused: another argument written in between may be the same buffer as
// the producer's input (only weights and fresh allocations are known apart).
// CHECK-LABEL: func.func @argument_written
// CHECK: linalg.generic
// CHECK: linalg.fill
// CHECK: scf.parallel
func.func @argument_written(%x: memref<64x64xf32>, %s: memref<64x64xf32>, %w: memref<64x64xf32>, %y: memref<64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %h = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%h : memref<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%s : memref<64x64xf32>)
  linalg.matmul ins(%h, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  memref.dealloc %h : memref<64x64xf32>
  return
}

// -----

// Not fused: the producer accumulates into its output (it reads it).
// CHECK-LABEL: func.func @accumulating
// CHECK: linalg.generic
// CHECK: scf.parallel
func.func @accumulating(%x: memref<64x64xf32>, %w: memref<64x64xf32>, %y: memref<64x64xf32>) {
  %h = memref.alloc() : memref<64x64xf32>
  linalg.copy ins(%x : memref<64x64xf32>) outs(%h : memref<64x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%h : memref<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  linalg.matmul ins(%h, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  memref.dealloc %h : memref<64x64xf32>
  return
}

// -----

// Not fused: both inputs read the temporary.
// CHECK-LABEL: func.func @read_twice
// CHECK: linalg.generic
// CHECK: scf.parallel
func.func @read_twice(%x: memref<64x64xf32>, %y: memref<64x64xf32>) {
  %h = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%h : memref<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  linalg.matmul ins(%h, %h : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  memref.dealloc %h : memref<64x64xf32>
  return
}

// -----

// A producer read twice by the next one (e^x * e^x): both reads recompute
// it (CSE then shares the two), and it is erased once.
// CHECK-LABEL: func.func @read_twice_by_producer
// CHECK-NOT: linalg.generic
// CHECK: %[[E:.+]] = math.exp %{{.+}} : vector<4xf32>
// CHECK: arith.mulf %[[E]], %[[E]] : vector<4xf32>
func.func @read_twice_by_producer(%x: memref<64x64xf32>, %w: memref<64x64xf32>, %y: memref<64x64xf32>) {
  %e = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%e : memref<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  }
  %s = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%e, %e : memref<64x64xf32>, memref<64x64xf32>) outs(%s : memref<64x64xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  }
  memref.dealloc %e : memref<64x64xf32>
  linalg.matmul ins(%s, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  memref.dealloc %s : memref<64x64xf32>
  return
}
