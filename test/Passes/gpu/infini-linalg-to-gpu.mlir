// RUN: infini-opt %s --infini-linalg-to-gpu | FileCheck %s

// Stage 2 of infini-to-gpu on a projection as stage 1 emits it: the step
// keeps the CPU calling convention (C interface, result as an out-parameter),
// its temporary lives in device memory, every loop is a kernel in the one
// gpu.module, and the host only allocates, launches and waits.

#x = affine_map<(b, t, o, i) -> (b, t, i)>
#wt = affine_map<(b, t, o, i) -> (i, o)>
#y = affine_map<(b, t, o, i) -> (b, t, o)>

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x16x8xf32> {infini.input}, %{{[^:]+}}: i64 {infini.position}, %[[W:[^:]+]]: memref<64x8xf32> {infini.weight = "proj"}, %[[OUT:[^:]+]]: memref<?x16x64xf32> {infini.output})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK-NOT: memref.load
// CHECK-NOT: memref.store
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.
// CHECK: %[[T0:.+]] = gpu.wait async
// CHECK: %[[WT:[^,]+]], %[[T1:.+]] = gpu.alloc async [%[[T0]]] () : memref<8x64xf32>
// CHECK: %[[T2:.+]] = gpu.launch_func async [%[[T1]]] @infini_kernels::@step_kernel_0_elementwise blocks in ({{.*}}) threads in (%c256, %c1, %c1) args(%[[W]] : memref<64x8xf32>, %[[WT]] : memref<8x64xf32>)
// CHECK: %[[T3:.+]] = gpu.launch_func async [%[[T2]]] @infini_kernels::@step_kernel_1_matmul
// CHECK-SAME: %[[X]] : memref<?x16x8xf32>, %[[WT]] : memref<8x64xf32>, %[[OUT]] : memref<?x16x64xf32>
// CHECK: %[[T4:.+]] = gpu.dealloc async [%[[T3]]] %[[WT]]
// CHECK-NEXT: gpu.wait [%[[T4]]]
// CHECK-NEXT: return{{$}}

// The kernels: one thread per element of the transpose, one per 4x4
// register tile of the product, its reduction a loop carrying the tile. The
// zero fill of the output is no kernel of its own: the tile starts from
// zero, and the output is only stored.
// CHECK: gpu.module @infini_kernels
// CHECK: gpu.func @step_kernel_0_elementwise
// CHECK-SAME: kernel
// CHECK: gpu.block_id x
// CHECK: gpu.thread_id x
// CHECK: scf.if
// CHECK: gpu.func @step_kernel_1_matmul
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: memref.load %arg3
// CHECK: scf.for {{.*}} iter_args({{.*}} = %[[ZERO]], {{.*}} = %[[ZERO]], {{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-16: arith.mulf
// CHECK: scf.yield
// CHECK-COUNT-16: memref.store
func.func @step(%x: tensor<?x16x8xf32> {infini.input}, %pos: i64 {infini.position},
                %w: tensor<64x8xf32> {infini.weight = "proj"})
    -> (tensor<?x16x64xf32> {infini.output}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x16x8xf32>
  %e = tensor.empty() : tensor<8x64xf32>
  %wt = linalg.transpose ins(%w : tensor<64x8xf32>) outs(%e : tensor<8x64xf32>)
      permutation = [1, 0]
  %init = tensor.empty(%b) : tensor<?x16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<?x16x64xf32>)
      -> tensor<?x16x64xf32>
  %y = linalg.contract indexing_maps = [#x, #wt, #y]
      ins(%x, %wt : tensor<?x16x8xf32>, tensor<8x64xf32>)
      outs(%acc : tensor<?x16x64xf32>) -> tensor<?x16x64xf32>
  return %y : tensor<?x16x64xf32>
}
