// REQUIRES: ptxas
// RUN: infini-opt %s --infini-linalg-to-gpu --infini-gpu-to-llvm='toolkit=%cuda_toolkit' | FileCheck %s
// RUN: infini-opt %s --infini-linalg-to-gpu --infini-gpu-to-llvm='format=isa toolkit=%cuda_toolkit' | FileCheck %s --check-prefix=ISA

// Stage 3 of infini-to-gpu: the kernels become one gpu.binary (a fatbin by
// default: a cubin for the chip plus PTX), the host code the LLVM dialect
// calling MLIR's mgpu* wrappers, with the C interface the runtime calls.

// CHECK-NOT: memref.
// CHECK-NOT: gpu.module
// CHECK: llvm.func @step(
// CHECK: llvm.call @mgpuStreamCreate() : () -> !llvm.ptr
// CHECK: llvm.call @mgpuMemAlloc({{.*}}) : (i64, !llvm.ptr, i8) -> !llvm.ptr
// CHECK: gpu.launch_func <%{{.+}} : !llvm.ptr> @infini_kernels::@step_kernel_0_elementwise
// CHECK: llvm.call @mgpuMemFree({{.*}}) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.call @mgpuStreamSynchronize(%{{.+}}) : (!llvm.ptr) -> ()
// CHECK: llvm.call @mgpuStreamDestroy(%{{.+}}) : (!llvm.ptr) -> ()
// CHECK: llvm.return
// CHECK: llvm.func @_mlir_ciface_step(%{{.+}}: !llvm.ptr {infini.input}, %{{.+}}: i64 {infini.position}, %{{.+}}: !llvm.ptr {infini.weight = "proj"}, %{{.+}}: !llvm.ptr {infini.output})
// CHECK: gpu.binary @infini_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, properties = {{.*}}, "{{.+}}">]

// ISA: gpu.binary @infini_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, {{.*}}assembly = "{{.*}}.version 8.0\0A.target sm_80{{.*}}.visible .entry step_kernel_0_elementwise(

#x = affine_map<(b, t, o, i) -> (b, t, i)>
#wt = affine_map<(b, t, o, i) -> (i, o)>
#y = affine_map<(b, t, o, i) -> (b, t, o)>
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
