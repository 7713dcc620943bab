// RUN: infini-opt %s --pass-pipeline='builtin.module(gpu.module(infini-gpu-subgroup-reduce-to-shuffles))' | FileCheck %s

// A warp's f32 sum becomes five butterfly shuffles over 32 lanes (offsets
// 1, 2, 4, 8, 16), each followed by the combining op.
// CHECK-LABEL: gpu.func @sum
// CHECK-NOT: gpu.subgroup_reduce
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: arith.addf
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @sum(%x: f32, %out: memref<f32>) kernel {
      %total = gpu.subgroup_reduce add %x uniform : (f32) -> f32
      memref.store %total, %out[] : memref<f32>
      gpu.return
    }
  }
}
