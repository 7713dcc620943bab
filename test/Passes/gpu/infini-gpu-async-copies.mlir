// RUN: infini-opt %s --pass-pipeline='builtin.module(gpu.module(infini-gpu-async-copies))' | FileCheck %s

// A 16-byte vector loaded from global memory and stored to shared memory,
// selected against zeros by a scalar condition (a row past the segment),
// becomes a cp.async whose source size is that condition's (zero fill);
// one stored as it is, a full copy. Every barrier, and the return, first
// commits the thread's copies and waits for them.
// CHECK-LABEL: gpu.func @stage
// CHECK-SAME: (%[[SRC:.+]]: memref<64x32xf16>, %[[ROW:.+]]: index, %[[VALID:.+]]: i1, %[[F32:.+]]: memref<64x32xf32>)
// CHECK: %[[SIZE:.+]] = arith.select %[[VALID]], %c8{{.*}}, %c0{{.*}} : index
// CHECK: nvgpu.device_async_copy %[[SRC]][%[[ROW]], %c0], %[[TILE:.+]][%c0, %c8], 8, %[[SIZE]] {bypassL1} : memref<64x32xf16> to memref<16x40xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %[[F32]][%[[ROW]], %c0], %{{.+}}[%c0, %c0], 4 {bypassL1} : memref<64x32xf32> to memref<16x36xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: vector.store
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK: vector.load %[[TILE]]
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @stage(%src: memref<64x32xf16>, %row: index, %valid: i1,
                    %src32: memref<64x32xf32>) workgroup(%tile: memref<16x40xf16, #gpu.address_space<workgroup>>, %tile32: memref<16x36xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %zeros = arith.constant dense<0.0> : vector<8xf16>
      %v = vector.load %src[%row, %c0] : memref<64x32xf16>, vector<8xf16>
      %s = arith.select %valid, %v, %zeros : vector<8xf16>
      vector.store %s, %tile[%c0, %c8] : memref<16x40xf16, #gpu.address_space<workgroup>>, vector<8xf16>
      %w = vector.load %src32[%row, %c0] : memref<64x32xf32>, vector<4xf32>
      vector.store %w, %tile32[%c0, %c0] : memref<16x36xf32, #gpu.address_space<workgroup>>, vector<4xf32>
      gpu.barrier
      %r = vector.load %tile[%c0, %c0] : memref<16x40xf16, #gpu.address_space<workgroup>>, vector<8xf16>
      vector.store %r, %src[%row, %c8] : memref<64x32xf16>, vector<8xf16>
      gpu.return
    }

    // Stores that stay: of a converted value, of a value selected against
    // something other than zeros, of a value loaded before a write, to
    // global memory, and of 2 bytes. The kernel then has no copies to wait
    // for.
    // CHECK-LABEL: gpu.func @kept
    // CHECK-NOT: nvgpu.device_async_copy
    // CHECK-NOT: nvvm.cp.async
    gpu.func @kept(%src: memref<64x32xf32>, %half: memref<64x32xf16>, %valid: i1,
                   %out: memref<64x32xf16>) workgroup(%tile: memref<16x40xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %ones = arith.constant dense<1.0> : vector<8xf16>
      %wide = vector.load %src[%c0, %c0] : memref<64x32xf32>, vector<8xf32>
      %narrow = arith.truncf %wide : vector<8xf32> to vector<8xf16>
      vector.store %narrow, %tile[%c0, %c0] : memref<16x40xf16, #gpu.address_space<workgroup>>, vector<8xf16>
      %v = vector.load %half[%c0, %c0] : memref<64x32xf16>, vector<8xf16>
      %s = arith.select %valid, %v, %ones : vector<8xf16>
      vector.store %s, %tile[%c0, %c8] : memref<16x40xf16, #gpu.address_space<workgroup>>, vector<8xf16>
      %u = vector.load %half[%c8, %c0] : memref<64x32xf16>, vector<8xf16>
      vector.store %ones, %half[%c8, %c0] : memref<64x32xf16>, vector<8xf16>
      vector.store %u, %tile[%c0, %c16] : memref<16x40xf16, #gpu.address_space<workgroup>>, vector<8xf16>
      %g = vector.load %half[%c16, %c0] : memref<64x32xf16>, vector<8xf16>
      vector.store %g, %out[%c16, %c0] : memref<64x32xf16>, vector<8xf16>
      %one = vector.load %half[%c16, %c8] : memref<64x32xf16>, vector<1xf16>
      vector.store %one, %tile[%c8, %c0] : memref<16x40xf16, #gpu.address_space<workgroup>>, vector<1xf16>
      gpu.barrier
      gpu.return
    }
  }
}
