// REQUIRES: ptxas
// RUN: infini-opt %s --infini-to-gpu='format=isa toolkit=%cuda_toolkit' > %t.mlir
// RUN: FileCheck %s < %t.mlir
// RUN: FileCheck %s --check-prefix=BIN < %t.mlir
// RUN: %extract_ptx %t.mlir --out-dir %t.ptx --ptxas %ptxas --arch sm_80 --arch sm_90 | FileCheck %s --check-prefix=PTX
// RUN: infini-opt %s --infini-to-gpu='format=isa chip=sm_90 fuse-attention=1 toolkit=%cuda_toolkit' > %t.sm90.mlir
// RUN: FileCheck %s --check-prefix=SM90 < %t.sm90.mlir
// RUN: %extract_ptx %t.sm90.mlir --out-dir %t.sm90.ptx --ptxas %ptxas --arch sm_90 | FileCheck %s --check-prefix=PTX90
// RUN: infini-opt %s --infini-to-gpu='toolkit=%cuda_toolkit' | FileCheck %s --check-prefix=FATBIN

// One whole block (RMSNorm, projections, RoPE, CoPE, local attention,
// compressive memory with the delta rule, SwiGLU), as infini-translate
// imports it, lowers to host code in the LLVM dialect that only launches
// kernels, plus one gpu.binary; the PTX assembles for sm_80 and sm_90, with
// and without the fused attention.

// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-NOT: = infini.
// CHECK-NOT: {{^ *(%[^ ]+ = )?(affine|arith|bufferization|cf|func|math|scf|ub|vector)\.}}
// CHECK: llvm.func @step_prepare(
// CHECK: gpu.launch_func
// CHECK: llvm.func @_mlir_ciface_step_prepare(
// CHECK: llvm.func @step(
// CHECK: llvm.call @mgpuStreamCreate
// CHECK: gpu.launch_func
// CHECK: llvm.call @mgpuStreamSynchronize
// CHECK: llvm.func @_mlir_ciface_step(%{{.+}}: !llvm.ptr {infini.input}, %{{.+}}: i64 {infini.position}, %{{.+}}: i64 {infini.valid_length}, %{{.+}}: !llvm.ptr {infini.state = "layers.0.memory"}
// CHECK: llvm.call @step(
// CHECK-NOT: linalg.
// CHECK-NOT: memref.

// BIN: gpu.binary @infini_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, {{.*}}assembly = "

// PTX: ptx infini_kernels sm_80
// PTX-NEXT: assembled infini_kernels for sm_80
// PTX-NEXT: assembled infini_kernels for sm_90

// SM90: gpu.binary @infini_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// PTX90: ptx infini_kernels sm_90
// PTX90-NEXT: assembled infini_kernels for sm_90

// FATBIN: gpu.binary @infini_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, properties = {ISAToBinaryTimeInMs

func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %mem: tensor<?x2x4x4xf32> {infini.state = "layers.0.memory"},
                %norm: tensor<?x2x4xf32> {infini.state = "layers.0.norm"},
                %attn_norm: tensor<8xf32> {infini.weight = "layers.0.attn_norm.weight"},
                %wq: tensor<8x8xf32> {infini.weight = "layers.0.attn.q_proj.weight"},
                %wk: tensor<8x8xf32> {infini.weight = "layers.0.attn.k_proj.weight"},
                %wv: tensor<8x8xf32> {infini.weight = "layers.0.attn.v_proj.weight"},
                %cope: tensor<4x3xf32> {infini.weight = "layers.0.attn.cope_pos_emb"},
                %gate: tensor<2xf32> {infini.weight = "layers.0.attn.memory_gate"},
                %wo: tensor<8x8xf32> {infini.weight = "layers.0.attn.o_proj.weight"},
                %ffn_norm: tensor<8xf32> {infini.weight = "layers.0.ffn_norm.weight"},
                %wg: tensor<12x8xf32> {infini.weight = "layers.0.ffn.gate_proj.weight"},
                %wu: tensor<12x8xf32> {infini.weight = "layers.0.ffn.up_proj.weight"},
                %wd: tensor<8x12xf32> {infini.weight = "layers.0.ffn.down_proj.weight"})
    -> (tensor<?x4x8xf32> {infini.output},
        tensor<?x2x4x4xf32> {infini.state = "layers.0.memory"},
        tensor<?x2x4xf32> {infini.state = "layers.0.norm"}) {
  %h = infini.rmsnorm %x, %attn_norm : tensor<?x4x8xf32>, tensor<8xf32>
  %q0 = infini.linear %h, %wq : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %q = infini.split_heads %q0 : tensor<?x4x8xf32> -> tensor<?x2x4x4xf32>
  %k0 = infini.linear %h, %wk : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %k = infini.split_heads %k0 : tensor<?x4x8xf32> -> tensor<?x2x4x4xf32>
  %v0 = infini.linear %h, %wv : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %v = infini.split_heads %v0 : tensor<?x4x8xf32> -> tensor<?x2x4x4xf32>
  %qr = infini.rope %q at %pos {layout = #infini.rope_layout<interleaved>} : tensor<?x2x4x4xf32>
  %kr = infini.rope %k at %pos {layout = #infini.rope_layout<interleaved>} : tensor<?x2x4x4xf32>
  %bias = infini.cope %qr, %kr, %cope
      : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<4x3xf32> -> tensor<?x2x4x4xf32>
  %local = infini.local_attention %qr, %kr, %v bias %bias
      : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>
  %read = infini.memory_retrieve %q, %mem, %norm
      : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4xf32>
  %mixed = infini.memory_gate %read, %local, %gate : tensor<?x2x4x4xf32>, tensor<2xf32>
  %new_mem, %new_norm = infini.memory_update %k, %v, %mem, %norm valid %valid
      {mode = #infini.memory_update<delta>}
      : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4xf32>
  %merged = infini.merge_heads %mixed : tensor<?x2x4x4xf32> -> tensor<?x4x8xf32>
  %o = infini.linear %merged, %wo : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %x1 = arith.addf %x, %o : tensor<?x4x8xf32>
  %f = infini.rmsnorm %x1, %ffn_norm : tensor<?x4x8xf32>, tensor<8xf32>
  %ff = infini.swiglu %f, %wg, %wu, %wd
      : tensor<?x4x8xf32>, tensor<12x8xf32>, tensor<12x8xf32>, tensor<8x12xf32>
  %y = arith.addf %x1, %ff : tensor<?x4x8xf32>
  return %y, %new_mem, %new_norm : tensor<?x4x8xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4xf32>
}
