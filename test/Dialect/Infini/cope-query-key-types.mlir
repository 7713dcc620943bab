// RUN: infini-opt %s -split-input-file -verify-diagnostics
// XFAIL: *

// Known bug: infini.cope's (C1) says query and key are [B, H, T, Dh] "of one
// type", but its verifier only matches their static sizes, so a static and a
// dynamic batch pass (infini.local_attention, whose C1 reads the same, rejects
// them through AllTypesMatch). Remove the XFAIL line once C1 is enforced.

func.func @cope_c1_types(%q: tensor<2x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                         %e: tensor<16x5xf32>) {
  // expected-error @+1 {{'infini.cope' op (C1)}}
  %0 = infini.cope %q, %k, %e
      : tensor<2x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x5xf32> -> tensor<2x4x8x8xf32>
  return
}
