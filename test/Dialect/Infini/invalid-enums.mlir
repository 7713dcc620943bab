// RUN: infini-opt %s -split-input-file -verify-diagnostics

// Enum attributes reject unknown cases when parsed (the parser reports the
// bad keyword and then the attribute it was reading).

func.func @rope_bad_layout(%x: tensor<?x4x8x16xf32>, %offset: i64) {
  // expected-error @+2 {{expected ::infini::RopeLayout to be one of: half_split, interleaved}}
  // expected-error @+1 {{failed to parse Infini_RopeLayoutAttr parameter 'value'}}
  %0 = infini.rope %x at %offset {layout = #infini.rope_layout<neox>} : tensor<?x4x8x16xf32>
  return
}

// -----

func.func @memory_update_bad_mode(%k: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                                  %z: tensor<?x4x16xf32>) {
  // expected-error @+2 {{expected ::infini::MemoryUpdateMode to be one of: linear, delta}}
  // expected-error @+1 {{failed to parse Infini_MemoryUpdateModeAttr parameter 'value'}}
  %0:2 = infini.memory_update %k, %k, %m, %z {mode = #infini.memory_update<gated>}
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  return
}
