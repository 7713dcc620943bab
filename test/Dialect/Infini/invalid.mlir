// RUN: infini-opt %s -split-input-file -verify-diagnostics

// One case per numbered constraint (Cn) of each op, as its description in
// dialect/InfiniOps.td numbers them.

//===----------------------------------------------------------------------===//
// infini.embedding
//===----------------------------------------------------------------------===//

func.func @embedding_c1_ids_rank(%ids: tensor<2x8x1xi32>, %table: tensor<100x16xf32>) {
  // expected-error @+1 {{'infini.embedding' op (C1) expects ids of shape [B, T], got 'tensor<2x8x1xi32>'}}
  %0 = infini.embedding %ids, %table
      : tensor<2x8x1xi32>, tensor<100x16xf32> -> tensor<2x8x16xf32>
  return
}

// -----

func.func @embedding_c2_table_rank(%ids: tensor<2x8xi32>, %table: tensor<100x16x1xf32>) {
  // expected-error @+1 {{'infini.embedding' op (C2) expects table of shape [V, D], got 'tensor<100x16x1xf32>'}}
  %0 = infini.embedding %ids, %table
      : tensor<2x8xi32>, tensor<100x16x1xf32> -> tensor<2x8x16xf32>
  return
}

// -----

func.func @embedding_c3_result_width(%ids: tensor<2x8xi32>, %table: tensor<100x16xf32>) {
  // expected-error @+1 {{'infini.embedding' op (C3) result has D = 32 but table has D = 16}}
  %0 = infini.embedding %ids, %table
      : tensor<2x8xi32>, tensor<100x16xf32> -> tensor<2x8x32xf32>
  return
}

// -----

func.func @embedding_c3_result_tokens(%ids: tensor<?x8xi64>, %table: tensor<100x16xf32>) {
  // expected-error @+1 {{'infini.embedding' op (C3) result has T = 4 but ids has T = 8}}
  %0 = infini.embedding %ids, %table
      : tensor<?x8xi64>, tensor<100x16xf32> -> tensor<?x4x16xf32>
  return
}

// -----

func.func @embedding_float_ids(%ids: tensor<2x8xf32>, %table: tensor<100x16xf32>) {
  // expected-error @+1 {{'infini.embedding' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = infini.embedding %ids, %table
      : tensor<2x8xf32>, tensor<100x16xf32> -> tensor<2x8x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.linear
//===----------------------------------------------------------------------===//

func.func @linear_c1_input_rank(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{'infini.linear' op (C1) expects input of shape [B, T, I], got 'tensor<8x16xf32>'}}
  %0 = infini.linear %x, %w : tensor<8x16xf32>, tensor<32x16xf32> -> tensor<1x8x32xf32>
  return
}

// -----

func.func @linear_c2_in_features(%x: tensor<?x8x16xf32>, %w: tensor<32x24xf32>) {
  // expected-error @+1 {{'infini.linear' op (C2) weight has I = 24 but input has I = 16}}
  %0 = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<32x24xf32> -> tensor<?x8x32xf32>
  return
}

// -----

func.func @linear_c2_weight_rank(%x: tensor<?x8x16xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{'infini.linear' op (C2) expects weight of shape [O, I], got 'tensor<16xf32>'}}
  %0 = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<16xf32> -> tensor<?x8x32xf32>
  return
}

// -----

func.func @linear_c3_out_features(%x: tensor<?x8x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{'infini.linear' op (C3) result has O = 16 but weight has O = 32}}
  %0 = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<32x16xf32> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @linear_c3_batch(%x: tensor<2x8x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{'infini.linear' op (C3) result has B = 3 but input has B = 2}}
  %0 = infini.linear %x, %w : tensor<2x8x16xf32>, tensor<32x16xf32> -> tensor<3x8x32xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.split_heads
//===----------------------------------------------------------------------===//

func.func @split_heads_c1_input_rank(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'infini.split_heads' op (C1) expects input of shape [B, T, H*Dh], got 'tensor<8x16xf32>'}}
  %0 = infini.split_heads %x : tensor<8x16xf32> -> tensor<1x4x8x4xf32>
  return
}

// -----

func.func @split_heads_c2_result_rank(%x: tensor<?x8x16xf32>) {
  // expected-error @+1 {{'infini.split_heads' op (C2) expects result of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0 = infini.split_heads %x : tensor<?x8x16xf32> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @split_heads_c2_width(%x: tensor<?x8x16xf32>) {
  // expected-error @+1 {{'infini.split_heads' op (C2) input has H*Dh = 16 but result has H*Dh = 12}}
  %0 = infini.split_heads %x : tensor<?x8x16xf32> -> tensor<?x4x8x3xf32>
  return
}

// -----

func.func @split_heads_c2_tokens(%x: tensor<?x8x16xf32>) {
  // expected-error @+1 {{'infini.split_heads' op (C2) result has T = 4 but input has T = 8}}
  %0 = infini.split_heads %x : tensor<?x8x16xf32> -> tensor<?x4x4x4xf32>
  return
}

// -----

func.func @split_heads_c2_dynamic_heads(%x: tensor<?x8x16xf32>) {
  // expected-error @+1 {{'infini.split_heads' op (C2) expects static H and Dh in result}}
  %0 = infini.split_heads %x : tensor<?x8x16xf32> -> tensor<?x?x8x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.merge_heads
//===----------------------------------------------------------------------===//

func.func @merge_heads_c1_input_rank(%x: tensor<?x8x16xf32>) {
  // BUG: the verifier tags this check (C2); merge-heads-tags.mlir (XFAIL)
  // expects (C1).
  // expected-error @+1 {{expects input of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0 = infini.merge_heads %x : tensor<?x8x16xf32> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @merge_heads_c2_result_rank(%x: tensor<?x4x8x4xf32>) {
  // BUG: the verifier tags this check (C1); merge-heads-tags.mlir (XFAIL)
  // expects (C2).
  // expected-error @+1 {{expects result of shape [B, T, H*Dh], got 'tensor<?x4x8x4xf32>'}}
  %0 = infini.merge_heads %x : tensor<?x4x8x4xf32> -> tensor<?x4x8x4xf32>
  return
}

// -----

func.func @merge_heads_c2_width(%x: tensor<?x4x8x4xf32>) {
  // expected-error @+1 {{'infini.merge_heads' op (C2) result has H*Dh = 32 but input has H*Dh = 16}}
  %0 = infini.merge_heads %x : tensor<?x4x8x4xf32> -> tensor<?x8x32xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.rmsnorm
//===----------------------------------------------------------------------===//

func.func @rmsnorm_c1_weight_rank(%x: tensor<?x8x16xf32>, %w: tensor<1x16xf32>) {
  // expected-error @+1 {{'infini.rmsnorm' op (C1) expects a rank-1 weight, got 'tensor<1x16xf32>'}}
  %0 = infini.rmsnorm %x, %w : tensor<?x8x16xf32>, tensor<1x16xf32>
  return
}

// -----

func.func @rmsnorm_c2_width(%x: tensor<?x8x16xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'infini.rmsnorm' op (C2) weight has 32 elements but the input's last dimension is 16}}
  %0 = infini.rmsnorm %x, %w : tensor<?x8x16xf32>, tensor<32xf32>
  return
}

// -----

func.func @rmsnorm_c3_eps(%x: tensor<?x8x16xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{'infini.rmsnorm' op (C3) expects eps > 0}}
  %0 = infini.rmsnorm %x, %w {eps = 0.0 : f64} : tensor<?x8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @rmsnorm_c3_negative_eps(%x: tensor<?x8x16xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{'infini.rmsnorm' op (C3) expects eps > 0}}
  %0 = infini.rmsnorm %x, %w {eps = -1.0e-05 : f64} : tensor<?x8x16xf32>, tensor<16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.swiglu
//===----------------------------------------------------------------------===//

func.func @swiglu_c1_input_rank(%x: tensor<8x16xf32>, %wg: tensor<24x16xf32>,
                                %wu: tensor<24x16xf32>, %wd: tensor<16x24xf32>) {
  // expected-error @+1 {{'infini.swiglu' op (C1) expects input of shape [B, T, D], got 'tensor<8x16xf32>'}}
  %0 = infini.swiglu %x, %wg, %wu, %wd
      : tensor<8x16xf32>, tensor<24x16xf32>, tensor<24x16xf32>, tensor<16x24xf32>
  return
}

// -----

func.func @swiglu_c2_gate_width(%x: tensor<?x8x16xf32>, %wg: tensor<24x8xf32>,
                                %wu: tensor<24x16xf32>, %wd: tensor<16x24xf32>) {
  // expected-error @+1 {{'infini.swiglu' op (C2) gate_weight has D = 8 but input has D = 16}}
  %0 = infini.swiglu %x, %wg, %wu, %wd
      : tensor<?x8x16xf32>, tensor<24x8xf32>, tensor<24x16xf32>, tensor<16x24xf32>
  return
}

// -----

func.func @swiglu_c2_up_features(%x: tensor<?x8x16xf32>, %wg: tensor<24x16xf32>,
                                 %wu: tensor<32x16xf32>, %wd: tensor<16x24xf32>) {
  // expected-error @+1 {{'infini.swiglu' op (C2) up_weight has F = 32 but gate_weight has F = 24}}
  %0 = infini.swiglu %x, %wg, %wu, %wd
      : tensor<?x8x16xf32>, tensor<24x16xf32>, tensor<32x16xf32>, tensor<16x24xf32>
  return
}

// -----

func.func @swiglu_c3_down(%x: tensor<?x8x16xf32>, %wg: tensor<24x16xf32>,
                          %wu: tensor<24x16xf32>, %wd: tensor<24x16xf32>) {
  // expected-error @+1 {{'infini.swiglu' op (C3) down_weight has D = 24 but input has D = 16}}
  %0 = infini.swiglu %x, %wg, %wu, %wd
      : tensor<?x8x16xf32>, tensor<24x16xf32>, tensor<24x16xf32>, tensor<24x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.rope
//===----------------------------------------------------------------------===//

func.func @rope_c1_rank(%x: tensor<?x8x16xf32>, %offset: i64) {
  // expected-error @+1 {{'infini.rope' op (C1) expects input of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0 = infini.rope %x at %offset : tensor<?x8x16xf32>
  return
}

// -----

func.func @rope_c1_dynamic_head_dim(%x: tensor<?x4x8x?xf32>, %offset: i64) {
  // expected-error @+1 {{'infini.rope' op (C1) expects a static head width Dh}}
  %0 = infini.rope %x at %offset : tensor<?x4x8x?xf32>
  return
}

// -----

func.func @rope_c2_odd(%x: tensor<?x4x8x16xf32>, %offset: i64) {
  // expected-error @+1 {{'infini.rope' op (C2) rotary_dim must be even, positive and at most Dh = 16, got 7}}
  %0 = infini.rope %x at %offset {rotary_dim = 7 : i64} : tensor<?x4x8x16xf32>
  return
}

// -----

func.func @rope_c2_too_large(%x: tensor<?x4x8x16xf32>, %offset: i64) {
  // expected-error @+1 {{'infini.rope' op (C2) rotary_dim must be even, positive and at most Dh = 16, got 18}}
  %0 = infini.rope %x at %offset {rotary_dim = 18 : i64} : tensor<?x4x8x16xf32>
  return
}

// -----

func.func @rope_c2_zero(%x: tensor<?x4x8x16xf32>, %offset: i64) {
  // expected-error @+1 {{'infini.rope' op (C2) rotary_dim must be even, positive and at most Dh = 16, got 0}}
  %0 = infini.rope %x at %offset {rotary_dim = 0 : i64} : tensor<?x4x8x16xf32>
  return
}

// -----

func.func @rope_c2_odd_head_dim(%x: tensor<?x4x8x15xf32>, %offset: i64) {
  // rotary_dim defaults to Dh, which must then be even.
  // expected-error @+1 {{'infini.rope' op (C2) rotary_dim must be even, positive and at most Dh = 15, got 15}}
  %0 = infini.rope %x at %offset : tensor<?x4x8x15xf32>
  return
}

// -----

func.func @rope_c3_theta(%x: tensor<?x4x8x16xf32>, %offset: i64) {
  // expected-error @+1 {{'infini.rope' op (C3) expects theta > 0}}
  %0 = infini.rope %x at %offset {theta = 0.0 : f64} : tensor<?x4x8x16xf32>
  return
}

// -----

func.func @rope_c4_scaling_factor(%x: tensor<?x4x8x16xf32>, %offset: i64) {
  // expected-error @+1 {{'infini.rope' op (C4) expects scaling_factor > 0}}
  %0 = infini.rope %x at %offset {scaling_factor = -2.0 : f64} : tensor<?x4x8x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.cope
//===----------------------------------------------------------------------===//

func.func @cope_c1_query_rank(%q: tensor<?x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                              %e: tensor<16x5xf32>) {
  // expected-error @+1 {{'infini.cope' op (C1) expects query of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0 = infini.cope %q, %k, %e
      : tensor<?x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x5xf32> -> tensor<?x4x8x8xf32>
  return
}

// -----

func.func @cope_c1_key_tokens(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x4x16xf32>,
                              %e: tensor<16x5xf32>) {
  // expected-error @+1 {{'infini.cope' op (C1) key has T = 4 but query has T = 8}}
  %0 = infini.cope %q, %k, %e
      : tensor<?x4x8x16xf32>, tensor<?x4x4x16xf32>, tensor<16x5xf32> -> tensor<?x4x8x8xf32>
  return
}

// -----

func.func @cope_c2_head_dim(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                            %e: tensor<8x5xf32>) {
  // expected-error @+1 {{'infini.cope' op (C2) pos_emb has Dh = 8 but query has Dh = 16}}
  %0 = infini.cope %q, %k, %e
      : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<8x5xf32> -> tensor<?x4x8x8xf32>
  return
}

// -----

func.func @cope_c2_no_positions(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                                %e: tensor<16x0xf32>) {
  // expected-error @+1 {{'infini.cope' op (C2) expects at least one position}}
  %0 = infini.cope %q, %k, %e
      : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x0xf32> -> tensor<?x4x8x8xf32>
  return
}

// -----

func.func @cope_c2_dynamic_positions(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                                     %e: tensor<16x?xf32>) {
  // expected-error @+1 {{'infini.cope' op (C2) expects a static number of positions P}}
  %0 = infini.cope %q, %k, %e
      : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x?xf32> -> tensor<?x4x8x8xf32>
  return
}

// -----

func.func @cope_c3_result(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                          %e: tensor<16x5xf32>) {
  // expected-error @+1 {{'infini.cope' op (C3) result has T = 16 but query has T = 8}}
  %0 = infini.cope %q, %k, %e
      : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x5xf32> -> tensor<?x4x8x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.local_attention
//===----------------------------------------------------------------------===//

func.func @local_attention_c1_rank(%q: tensor<?x8x16xf32>) {
  // expected-error @+1 {{'infini.local_attention' op (C1) expects query of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0 = infini.local_attention %q, %q, %q : tensor<?x8x16xf32>
  return
}

// -----

func.func @local_attention_c1_types(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x4x16xf32>) {
  // expected-error @+1 {{'infini.local_attention' op failed to verify that all of {query, key, value, result} have same type}}
  %0 = "infini.local_attention"(%q, %k, %q)
      : (tensor<?x4x8x16xf32>, tensor<?x4x4x16xf32>, tensor<?x4x8x16xf32>) -> tensor<?x4x8x16xf32>
  return
}

// -----

func.func @local_attention_c2_bias(%q: tensor<?x4x8x16xf32>, %b: tensor<?x4x8x16xf32>) {
  // expected-error @+1 {{'infini.local_attention' op (C2) bias has T = 16 but query has T = 8}}
  %0 = infini.local_attention %q, %q, %q bias %b
      : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>
  return
}

// -----

func.func @local_attention_c2_bias_rank(%q: tensor<?x4x8x16xf32>, %b: tensor<4x8x8xf32>) {
  // expected-error @+1 {{'infini.local_attention' op (C2) expects bias of shape [B, H, T, T], got 'tensor<4x8x8xf32>'}}
  %0 = infini.local_attention %q, %q, %q bias %b
      : tensor<?x4x8x16xf32>, tensor<4x8x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.memory_retrieve
//===----------------------------------------------------------------------===//

func.func @memory_retrieve_c1_rank(%q: tensor<?x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                                   %z: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'infini.memory_retrieve' op (C1) expects query of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0 = infini.memory_retrieve %q, %m, %z
      : tensor<?x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @memory_retrieve_c2_memory(%q: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x8xf32>,
                                     %z: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'infini.memory_retrieve' op (C2) memory has Dh = 8 but query has Dh = 16}}
  %0 = infini.memory_retrieve %q, %m, %z
      : tensor<?x4x8x16xf32>, tensor<?x4x16x8xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @memory_retrieve_c2_heads(%q: tensor<?x4x8x16xf32>, %m: tensor<?x2x16x16xf32>,
                                    %z: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'infini.memory_retrieve' op (C2) memory has H = 2 but query has H = 4}}
  %0 = infini.memory_retrieve %q, %m, %z
      : tensor<?x4x8x16xf32>, tensor<?x2x16x16xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @memory_retrieve_c3_norm(%q: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                                   %z: tensor<?x4x8xf32>) {
  // expected-error @+1 {{'infini.memory_retrieve' op (C3) norm has Dh = 8 but query has Dh = 16}}
  %0 = infini.memory_retrieve %q, %m, %z
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x8xf32>
  return
}

// -----

func.func @memory_retrieve_c4_eps(%q: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                                  %z: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'infini.memory_retrieve' op (C4) expects eps > 0}}
  %0 = infini.memory_retrieve %q, %m, %z {eps = 0.0 : f64}
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.memory_update
//===----------------------------------------------------------------------===//

func.func @memory_update_c1_rank(%k: tensor<?x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                                 %z: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'infini.memory_update' op (C1) expects key of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0:2 = infini.memory_update %k, %k, %m, %z
      : tensor<?x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @memory_update_c2_memory(%k: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x8xf32>,
                                   %z: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'infini.memory_update' op (C2) memory has Dh = 8 but key has Dh = 16}}
  %0:2 = infini.memory_update %k, %k, %m, %z
      : tensor<?x4x8x16xf32>, tensor<?x4x16x8xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @memory_update_c2_batch(%k: tensor<2x4x8x16xf32>, %m: tensor<3x4x16x16xf32>,
                                  %z: tensor<2x4x16xf32>) {
  // expected-error @+1 {{'infini.memory_update' op (C2) memory has B = 3 but key has B = 2}}
  %0:2 = infini.memory_update %k, %k, %m, %z
      : tensor<2x4x8x16xf32>, tensor<3x4x16x16xf32>, tensor<2x4x16xf32>
  return
}

// -----

func.func @memory_update_c3_norm(%k: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                                 %z: tensor<?x4x16x16xf32>) {
  // expected-error @+1 {{'infini.memory_update' op (C3) expects norm of shape [B, H, Dh], got 'tensor<?x4x16x16xf32>'}}
  %0:2 = infini.memory_update %k, %k, %m, %z
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16x16xf32>
  return
}

// -----

func.func @memory_update_c4_eps(%k: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                                %z: tensor<?x4x16xf32>, %n: i64) {
  // expected-error @+1 {{'infini.memory_update' op (C4) expects eps > 0}}
  %0:2 = infini.memory_update %k, %k, %m, %z valid %n
      {mode = #infini.memory_update<delta>, eps = -1.0 : f64}
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// infini.memory_gate
//===----------------------------------------------------------------------===//

func.func @memory_gate_c1_rank(%m: tensor<?x8x16xf32>, %beta: tensor<4xf32>) {
  // expected-error @+1 {{'infini.memory_gate' op (C1) expects memory_output of shape [B, H, T, Dh], got 'tensor<?x8x16xf32>'}}
  %0 = infini.memory_gate %m, %m, %beta : tensor<?x8x16xf32>, tensor<4xf32>
  return
}

// -----

func.func @memory_gate_c2_heads(%m: tensor<?x4x8x16xf32>, %beta: tensor<2xf32>) {
  // expected-error @+1 {{'infini.memory_gate' op (C2) beta has H = 2 but memory_output has H = 4}}
  %0 = infini.memory_gate %m, %m, %beta : tensor<?x4x8x16xf32>, tensor<2xf32>
  return
}

// -----

func.func @memory_gate_c2_rank(%m: tensor<?x4x8x16xf32>, %beta: tensor<1x4xf32>) {
  // expected-error @+1 {{'infini.memory_gate' op (C2) expects beta of shape [H], got 'tensor<1x4xf32>'}}
  %0 = infini.memory_gate %m, %m, %beta : tensor<?x4x8x16xf32>, tensor<1x4xf32>
  return
}
