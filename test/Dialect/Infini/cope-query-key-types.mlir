// RUN: infini-opt %s -split-input-file -verify-diagnostics

// infini.cope (C1): query and key must have one type; a static and a dynamic
// batch do not match.

func.func @cope_c1_types(%q: tensor<2x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                         %e: tensor<16x5xf32>) {
  // expected-error @+1 {{'infini.cope' op (C1)}}
  %0 = infini.cope %q, %k, %e
      : tensor<2x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x5xf32> -> tensor<2x4x8x8xf32>
  return
}
