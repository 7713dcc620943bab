// RUN: infini-opt %s -split-input-file -verify-diagnostics

// infini.merge_heads numbers its constraints (C1) input [B, H, T, Dh] and
// (C2) result [B, T, H*Dh]; its diagnostics carry the matching tags.

func.func @merge_heads_c1_input_rank(%x: tensor<?x8x16xf32>) {
  // expected-error @+1 {{'infini.merge_heads' op (C1) expects input of shape [B, H, T, Dh]}}
  %0 = infini.merge_heads %x : tensor<?x8x16xf32> -> tensor<?x8x16xf32>
  return
}

// -----

func.func @merge_heads_c2_result_rank(%x: tensor<?x4x8x4xf32>) {
  // expected-error @+1 {{'infini.merge_heads' op (C2) expects result of shape [B, T, H*Dh]}}
  %0 = infini.merge_heads %x : tensor<?x4x8x4xf32> -> tensor<?x4x8x4xf32>
  return
}
