//===- InfiniOps.td - Ops of the infini dialect ----------------------------===//
//
// Each op's description numbers its constraints (C1, C2, ...); the verifier
// in InfiniOps.cpp tags the check that enforces each one.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_DIALECT_INFINIOPS_TD
#define INFINI_DIALECT_INFINIOPS_TD

include "dialect/InfiniDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Infini_F32Tensor : RankedTensorOf<[F32]>;
def Infini_IdTensor : RankedTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Embedding, projections, heads
//===----------------------------------------------------------------------===//

def Infini_EmbeddingOp : Infini_Op<"embedding", [Pure]> {
  let summary = "token-id lookup in an embedding table";
  let description = [{
    `result[b, t, :] = table[ids[b, t], :]`. Ids outside `[0, V)` are
    undefined behaviour here; the runtime rejects them before a step runs.

    Constraints: (C1) `ids` is `[B, T]`; (C2) `table` is `[V, D]`;
    (C3) the result is `[B, T, D]`.

    ```mlir
    %x = infini.embedding %ids, %table
        : tensor<?x32xi32>, tensor<1000x64xf32> -> tensor<?x32x64xf32>
    ```
  }];
  let arguments = (ins Infini_IdTensor:$ids, Infini_F32Tensor:$table);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` type($ids) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Infini_LinearOp : Infini_Op<"linear", [Pure]> {
  let summary = "projection y = x W^T with a [out, in] weight";
  let description = [{
    `result[b, t, o] = sum_i input[b, t, i] * weight[o, i]`, the layout of
    PyTorch's `nn.Linear` (no bias).

    Constraints: (C1) `input` is `[B, T, I]`; (C2) `weight` is `[O, I]` with
    the same `I`; (C3) the result is `[B, T, O]`.

    ```mlir
    %q = infini.linear %h, %wq
        : tensor<?x32x64xf32>, tensor<64x64xf32> -> tensor<?x32x64xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$input, Infini_F32Tensor:$weight);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Infini_SplitHeadsOp : Infini_Op<"split_heads", [Pure]> {
  let summary = "splits [B, T, H*Dh] into heads [B, H, T, Dh]";
  let description = [{
    `result[b, h, t, d] = input[b, t, h * Dh + d]`.

    Constraints: (C1) `input` is `[B, T, H*Dh]` with a static `H*Dh`; (C2)
    the result is `[B, H, T, Dh]` with the same `B` and `T` and static `H`
    and `Dh` whose product is the input's width.

    ```mlir
    %qh = infini.split_heads %q : tensor<?x32x64xf32> -> tensor<?x4x32x16xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$input);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Infini_MergeHeadsOp : Infini_Op<"merge_heads", [Pure]> {
  let summary = "concatenates heads [B, H, T, Dh] into [B, T, H*Dh]";
  let description = [{
    The inverse of `infini.split_heads`:
    `result[b, t, h * Dh + d] = input[b, h, t, d]`.

    Constraints: (C1) `input` is `[B, H, T, Dh]` with static `H` and `Dh`;
    (C2) the result is `[B, T, H*Dh]` with the same `B` and `T` and a static
    width `H*Dh`.

    ```mlir
    %a = infini.merge_heads %ah : tensor<?x4x32x16xf32> -> tensor<?x32x64xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$input);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization and feed-forward
//===----------------------------------------------------------------------===//

def Infini_RMSNormOp : Infini_Op<"rmsnorm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "root-mean-square normalization over the last dimension";
  let description = [{
    `result = input / sqrt(mean(input^2 over the last dim) + eps) * weight`.

    Constraints: (C1) `weight` is rank 1; (C2) its size equals the last
    dimension of `input`, which is static; (C3) `eps > 0`.

    ```mlir
    %h = infini.rmsnorm %x, %w {eps = 1.0e-05 : f64}
        : tensor<?x32x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$input, Infini_F32Tensor:$weight,
                   DefaultValuedAttr<F64Attr, "1.0e-5">:$eps);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Infini_SwiGLUOp : Infini_Op<"swiglu", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "SwiGLU feed-forward: (swish(x Wg^T) * (x Wu^T)) Wd^T";
  let description = [{
    `result = (swish_beta(input Wg^T) * (input Wu^T)) Wd^T` with
    `swish_beta(x) = x * sigmoid(beta * x)`; `beta = 1` is SiLU.

    Constraints: (C1) `input` is `[B, T, D]`; (C2) `gate_weight` and
    `up_weight` are `[F, D]`; (C3) `down_weight` is `[D, F]`.

    ```mlir
    %y = infini.swiglu %h, %wg, %wu, %wd {beta = 1.0 : f64}
        : tensor<?x32x64xf32>, tensor<172x64xf32>, tensor<172x64xf32>,
          tensor<64x172xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$input, Infini_F32Tensor:$gate_weight,
                   Infini_F32Tensor:$up_weight, Infini_F32Tensor:$down_weight,
                   DefaultValuedAttr<F64Attr, "1.0">:$beta);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $gate_weight `,` $up_weight `,` $down_weight attr-dict `:`
    type($input) `,` type($gate_weight) `,` type($up_weight) `,` type($down_weight)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Position encodings
//===----------------------------------------------------------------------===//

def Infini_RopeOp : Infini_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding of [B, H, T, Dh] heads";
  let description = [{
    Rotates feature pairs of token `t` at absolute position
    `pos = offset + t`. Pair `i` (of `rotary_dim / 2`) turns by the angle
    `(pos / scaling_factor) * theta^(-2i / rotary_dim)`:
    `(a, b) -> (a cos - b sin, b cos + a sin)`. With `layout` `half_split`
    pair `i` is features `(i, i + rotary_dim/2)` (Llama, NeoX); with
    `interleaved` it is `(2i, 2i+1)` (GPT-J, RoFormer). Features from
    `rotary_dim` on pass through. Angles are computed in f64 so positions in
    the millions keep full f32 accuracy. `rotary_dim` defaults to `Dh`.

    Constraints: (C1) `input` is `[B, H, T, Dh]`; (C2) `rotary_dim` is even,
    positive and at most `Dh`; (C3) `theta > 0`; (C4) `scaling_factor > 0`.

    ```mlir
    %qr = infini.rope %q at %offset {layout = #infini.rope_layout<interleaved>,
                                     rotary_dim = 8 : i64}
        : tensor<?x4x32x16xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$input, I64:$offset,
      DefaultValuedAttr<Infini_RopeLayoutAttr, "::infini::RopeLayout::HalfSplit">:$layout,
      DefaultValuedAttr<F64Attr, "10000.0">:$theta,
      OptionalAttr<I64Attr>:$rotary_dim,
      DefaultValuedAttr<F64Attr, "1.0">:$scaling_factor);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = "$input `at` $offset attr-dict `:` type($input)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of rotated features: `rotary_dim`, or `Dh` when absent.
    int64_t getRotaryDimOrDefault();
  }];
}

def Infini_CopeOp : Infini_Op<"cope", [Pure]> {
  let summary = "contextual position encoding: the attention logit bias";
  let description = [{
    Computes the CoPE bias that causal local attention adds to its logits
    (Golovneva et al. 2024, with SPEC's conventions). With
    `l_ij = q_i . k_j / sqrt(Dh)` for `j <= i`:
    gates `g_ij = sigmoid(l_ij)` (the diagonal counts, `g_ij = 0` above it),
    positions `p_ij = min(sum_{t=j..i} g_it, P-1)`, `z_i[n] = q_i . E[:, n]`,
    and `bias_ij = (1-w) z_i[floor p_ij] + w z_i[ceil p_ij]` with
    `w = p_ij - floor p_ij`. The bias is not scaled by `1/sqrt(Dh)`. Entries
    above the diagonal are 0 (attention masks them).

    Constraints: (C1) `query` and `key` are `[B, H, T, Dh]` of one type, with
    a static `Dh`; (C2) `pos_emb` is `[Dh, P]` with a static `P >= 1`; (C3)
    the result is `[B, H, T, T]`.

    ```mlir
    %bias = infini.cope %q, %k, %e
        : tensor<?x4x32x16xf32>, tensor<?x4x32x16xf32>, tensor<16x32xf32>
        -> tensor<?x4x32x32xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$query, Infini_F32Tensor:$key, Infini_F32Tensor:$pos_emb);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $pos_emb attr-dict `:` type($query) `,` type($key) `,`
    type($pos_emb) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention and compressive memory
//===----------------------------------------------------------------------===//

def Infini_LocalAttentionOp : Infini_Op<"local_attention",
    [Pure, AllTypesMatch<["query", "key", "value", "result"]>]> {
  let summary = "causal softmax attention within one segment";
  let description = [{
    `result_i = sum_{j <= i} softmax_j(scale * q_i . k_j + bias_ij) v_j`,
    with `scale = 1/sqrt(Dh)`. Tokens never attend across segments;
    compressive memory carries the past. The optional `bias` (for example
    from `infini.cope`) is added to the scaled logits before the softmax.

    Constraints: (C1) `query`, `key` and `value` are `[B, H, T, Dh]` of one
    type, with a static `Dh`; (C2) `bias`, when present, is `[B, H, T, T]`.

    ```mlir
    %a = infini.local_attention %q, %k, %v bias %b
        : tensor<?x4x32x16xf32>, tensor<?x4x32x32xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$query, Infini_F32Tensor:$key, Infini_F32Tensor:$value,
                   Optional<Infini_F32Tensor>:$bias);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`bias` $bias^)? attr-dict `:` type($query)
    (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
}

def Infini_MemoryRetrieveOp : Infini_Op<"memory_retrieve",
    [Pure, AllTypesMatch<["query", "result"]>]> {
  let summary = "reads compressive memory: s(Q) M / (s(Q) z + eps)";
  let description = [{
    With `s(x) = elu(x) + 1`:
    `result = s(query) memory / (s(query) . norm + eps)`, so an empty
    memory (all zeros) retrieves exactly 0.

    Constraints: (C1) `query` is `[B, H, T, Dh]`; (C2) `memory` is
    `[B, H, Dh, Dh]`; (C3) `norm` is `[B, H, Dh]`; (C4) `eps > 0`.

    ```mlir
    %m = infini.memory_retrieve %q, %mem, %norm {eps = 1.0e-06 : f64}
        : tensor<?x4x32x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$query, Infini_F32Tensor:$memory, Infini_F32Tensor:$norm,
                   DefaultValuedAttr<F64Attr, "1.0e-6">:$eps);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $query `,` $memory `,` $norm attr-dict `:` type($query) `,` type($memory)
    `,` type($norm)
  }];
  let hasVerifier = 1;
}

def Infini_MemoryUpdateOp : Infini_Op<"memory_update", [Pure,
    AllTypesMatch<["key", "value"]>, AllTypesMatch<["memory", "new_memory"]>, AllTypesMatch<["norm", "new_norm"]>]> {
  let summary = "writes a segment's keys and values into compressive memory";
  let description = [{
    With `s(x) = elu(x) + 1` and the memory from before this segment:
    `linear`: `M' = M + s(K)^T V`;
    `delta`: `M' = M + s(K)^T (V - s(K) M / (s(K) z + eps))`;
    both: `z' = z + sum_t s(K_t)`.
    When `valid_length` is given, only tokens `t < valid_length` are written
    (a segment padded to the compiled length `T`).

    Constraints: (C1) `key` and `value` are `[B, H, T, Dh]`; (C2) `memory` is
    `[B, H, Dh, Dh]`; (C3) `norm` is `[B, H, Dh]`; (C4) `eps > 0`.

    ```mlir
    %m2, %z2 = infini.memory_update %k, %v, %mem, %norm valid %n
        {mode = #infini.memory_update<delta>}
        : tensor<?x4x32x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$key, Infini_F32Tensor:$value, Infini_F32Tensor:$memory,
      Infini_F32Tensor:$norm, Optional<I64>:$valid_length,
      DefaultValuedAttr<Infini_MemoryUpdateModeAttr,
                        "::infini::MemoryUpdateMode::Linear">:$mode,
      DefaultValuedAttr<F64Attr, "1.0e-6">:$eps);
  let results = (outs Infini_F32Tensor:$new_memory, Infini_F32Tensor:$new_norm);
  let assemblyFormat = [{
    $key `,` $value `,` $memory `,` $norm (`valid` $valid_length^)? attr-dict
    `:` type($key) `,` type($memory) `,` type($norm)
  }];
  let hasVerifier = 1;
}

def Infini_MemoryGateOp : Infini_Op<"memory_gate",
    [Pure, AllTypesMatch<["memory_output", "local_output", "result"]>]> {
  let summary = "mixes memory and local attention with a learned per-head gate";
  let description = [{
    `result = sigmoid(beta_h) * memory_output + (1 - sigmoid(beta_h)) *
    local_output`, one `beta` per head.

    Constraints: (C1) both inputs are `[B, H, T, Dh]`; (C2) `beta` is `[H]`.

    ```mlir
    %a = infini.memory_gate %m, %l, %beta
        : tensor<?x4x32x16xf32>, tensor<4xf32>
    ```
  }];
  let arguments = (ins Infini_F32Tensor:$memory_output, Infini_F32Tensor:$local_output,
                   Infini_F32Tensor:$beta);
  let results = (outs Infini_F32Tensor:$result);
  let assemblyFormat = [{
    $memory_output `,` $local_output `,` $beta attr-dict `:`
    type($memory_output) `,` type($beta)
  }];
  let hasVerifier = 1;
}

#endif // INFINI_DIALECT_INFINIOPS_TD
