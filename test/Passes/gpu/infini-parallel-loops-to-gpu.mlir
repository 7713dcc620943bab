// RUN: infini-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(infini-parallel-loops-to-gpu{block-size=128}))' | FileCheck %s

// A 2-d loop becomes a 1-d grid of 128-thread blocks over its linearized
// iteration space, innermost dimension fastest, guarded for the last block.
// CHECK-LABEL: func.func @elementwise
// CHECK-SAME: (%[[A:[^:]+]]: memref<?x8xf32>, %[[B:[^:]+]]: memref<?x8xf32>)
// CHECK: %[[N:.+]] = arith.muli
// CHECK: %[[BLOCKS:.+]] = arith.ceildivsi %[[N]], %[[C128:.+]] : index
// CHECK: %[[GRID:.+]] = arith.maxsi %[[BLOCKS]]
// CHECK: gpu.launch blocks(%[[BX:[^,]+]], %{{[^,]+}}, %{{[^)]+}}) in (%{{[^ ]+}} = %[[GRID]], {{.*}} threads(%[[TX:[^,]+]], %{{[^,]+}}, %{{[^)]+}}) in (%{{[^ ]+}} = %[[C128]],
// CHECK-SAME: module(@infini_kernels) function(@elementwise_kernel_0_elementwise)
// CHECK: %[[BASE:.+]] = arith.muli %[[BX]], %[[C128]]
// CHECK: %[[LIN:.+]] = arith.addi %[[BASE]], %[[TX]]
// CHECK: %[[IN:.+]] = arith.cmpi ult, %[[LIN]], %[[N]]
// CHECK: scf.if %[[IN]] {
// CHECK: %[[J:.+]] = arith.remui %[[LIN]]
// CHECK: %[[I:.+]] = arith.divui %[[LIN]]
// CHECK: memref.load %[[A]][{{.+}}, {{.+}}]
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: scf.parallel
func.func @elementwise(%a: memref<?x8xf32>, %b: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %d = memref.dim %a, %c0 : memref<?x8xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%d, %c8) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x8xf32>
    memref.store %v, %b[%i, %j] : memref<?x8xf32>
    scf.reduce
  }
  return
}

// -----

// A loop whose body holds parallel loops gets one GPU block per iteration:
// the nested loops' iterations are strided over the block's threads (by
// gpu.block_dim, so that the result does not depend on it), loops nested
// deeper run sequentially in their thread, writes outside nested loops run
// in thread 0, and barriers separate the phases. The body's temporaries
// live in shared memory if only loaded and stored, else in a global scratch
// buffer with a slice per block.
// CHECK-LABEL: func.func @nested
// CHECK: %[[SCRATCH:.+]] = memref.alloc(%{{.+}}) : memref<?xi8>
// CHECK: gpu.launch blocks(%[[BX:[^,]+]], {{.*}} threads(%[[TX:[^,]+]], {{.*}} function(@nested_kernel_0) workgroup(%[[TMP:.+]] : memref<16xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[DIM:.+]] = gpu.block_dim x
// CHECK: %[[VIEWED:.+]] = memref.view %[[SCRATCH]][%{{.+}}][] : memref<?xi8> to memref<16xf32>
// CHECK: scf.if
// CHECK: gpu.barrier
// CHECK: scf.for %{{.+}} = %[[TX]] to %{{.+}} step %[[DIM]] {
// CHECK: memref.store %{{.+}}, %[[TMP]][%{{.+}}]
// CHECK: memref.store %{{.+}}, %[[VIEWED]][%{{.+}}]
// CHECK: gpu.barrier
// CHECK: scf.for %{{.+}} = %[[TX]] to %{{.+}} step %[[DIM]] {
// CHECK: scf.for
// CHECK: memref.load %[[TMP]]
// CHECK: gpu.barrier
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[TX]], %c0
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: memref.store
// CHECK: gpu.barrier
// CHECK-NOT: memref.dealloc
// CHECK: gpu.terminator
// CHECK: memref.dealloc %[[SCRATCH]]
func.func @nested(%a: memref<4x16xf32>, %b: memref<4x4x16xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %tmp = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
    %viewed = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
    %view = memref.subview %viewed[0] [8] [1] : memref<16xf32> to memref<8xf32, strided<[1]>>
    scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
      %v = memref.load %a[%i, %j] : memref<4x16xf32>
      memref.store %v, %tmp[%j] : memref<16xf32>
      memref.store %v, %viewed[%j] : memref<16xf32>
      scf.reduce
    }
    scf.parallel (%k, %j) = (%c0, %c0) to (%c4, %c16) step (%c1, %c1) {
      scf.parallel (%l) = (%c0) to (%c1) step (%c1) {
        %v = memref.load %tmp[%j] : memref<16xf32>
        memref.store %v, %b[%i, %k, %j] : memref<4x4x16xf32>
        scf.reduce
      }
      scf.reduce
    }
    memref.store %one, %s[%i] : memref<4xf32>
    memref.dealloc %tmp : memref<16xf32>
    memref.dealloc %viewed : memref<16xf32>
    scf.reduce
  }
  return
}

// -----

// A warp-level nested loop (tensor-core tiles) is strided over the block's
// warps: every lane of warp tid/32 runs the iteration, the stride is the
// number of warps. Its temporaries read by vector transfers live in shared
// memory too.
// CHECK-LABEL: func.func @warps
// CHECK: gpu.launch {{.*}} = %c128{{.*}} workgroup(%[[TILE:[^ ]+]] : memref<16x8xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[DIM:.+]] = gpu.block_dim x
// CHECK: gpu.barrier
// CHECK: %[[WARP:.+]] = arith.divui %{{.+}}, %c32
// CHECK: %[[WARPS:.+]] = arith.ceildivui %[[DIM]], %c32
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c6{{.*}} step %[[WARPS]] {
// CHECK: vector.transfer_read %[[TILE]]
// CHECK: gpu.barrier
func.func @warps(%out: memref<2x6x16x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c6 = arith.constant 6 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %tile = memref.alloc() : memref<16x8xf32>
    scf.parallel (%w) = (%c0) to (%c6) step (%c1) {
      %v = vector.transfer_read %tile[%c0, %c0], %zero {in_bounds = [true, true]} : memref<16x8xf32>, vector<16x8xf32>
      vector.transfer_write %v, %out[%b, %w, %c0, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<2x6x16x8xf32>
      scf.reduce
    } {infini.warp_level}
    memref.dealloc %tile : memref<16x8xf32>
    scf.reduce
  }
  return
}

// -----

// A temporary written and read by vector stores and loads (16-byte staging
// of tiles) lives in shared memory.
// CHECK-LABEL: func.func @vector_staging
// CHECK: gpu.launch {{.*}} workgroup(%[[TILE:[^ ]+]] : memref<4x8xf16, #gpu.address_space<workgroup>>)
// CHECK: vector.store %{{.+}}, %[[TILE]]
// CHECK: vector.load %[[TILE]]
func.func @vector_staging(%in: memref<2x4x8xf16>, %out: memref<2x4x8xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %tile = memref.alloc() : memref<4x8xf16>
    scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
      %v = vector.load %in[%b, %r, %c0] : memref<2x4x8xf16>, vector<8xf16>
      vector.store %v, %tile[%r, %c0] : memref<4x8xf16>, vector<8xf16>
      scf.reduce
    }
    scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
      %v = vector.load %tile[%r, %c0] : memref<4x8xf16>, vector<8xf16>
      vector.store %v, %out[%b, %r, %c0] : memref<2x4x8xf16>, vector<8xf16>
      scf.reduce
    }
    memref.dealloc %tile : memref<4x8xf16>
    scf.reduce
  }
  return
}

// -----

// So does one read through a reshaped view of it (a gather from a table
// flattened by memref.collapse_shape, as CoPE's z = q E is read), the view
// then in shared memory too.
// CHECK-LABEL: func.func @reshaped_temporary
// CHECK: gpu.launch {{.*}} workgroup(%[[TABLE:[^ ]+]] : memref<4x8xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[TABLE]] {{\[\[}}0, 1]] : memref<4x8xf32, #gpu.address_space<workgroup>> into memref<32xf32, #gpu.address_space<workgroup>>
// CHECK: vector.store %{{.+}}, %[[TABLE]]
// CHECK: vector.gather %[[FLAT]]
func.func @reshaped_temporary(%in: memref<2x4x8xf32>, %at: vector<8xi32>, %out: memref<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %all = arith.constant dense<true> : vector<8xi1>
  %zeros = arith.constant dense<0.0> : vector<8xf32>
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %table = memref.alloc() : memref<4x8xf32>
    %flat = memref.collapse_shape %table [[0, 1]] : memref<4x8xf32> into memref<32xf32>
    scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
      %v = vector.load %in[%b, %r, %c0] : memref<2x4x8xf32>, vector<8xf32>
      vector.store %v, %table[%r, %c0] : memref<4x8xf32>, vector<8xf32>
      scf.reduce
    }
    scf.parallel (%r) = (%c0) to (%c1) step (%c1) {
      %v = vector.gather %flat[%c0] [%at], %all, %zeros : memref<32xf32>, vector<8xi32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
      vector.store %v, %out[%b, %c0] : memref<2x8xf32>, vector<8xf32>
      scf.reduce
    }
    memref.dealloc %table : memref<4x8xf32>
    scf.reduce
  }
  return
}

// -----

// Two phases that neither write what the other accesses (a tile product's
// staging of its two inputs: global reads, writes of distinct shared tiles)
// need no barrier between them; the phase that reads both tiles does.
// CHECK-LABEL: func.func @independent_phases
// CHECK: gpu.launch
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: memref.store %{{.+}}, %[[A:[^\[]+]]
// CHECK-NOT: gpu.barrier
// CHECK: scf.for
// CHECK: memref.store %{{.+}}, %[[B:[^\[]+]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: memref.load %[[A]]
// CHECK: memref.load %[[B]]
// CHECK: gpu.barrier
func.func @independent_phases(%x: memref<2x64xf32>, %y: memref<2x64xf32>, %out: memref<2x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %ta = memref.alloc() : memref<64xf32>
    %tb = memref.alloc() : memref<64xf32>
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %x[%b, %i] : memref<2x64xf32>
      memref.store %v, %ta[%i] : memref<64xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %y[%b, %i] : memref<2x64xf32>
      memref.store %v, %tb[%i] : memref<64xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %j = arith.subi %c64, %i : index
      %k = arith.subi %j, %c1 : index
      %u = memref.load %ta[%k] : memref<64xf32>
      %v = memref.load %tb[%k] : memref<64xf32>
      %s = arith.addf %u, %v : f32
      memref.store %s, %out[%b, %i] : memref<2x64xf32>
      scf.reduce
    }
    memref.dealloc %ta : memref<64xf32>
    memref.dealloc %tb : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// A barrier orders everything since the last one kept: the third phase,
// independent of the second but reading what the first wrote, keeps the
// barrier before it.
// CHECK-LABEL: func.func @chained_phases
// CHECK: gpu.launch
// CHECK: memref.store %{{.+}}, %[[A:[^\[]+]]
// CHECK-NOT: gpu.barrier
// CHECK: memref.store %{{.+}}, %[[B:[^\[]+]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[A]]
func.func @chained_phases(%x: memref<2x64xf32>, %out: memref<2x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %ta = memref.alloc() : memref<64xf32>
    %tb = memref.alloc() : memref<64xf32>
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %x[%b, %i] : memref<2x64xf32>
      memref.store %v, %ta[%i] : memref<64xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %x[%b, %i] : memref<2x64xf32>
      memref.store %v, %tb[%i] : memref<64xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %j = arith.subi %c64, %i : index
      %k = arith.subi %j, %c1 : index
      %u = memref.load %ta[%k] : memref<64xf32>
      memref.store %u, %out[%b, %i] : memref<2x64xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %u = memref.load %tb[%i] : memref<64xf32>
      memref.store %u, %out[%b, %i] : memref<2x64xf32>
      scf.reduce
    }
    memref.dealloc %ta : memref<64xf32>
    memref.dealloc %tb : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// Past the 48 KiB of static shared memory a block gets by default, a block's
// temporaries (four 16 KiB tiles here) are views of the launch's dynamic
// shared memory, 16-byte aligned, whose size the launch passes (the runtime
// opts the kernel in).
// CHECK-LABEL: func.func @large_tiles
// CHECK: %[[BYTES:.+]] = arith.constant 65536 : i32
// CHECK: gpu.launch {{.*}} dynamic_shared_memory_size %[[BYTES]]
// CHECK-NOT: workgroup(
// CHECK: %[[SHARED:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view %[[SHARED]][%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x64xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view %[[SHARED]][%c16384{{.*}}][]
// CHECK-DAG: memref.view %[[SHARED]][%c32768{{.*}}][]
// CHECK-DAG: memref.view %[[SHARED]][%c49152{{.*}}][]
// The views' byte ranges are told apart too: the phase that reads the tiles
// keeps its barrier after the phase that writes them.
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK: memref.load
func.func @large_tiles(%out: memref<2x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %t0 = memref.alloc() : memref<64x64xf32>
    %t1 = memref.alloc() : memref<64x64xf32>
    %t2 = memref.alloc() : memref<64x64xf32>
    %t3 = memref.alloc() : memref<64x64xf32>
    scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
      memref.store %one, %t0[%i, %j] : memref<64x64xf32>
      memref.store %one, %t1[%i, %j] : memref<64x64xf32>
      memref.store %one, %t2[%i, %j] : memref<64x64xf32>
      memref.store %one, %t3[%i, %j] : memref<64x64xf32>
      scf.reduce
    }
    scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
      %a = memref.load %t0[%i, %j] : memref<64x64xf32>
      %b2 = memref.load %t1[%j, %i] : memref<64x64xf32>
      %c = memref.load %t2[%i, %j] : memref<64x64xf32>
      %d = memref.load %t3[%j, %i] : memref<64x64xf32>
      %ab = arith.addf %a, %b2 : f32
      %cd = arith.addf %c, %d : f32
      %s = arith.addf %ab, %cd : f32
      memref.store %s, %out[%b, %i, %j] : memref<2x64x64xf32>
      scf.reduce
    }
    memref.dealloc %t0 : memref<64x64xf32>
    memref.dealloc %t1 : memref<64x64xf32>
    memref.dealloc %t2 : memref<64x64xf32>
    memref.dealloc %t3 : memref<64x64xf32>
    scf.reduce
  }
  return
}

// -----

// A warp-level loop holding parallel loops (accumulators a warp carries in
// registers across the block's staging phases) has one iteration per warp
// (4 for 128 threads): each warp runs its own, and the nested loops inside
// it are block phases shared by all threads, with barriers, not serial
// loops. Its warp-level region runs in every thread of the warp, not in
// thread 0 alone, though it writes memory.
// CHECK-LABEL: func.func @warp_phases
// CHECK: %[[WARP:.+]] = arith.divui %{{.+}}, %c32
// CHECK: scf.for %{{.+}} = %[[WARP]] to %c4{{.*}} step %{{.+}} {
// CHECK: scf.for %{{.+}} = %c0 to %c3 step %c1 {
// CHECK: gpu.barrier
// CHECK: scf.for %{{.+}} = %{{.+}} to %c64{{.*}} step %block_dim_x {
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK-NOT: arith.cmpi eq
// CHECK: scf.execute_region no_inline {
// CHECK: vector.transfer_write
// CHECK: } {infini.warp_level}
func.func @warp_phases(%out: memref<2x4x16x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %tile = memref.alloc() : memref<64xf32>
    scf.parallel (%w) = (%c0) to (%c4) step (%c1) {
      scf.for %s = %c0 to %c3 step %c1 {
        scf.parallel (%e) = (%c0) to (%c64) step (%c1) {
          memref.store %zero, %tile[%e] : memref<64xf32>
          scf.reduce
        }
        scf.execute_region no_inline {
          %v = vector.transfer_read %tile[%c0], %zero {in_bounds = [true]} : memref<64xf32>, vector<8xf32>
          %t = vector.broadcast %v : vector<8xf32> to vector<16x8xf32>
          vector.transfer_write %t, %out[%b, %w, %c0, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<2x4x16x8xf32>
          scf.yield
        } {infini.warp_level}
      }
      scf.reduce
    } {infini.warp_level}
    memref.dealloc %tile : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// Such a loop sets the block's size, one warp per iteration (here 2 warps,
// not block-size's 4); another with other than one iteration per warp
// would leave warps out of the barriers inside it.
func.func @warp_phases_mismatch(%out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    scf.parallel (%w) = (%c0) to (%c2) step (%c1) {
      scf.parallel (%e) = (%c0) to (%c64) step (%c1) {
        memref.store %zero, %out[%e] : memref<64xf32>
        scf.reduce
      }
      scf.reduce
    } {infini.warp_level}
    // expected-error @below {{holds parallel loops; in a GPU block of 64 threads it must be a warp-level loop of 2 iterations}}
    scf.parallel (%w) = (%c0) to (%c4) step (%c1) {
      scf.parallel (%e) = (%c0) to (%c64) step (%c1) {
        memref.store %zero, %out[%e] : memref<64xf32>
        scf.reduce
      }
      scf.reduce
    } {infini.warp_level}
    scf.reduce
  }
  return
}

// -----

// Host code that touches memory outside any parallel loop (a zero-rank op,
// a serial loop) runs in a launch of one thread.
// CHECK-LABEL: func.func @host_access
// CHECK: gpu.launch {{.*}} function(@host_access_kernel_0_reduction)
// CHECK: scf.for
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK: gpu.launch {{.*}} function(@host_access_kernel_1_elementwise)
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK: return
func.func @host_access(%a: memref<4xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  scf.for %i = %c1 to %c4 step %c1 {
    %p = arith.subi %i, %c1 : index
    %v = memref.load %a[%p] : memref<4xf32>
    memref.store %v, %a[%i] : memref<4xf32>
  }
  memref.store %one, %s[] : memref<f32>
  return
}

// -----

func.func @host_needs_value(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{reads device memory into a value the host needs}}
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @reduction(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{with reductions cannot be launched on the GPU}}
  %r = scf.parallel (%i) = (%c0) to (%c4) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i] : memref<4xf32>
    scf.reduce (%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      scf.reduce.return %s : f32
    }
  }
  return %r : f32
}

// -----

func.func @dynamic_temporary(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    // expected-error @+1 {{inside a parallel loop needs a static shape}}
    %tmp = memref.alloc(%n) : memref<?xf32>
    memref.dealloc %tmp : memref<?xf32>
    scf.reduce
  }
  return
}
