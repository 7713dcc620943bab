// RUN: infini-opt %s --infini-emulate-gpu | FileCheck %s

// A kernel's dynamic shared memory becomes a host buffer of the launch's
// size, and its typed views views of that buffer, outside any memory space.
// CHECK-LABEL: func.func @launch
// CHECK: %[[HOST:.+]] = memref.alloca() : memref<65536xi8>
// CHECK: %[[BYTES:.+]] = memref.cast %[[HOST]] : memref<65536xi8> to memref<?xi8>
// CHECK: scf.for
// CHECK: %[[TILE:.+]] = memref.view %[[BYTES]][%{{.+}}][] : memref<?xi8> to memref<64x64xf32>
// CHECK: memref.store %{{.+}}, %[[TILE]]
// CHECK: memref.load %[[TILE]]
// CHECK-NOT: gpu.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @tiles(%out: memref<64x64xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c16384 = arith.constant 16384 : index
      %one = arith.constant 1.0 : f32
      %bytes = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %tile = memref.view %bytes[%c16384][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x64xf32, #gpu.address_space<workgroup>>
      %tid = gpu.thread_id x
      memref.store %one, %tile[%tid, %c0] : memref<64x64xf32, #gpu.address_space<workgroup>>
      %v = memref.load %tile[%tid, %c0] : memref<64x64xf32, #gpu.address_space<workgroup>>
      memref.store %v, %out[%tid, %c0] : memref<64x64xf32>
      gpu.return
    }
  }
  func.func @launch(%out: memref<64x64xf32>) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %bytes = arith.constant 65536 : i32
    gpu.launch_func @kernels::@tiles blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        dynamic_shared_memory_size %bytes args(%out : memref<64x64xf32>)
    return
  }
}
