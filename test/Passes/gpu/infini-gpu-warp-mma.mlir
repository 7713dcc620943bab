// RUN: infini-opt %s --pass-pipeline='builtin.module(gpu.module(infini-gpu-warp-mma,canonicalize,cse))' -split-input-file -verify-diagnostics | FileCheck %s

// A warp-level region's tile reads become per-lane fragment loads (ldmatrix
// from shared memory for the f16 operands, the second transposed; vector
// loads for the f32 accumulators), its contraction mma.sync m16n8k16, its
// write per-lane stores; the region is inlined. The kernel's other integer
// arithmetic is left alone. Its shared buffers are aligned to 16 bytes, as
// ldmatrix's row addresses must be.
// CHECK-LABEL: gpu.func @tile
// CHECK-SAME: workgroup(%{{.+}} : memref<64x72xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.+}} : memref<64x72xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.+}} : memref<64x72xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: arith.muli
// CHECK: gpu.lane_id
// CHECK-DAG: vector.load %{{.+}} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK-DAG: nvgpu.ldmatrix %{{.+}} {numTiles = 4 : i32, transpose = false} : memref<64x72xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK-DAG: nvgpu.ldmatrix %{{.+}} {numTiles = 2 : i32, transpose = true} : memref<64x72xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
// CHECK: nvgpu.mma.sync(%{{.+}}, %{{.+}}, %{{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: vector.store %{{.+}} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK-NOT: vector.contract
// CHECK-NOT: scf.execute_region
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @tile(%out: memref<64xindex>, %i: index, %j: index)
        workgroup(%lhs: memref<64x72xf16, #gpu.address_space<workgroup>>,
                  %rhs: memref<64x72xf16, #gpu.address_space<workgroup>>,
                  %acc: memref<64x72xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %product = arith.muli %i, %j : index
      memref.store %product, %out[%c0] : memref<64xindex>
      scf.execute_region no_inline {
        %zero16 = arith.constant 0.0 : f16
        %zero32 = arith.constant 0.0 : f32
        %row = affine.apply affine_map<(d0) -> (d0 * 16)>(%i)
        %column = affine.apply affine_map<(d0) -> (d0 * 8)>(%j)
        %0 = vector.transfer_read %acc[%row, %column], %zero32 {in_bounds = [true, true]} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<16x8xf32>
        %1 = vector.transfer_read %lhs[%row, %c0], %zero16 {in_bounds = [true, true]} : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<16x16xf16>
        %2 = vector.transfer_read %rhs[%c0, %column], %zero16 {in_bounds = [true, true]} : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<16x8xf16>
        %3 = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %1, %2, %0 : vector<16x16xf16>, vector<16x8xf16> into vector<16x8xf32>
        vector.transfer_write %3, %acc[%row, %column] {in_bounds = [true, true]} : vector<16x8xf32>, memref<64x72xf32, #gpu.address_space<workgroup>>
        scf.yield
      } {infini.warp_level}
      gpu.return
    }
  }
}

// -----

// A contraction the conversion cannot distribute is an error, not a
// silently scalar (and per-lane redundant) product.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @odd_shape(%out: memref<4x4xf32>) kernel {
      scf.execute_region no_inline {
        %c0 = arith.constant 0 : index
        %x = arith.constant dense<1.0> : vector<4x4xf16>
        %y = arith.constant dense<1.0> : vector<4x4xf16>
        %z = arith.constant dense<0.0> : vector<4x4xf32>
        // expected-error @below {{could not be lowered to mma.sync}}
        %0 = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %x, %y, %z : vector<4x4xf16>, vector<4x4xf16> into vector<4x4xf32>
        vector.store %0, %out[%c0, %c0] : memref<4x4xf32>, vector<4x4xf32>
        scf.yield
      } {infini.warp_level}
      gpu.return
    }
  }
}

// -----

// A bf16 region is converted as f16 through f16 views of its tiles (ldmatrix
// moves 16-bit words; the fragments of the two types are laid out alike),
// and its mma.sync is then the bf16 one on the same 32-bit registers.
// CHECK-LABEL: gpu.func @bf16_tile
// CHECK: %[[VIEW:.+]] = builtin.unrealized_conversion_cast %{{.+}} : memref<64x72xbf16, #gpu.address_space<workgroup>> to memref<64x72xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.ldmatrix %[[VIEW]]
// CHECK: vector.bitcast %{{.+}} : vector<2xf16> to vector<1xi32>
// CHECK: nvvm.mma.sync A[{{.+}}] B[{{.+}}] C[{{.+}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: nvgpu.mma.sync
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @bf16_tile(%i: index, %j: index)
        workgroup(%lhs: memref<64x72xbf16, #gpu.address_space<workgroup>>,
                  %rhs: memref<64x72xbf16, #gpu.address_space<workgroup>>,
                  %acc: memref<64x72xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      scf.execute_region no_inline {
        %zero16 = arith.constant 0.0 : bf16
        %zero32 = arith.constant 0.0 : f32
        %row = affine.apply affine_map<(d0) -> (d0 * 16)>(%i)
        %column = affine.apply affine_map<(d0) -> (d0 * 8)>(%j)
        %0 = vector.transfer_read %acc[%row, %column], %zero32 {in_bounds = [true, true]} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<16x8xf32>
        %1 = vector.transfer_read %lhs[%row, %c0], %zero16 {in_bounds = [true, true]} : memref<64x72xbf16, #gpu.address_space<workgroup>>, vector<16x16xbf16>
        %2 = vector.transfer_read %rhs[%c0, %column], %zero16 {in_bounds = [true, true]} : memref<64x72xbf16, #gpu.address_space<workgroup>>, vector<16x8xbf16>
        %3 = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %1, %2, %0 : vector<16x16xbf16>, vector<16x8xbf16> into vector<16x8xf32>
        vector.transfer_write %3, %acc[%row, %column] {in_bounds = [true, true]} : vector<16x8xf32>, memref<64x72xf32, #gpu.address_space<workgroup>>
        scf.yield
      } {infini.warp_level}
      gpu.return
    }
  }
}

// -----

// Accumulators carried in registers: a loop over slices carries the warp's
// 16 x 8 tiles (zero at first) through a region that updates them (its
// k-steps a loop, unrolled here) and yields them; after the loop a region
// writes them. The loop then carries each lane's fragment (vector<2x2xf32>),
// the region's stand-in for it becomes that fragment, each yielded product
// its mma.sync, and the write goes through a product of zeros, which
// upstream's per-lane stores take.
// CHECK-LABEL: gpu.func @carried
// CHECK: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : vector<2x2xf32>
// CHECK: %[[ACC:.+]] = scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[CARRIED:.+]] = %[[ZERO]]) -> (vector<2x2xf32>)
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK: %[[NEXT:.+]] = scf.execute_region -> vector<2x2xf32> no_inline {
// CHECK: %[[FIRST:.+]] = nvgpu.mma.sync(%{{.+}}, %{{.+}}, %[[CARRIED]])
// CHECK: %[[SECOND:.+]] = nvgpu.mma.sync(%{{.+}}, %{{.+}}, %[[FIRST]])
// CHECK: scf.yield %[[SECOND]] : vector<2x2xf32>
// CHECK: scf.yield %[[NEXT]] : vector<2x2xf32>
// CHECK: nvgpu.mma.sync(%{{.+}}, %{{.+}}, %[[ACC]])
// CHECK: vector.store %{{.+}} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK-NOT: vector.contract
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @carried(%in: memref<64xf16>, %i: index, %j: index)
        workgroup(%lhs: memref<64x72xf16, #gpu.address_space<workgroup>>,
                  %rhs: memref<64x72xf16, #gpu.address_space<workgroup>>,
                  %out: memref<64x72xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c16 = arith.constant 16 : index
      %c32 = arith.constant 32 : index
      %c128 = arith.constant 128 : index
      %zero = arith.constant dense<0.0> : vector<16x8xf32>
      %acc = scf.for %slice = %c0 to %c128 step %c32 iter_args(%carried = %zero) -> (vector<16x8xf32>) {
        %v = memref.load %in[%slice] : memref<64xf16>
        memref.store %v, %lhs[%slice, %c0] : memref<64x72xf16, #gpu.address_space<workgroup>>
        gpu.barrier
        %next = scf.execute_region -> vector<16x8xf32> no_inline {
          %zero16 = arith.constant 0.0 : f16
          %row = affine.apply affine_map<(d0) -> (d0 * 16)>(%i)
          %column = affine.apply affine_map<(d0) -> (d0 * 8)>(%j)
          %steps = scf.for %k = %c0 to %c32 step %c16 iter_args(%a = %carried) -> (vector<16x8xf32>) {
            %x = vector.transfer_read %lhs[%row, %k], %zero16 {in_bounds = [true, true]} : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<16x16xf16>
            %y = vector.transfer_read %rhs[%k, %column], %zero16 {in_bounds = [true, true]} : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<16x8xf16>
            %p = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %x, %y, %a : vector<16x16xf16>, vector<16x8xf16> into vector<16x8xf32>
            scf.yield %p : vector<16x8xf32>
          }
          scf.yield %steps : vector<16x8xf32>
        } {infini.warp_level}
        scf.yield %next : vector<16x8xf32>
      }
      scf.execute_region no_inline {
        %row = affine.apply affine_map<(d0) -> (d0 * 16)>(%i)
        %column = affine.apply affine_map<(d0) -> (d0 * 8)>(%j)
        vector.transfer_write %acc, %out[%row, %column] {in_bounds = [true, true]} : vector<16x8xf32>, memref<64x72xf32, #gpu.address_space<workgroup>>
        scf.yield
      } {infini.warp_level}
      gpu.return
    }
  }
}

// -----

// TF32 parts (tensor-cores=tf32x3): f32 tiles of 16 x 8 by 8 x 8 become
// m16n8k8 products marked tf32Enabled, the left tile read by ldmatrix as
// 16-bit halves (four 8 x 8 matrices of them), the right element by element.
// CHECK-LABEL: gpu.func @tf32_tile
// CHECK: nvgpu.ldmatrix %{{.+}} {numTiles = 4 : i32, transpose = false} : memref<64x36xf32, #gpu.address_space<workgroup>> -> vector<4x1xf32>
// CHECK-COUNT-2: memref.load %{{.+}} : memref<32x72xf32, #gpu.address_space<workgroup>>
// CHECK: nvgpu.mma.sync(%{{.+}}, %{{.+}}, %{{.+}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-NOT: vector.contract
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @tf32_tile(%i: index, %j: index)
        workgroup(%lhs: memref<64x36xf32, #gpu.address_space<workgroup>>,
                  %rhs: memref<32x72xf32, #gpu.address_space<workgroup>>,
                  %acc: memref<64x72xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      scf.execute_region no_inline {
        %zero = arith.constant 0.0 : f32
        %row = affine.apply affine_map<(d0) -> (d0 * 16)>(%i)
        %column = affine.apply affine_map<(d0) -> (d0 * 8)>(%j)
        %0 = vector.transfer_read %acc[%row, %column], %zero {in_bounds = [true, true]} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<16x8xf32>
        %1 = vector.transfer_read %lhs[%row, %c0], %zero {in_bounds = [true, true]} : memref<64x36xf32, #gpu.address_space<workgroup>>, vector<16x8xf32>
        %2 = vector.transfer_read %rhs[%c0, %column], %zero {in_bounds = [true, true]} : memref<32x72xf32, #gpu.address_space<workgroup>>, vector<8x8xf32>
        %3 = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %1, %2, %0 : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
        vector.transfer_write %3, %acc[%row, %column] {in_bounds = [true, true]} : vector<16x8xf32>, memref<64x72xf32, #gpu.address_space<workgroup>>
        scf.yield
      } {infini.warp_level}
      gpu.return
    }
  }
}

// -----

// A vector from outside a region that is not an accumulator carried by a
// loop from a splat is an error.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @foreign(%z: vector<16x8xf32>, %out: memref<64x72xf32>) kernel {
      // expected-error @below {{reads a vector from outside that is not a splat-initialized loop-carried accumulator}}
      scf.execute_region no_inline {
        %c0 = arith.constant 0 : index
        vector.transfer_write %z, %out[%c0, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<64x72xf32>
        scf.yield
      } {infini.warp_level}
      gpu.return
    }
  }
}
