// RUN: infini-opt %s --infini-to-cpu | FileCheck %s
// RUN: infini-opt %s --infini-to-cpu='vectorize=false' | FileCheck %s --check-prefix=SCALAR

// One whole block (RMSNorm, projections, RoPE, CoPE, local attention,
// compressive memory with the delta rule, SwiGLU), as infini-translate
// imports it, lowers to the LLVM dialect (and, where matrix products run in
// parallel, the OpenMP ops that translate to LLVM IR with it): no linalg,
// tensor, memref, vector, scf, arith or infini op is left.

// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// CHECK-NOT: vector.
// CHECK-NOT: = infini.
// CHECK-NOT: {{^ *(%[^ ]+ = )?(affine|arith|bufferization|cf|func|math|scf|ub)\.}}
// CHECK: llvm.func @step(
// The angle table of RoPE stays in f64.
// CHECK: llvm.intr.cos({{.*}}) : (f64) -> f64
// Register tiles become vector FMAs.
// CHECK: llvm.intr.fmuladd({{.*}}) : (vector<{{[0-9]+}}xf32>, vector<{{[0-9]+}}xf32>, vector<{{[0-9]+}}xf32>) -> vector<{{[0-9]+}}xf32>
// The packed C interface keeps the binding attributes for the runtime.
// CHECK: llvm.func @_mlir_ciface_step(%{{.+}}: !llvm.ptr {infini.input}, %{{.+}}: i64 {infini.position}, %{{.+}}: i64 {infini.valid_length}, %{{.+}}: !llvm.ptr {infini.state = "layers.0.memory"}
// CHECK: llvm.call @step(
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// CHECK-NOT: vector.
// CHECK-NOT: = infini.
// CHECK-NOT: {{^ *(%[^ ]+ = )?(affine|arith|bufferization|cf|func|math|scf|ub)\.}}

// Without vectorization the products are scalar loops.
// SCALAR: llvm.func @step(
// SCALAR-NOT: vector<
// SCALAR: llvm.func @_mlir_ciface_step(

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
