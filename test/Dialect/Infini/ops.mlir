// RUN: infini-opt %s | infini-opt | FileCheck %s
// RUN: infini-opt %s --mlir-print-op-generic | infini-opt | FileCheck %s

// Round trip of every infini op, with and without its optional parts.
// Attributes equal to their default are elided when printed.

// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[IDS:[^ ,:]+]]: tensor<?x8xi32>, %[[TABLE:[^ ,:]+]]: tensor<100x16xf32>, %[[IDS64:[^ ,:]+]]: tensor<2x8xi64>)
// CHECK: infini.embedding %[[IDS]], %[[TABLE]] : tensor<?x8xi32>, tensor<100x16xf32> -> tensor<?x8x16xf32>
// CHECK: infini.embedding %[[IDS64]], %[[TABLE]] : tensor<2x8xi64>, tensor<100x16xf32> -> tensor<2x8x16xf32>
func.func @embedding(%ids: tensor<?x8xi32>, %table: tensor<100x16xf32>,
                     %ids64: tensor<2x8xi64>)
    -> (tensor<?x8x16xf32>, tensor<2x8x16xf32>) {
  %0 = infini.embedding %ids, %table
      : tensor<?x8xi32>, tensor<100x16xf32> -> tensor<?x8x16xf32>
  %1 = infini.embedding %ids64, %table
      : tensor<2x8xi64>, tensor<100x16xf32> -> tensor<2x8x16xf32>
  return %0, %1 : tensor<?x8x16xf32>, tensor<2x8x16xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:[^ ,:]+]]: tensor<?x8x16xf32>, %[[W:[^ ,:]+]]: tensor<32x16xf32>, %[[XS:[^ ,:]+]]: tensor<3x8x16xf32>)
// CHECK: infini.linear %[[X]], %[[W]] : tensor<?x8x16xf32>, tensor<32x16xf32> -> tensor<?x8x32xf32>
// CHECK: infini.linear %[[XS]], %[[W]] : tensor<3x8x16xf32>, tensor<32x16xf32> -> tensor<3x8x32xf32>
func.func @linear(%x: tensor<?x8x16xf32>, %w: tensor<32x16xf32>,
                  %xs: tensor<3x8x16xf32>)
    -> (tensor<?x8x32xf32>, tensor<3x8x32xf32>) {
  %0 = infini.linear %x, %w
      : tensor<?x8x16xf32>, tensor<32x16xf32> -> tensor<?x8x32xf32>
  %1 = infini.linear %xs, %w
      : tensor<3x8x16xf32>, tensor<32x16xf32> -> tensor<3x8x32xf32>
  return %0, %1 : tensor<?x8x32xf32>, tensor<3x8x32xf32>
}

// CHECK-LABEL: func.func @heads
// CHECK-SAME: (%[[X:[^ ,:]+]]: tensor<?x8x16xf32>, %[[XS:[^ ,:]+]]: tensor<2x8x16xf32>)
// CHECK: %[[H:[^ ,:]+]] = infini.split_heads %[[X]] : tensor<?x8x16xf32> -> tensor<?x4x8x4xf32>
// CHECK: infini.merge_heads %[[H]] : tensor<?x4x8x4xf32> -> tensor<?x8x16xf32>
// CHECK: %[[HS:[^ ,:]+]] = infini.split_heads %[[XS]] : tensor<2x8x16xf32> -> tensor<2x2x8x8xf32>
// CHECK: infini.merge_heads %[[HS]] : tensor<2x2x8x8xf32> -> tensor<2x8x16xf32>
func.func @heads(%x: tensor<?x8x16xf32>, %xs: tensor<2x8x16xf32>)
    -> (tensor<?x8x16xf32>, tensor<2x8x16xf32>) {
  %h = infini.split_heads %x : tensor<?x8x16xf32> -> tensor<?x4x8x4xf32>
  %0 = infini.merge_heads %h : tensor<?x4x8x4xf32> -> tensor<?x8x16xf32>
  %hs = infini.split_heads %xs : tensor<2x8x16xf32> -> tensor<2x2x8x8xf32>
  %1 = infini.merge_heads %hs : tensor<2x2x8x8xf32> -> tensor<2x8x16xf32>
  return %0, %1 : tensor<?x8x16xf32>, tensor<2x8x16xf32>
}

// CHECK-LABEL: func.func @rmsnorm
// CHECK-SAME: (%[[X:[^ ,:]+]]: tensor<?x8x16xf32>, %[[W:[^ ,:]+]]: tensor<16xf32>, %[[XS:[^ ,:]+]]: tensor<2x8x16xf32>)
// CHECK: infini.rmsnorm %[[X]], %[[W]] : tensor<?x8x16xf32>, tensor<16xf32>
// CHECK: infini.rmsnorm %[[X]], %[[W]] : tensor<?x8x16xf32>, tensor<16xf32>
// CHECK: infini.rmsnorm %[[XS]], %[[W]] {eps = 1.000000e-03 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
func.func @rmsnorm(%x: tensor<?x8x16xf32>, %w: tensor<16xf32>,
                   %xs: tensor<2x8x16xf32>)
    -> (tensor<?x8x16xf32>, tensor<?x8x16xf32>, tensor<2x8x16xf32>) {
  %0 = infini.rmsnorm %x, %w : tensor<?x8x16xf32>, tensor<16xf32>
  // The default eps (1e-5) is elided.
  %1 = infini.rmsnorm %x, %w {eps = 1.0e-05 : f64}
      : tensor<?x8x16xf32>, tensor<16xf32>
  %2 = infini.rmsnorm %xs, %w {eps = 1.0e-03 : f64}
      : tensor<2x8x16xf32>, tensor<16xf32>
  return %0, %1, %2 : tensor<?x8x16xf32>, tensor<?x8x16xf32>, tensor<2x8x16xf32>
}

// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[X:[^ ,:]+]]: tensor<?x8x16xf32>, %[[G:[^ ,:]+]]: tensor<24x16xf32>, %[[U:[^ ,:]+]]: tensor<24x16xf32>, %[[D:[^ ,:]+]]: tensor<16x24xf32>, %[[XS:[^ ,:]+]]: tensor<1x8x16xf32>)
// CHECK: infini.swiglu %[[X]], %[[G]], %[[U]], %[[D]] : tensor<?x8x16xf32>, tensor<24x16xf32>, tensor<24x16xf32>, tensor<16x24xf32>
// CHECK: infini.swiglu %[[X]], %[[G]], %[[U]], %[[D]] : tensor<?x8x16xf32>,
// CHECK: infini.swiglu %[[XS]], %[[G]], %[[U]], %[[D]] {beta = 1.702000e+00 : f64} : tensor<1x8x16xf32>,
func.func @swiglu(%x: tensor<?x8x16xf32>, %wg: tensor<24x16xf32>,
                  %wu: tensor<24x16xf32>, %wd: tensor<16x24xf32>,
                  %xs: tensor<1x8x16xf32>)
    -> (tensor<?x8x16xf32>, tensor<?x8x16xf32>, tensor<1x8x16xf32>) {
  %0 = infini.swiglu %x, %wg, %wu, %wd
      : tensor<?x8x16xf32>, tensor<24x16xf32>, tensor<24x16xf32>, tensor<16x24xf32>
  // The default beta (1, SiLU) is elided.
  %1 = infini.swiglu %x, %wg, %wu, %wd {beta = 1.0 : f64}
      : tensor<?x8x16xf32>, tensor<24x16xf32>, tensor<24x16xf32>, tensor<16x24xf32>
  %2 = infini.swiglu %xs, %wg, %wu, %wd {beta = 1.702 : f64}
      : tensor<1x8x16xf32>, tensor<24x16xf32>, tensor<24x16xf32>, tensor<16x24xf32>
  return %0, %1, %2 : tensor<?x8x16xf32>, tensor<?x8x16xf32>, tensor<1x8x16xf32>
}

// CHECK-LABEL: func.func @rope
// CHECK-SAME: (%[[X:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[OFF:[^ ,:]+]]: i64, %[[XS:[^ ,:]+]]: tensor<2x4x8x16xf32>)
// CHECK: %[[R0:[^ ,:]+]] = infini.rope %[[X]] at %[[OFF]] : tensor<?x4x8x16xf32>
// CHECK: %[[R1:[^ ,:]+]] = infini.rope %[[R0]] at %[[OFF]] : tensor<?x4x8x16xf32>
// CHECK: %[[R2:[^ ,:]+]] = infini.rope %[[R1]] at %[[OFF]] {layout = #infini.rope_layout<interleaved>} : tensor<?x4x8x16xf32>
// CHECK: %[[R3:[^ ,:]+]] = infini.rope %[[R2]] at %[[OFF]] {rotary_dim = 8 : i64} : tensor<?x4x8x16xf32>
// CHECK: %[[R4:[^ ,:]+]] = infini.rope %[[R3]] at %[[OFF]] {theta = 5.000000e+05 : f64} : tensor<?x4x8x16xf32>
// CHECK: %[[R5:[^ ,:]+]] = infini.rope %[[R4]] at %[[OFF]] {scaling_factor = 4.000000e+00 : f64} : tensor<?x4x8x16xf32>
// CHECK: infini.rope %[[XS]] at %[[OFF]] {layout = #infini.rope_layout<interleaved>, rotary_dim = 2 : i64, scaling_factor = 5.000000e-01 : f64, theta = 1.000000e+06 : f64} : tensor<2x4x8x16xf32>
// CHECK: infini.rope %[[XS]] at %[[OFF]] {rotary_dim = 16 : i64} : tensor<2x4x8x16xf32>
func.func @rope(%x: tensor<?x4x8x16xf32>, %offset: i64, %xs: tensor<2x4x8x16xf32>)
    -> (tensor<?x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %0 = infini.rope %x at %offset : tensor<?x4x8x16xf32>
  // Explicit defaults (half_split layout, theta 1e4, factor 1) are elided.
  %1 = infini.rope %0 at %offset {layout = #infini.rope_layout<half_split>,
                                  theta = 10000.0 : f64,
                                  scaling_factor = 1.0 : f64}
      : tensor<?x4x8x16xf32>
  %2 = infini.rope %1 at %offset {layout = #infini.rope_layout<interleaved>}
      : tensor<?x4x8x16xf32>
  %3 = infini.rope %2 at %offset {rotary_dim = 8 : i64} : tensor<?x4x8x16xf32>
  %4 = infini.rope %3 at %offset {theta = 500000.0 : f64} : tensor<?x4x8x16xf32>
  %5 = infini.rope %4 at %offset {scaling_factor = 4.0 : f64}
      : tensor<?x4x8x16xf32>
  %6 = infini.rope %xs at %offset {layout = #infini.rope_layout<interleaved>,
                                   rotary_dim = 2 : i64, theta = 1.0e6 : f64,
                                   scaling_factor = 0.5 : f64}
      : tensor<2x4x8x16xf32>
  // rotary_dim has no default value: an explicit Dh is kept.
  %7 = infini.rope %xs at %offset {rotary_dim = 16 : i64} : tensor<2x4x8x16xf32>
  return %5, %6, %7 : tensor<?x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>
}

// CHECK-LABEL: func.func @cope
// CHECK-SAME: (%[[Q:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[K:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[E:[^ ,:]+]]: tensor<16x5xf32>, %[[QS:[^ ,:]+]]: tensor<2x4x8x16xf32>, %[[E1:[^ ,:]+]]: tensor<16x1xf32>)
// CHECK: infini.cope %[[Q]], %[[K]], %[[E]] : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x5xf32> -> tensor<?x4x8x8xf32>
// CHECK: infini.cope %[[QS]], %[[QS]], %[[E1]] : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<16x1xf32> -> tensor<2x4x8x8xf32>
func.func @cope(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                %e: tensor<16x5xf32>, %qs: tensor<2x4x8x16xf32>,
                %e1: tensor<16x1xf32>)
    -> (tensor<?x4x8x8xf32>, tensor<2x4x8x8xf32>) {
  %0 = infini.cope %q, %k, %e
      : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<16x5xf32>
      -> tensor<?x4x8x8xf32>
  %1 = infini.cope %qs, %qs, %e1
      : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<16x1xf32>
      -> tensor<2x4x8x8xf32>
  return %0, %1 : tensor<?x4x8x8xf32>, tensor<2x4x8x8xf32>
}

// CHECK-LABEL: func.func @local_attention
// CHECK-SAME: (%[[Q:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[K:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[V:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[B:[^ ,:]+]]: tensor<?x4x8x8xf32>, %[[QS:[^ ,:]+]]: tensor<1x4x8x16xf32>, %[[BS:[^ ,:]+]]: tensor<1x4x8x8xf32>)
// CHECK: infini.local_attention %[[Q]], %[[K]], %[[V]] : tensor<?x4x8x16xf32>
// CHECK-NOT: bias
// CHECK: infini.local_attention %[[Q]], %[[K]], %[[V]] bias %[[B]] : tensor<?x4x8x16xf32>, tensor<?x4x8x8xf32>
// CHECK: infini.local_attention %[[QS]], %[[QS]], %[[QS]] bias %[[BS]] : tensor<1x4x8x16xf32>, tensor<1x4x8x8xf32>
func.func @local_attention(%q: tensor<?x4x8x16xf32>, %k: tensor<?x4x8x16xf32>,
                           %v: tensor<?x4x8x16xf32>, %b: tensor<?x4x8x8xf32>,
                           %qs: tensor<1x4x8x16xf32>, %bs: tensor<1x4x8x8xf32>)
    -> (tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<1x4x8x16xf32>) {
  %0 = infini.local_attention %q, %k, %v : tensor<?x4x8x16xf32>
  %1 = infini.local_attention %q, %k, %v bias %b
      : tensor<?x4x8x16xf32>, tensor<?x4x8x8xf32>
  %2 = infini.local_attention %qs, %qs, %qs bias %bs
      : tensor<1x4x8x16xf32>, tensor<1x4x8x8xf32>
  return %0, %1, %2 : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<1x4x8x16xf32>
}

// CHECK-LABEL: func.func @memory_retrieve
// CHECK-SAME: (%[[Q:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[M:[^ ,:]+]]: tensor<?x4x16x16xf32>, %[[Z:[^ ,:]+]]: tensor<?x4x16xf32>, %[[QS:[^ ,:]+]]: tensor<2x4x8x16xf32>, %[[MS:[^ ,:]+]]: tensor<2x4x16x16xf32>, %[[ZS:[^ ,:]+]]: tensor<2x4x16xf32>)
// CHECK: infini.memory_retrieve %[[Q]], %[[M]], %[[Z]] : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
// CHECK: infini.memory_retrieve %[[Q]], %[[M]], %[[Z]] : tensor<?x4x8x16xf32>,
// CHECK: infini.memory_retrieve %[[QS]], %[[MS]], %[[ZS]] {eps = 1.000000e-03 : f64} : tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16xf32>
func.func @memory_retrieve(%q: tensor<?x4x8x16xf32>, %m: tensor<?x4x16x16xf32>,
                           %z: tensor<?x4x16xf32>, %qs: tensor<2x4x8x16xf32>,
                           %ms: tensor<2x4x16x16xf32>, %zs: tensor<2x4x16xf32>)
    -> (tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %0 = infini.memory_retrieve %q, %m, %z
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  // The default eps (1e-6) is elided.
  %1 = infini.memory_retrieve %q, %m, %z {eps = 1.0e-06 : f64}
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  %2 = infini.memory_retrieve %qs, %ms, %zs {eps = 1.0e-03 : f64}
      : tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16xf32>
  return %0, %1, %2 : tensor<?x4x8x16xf32>, tensor<?x4x8x16xf32>, tensor<2x4x8x16xf32>
}

// CHECK-LABEL: func.func @memory_update
// CHECK-SAME: (%[[K:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[V:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[M:[^ ,:]+]]: tensor<?x4x16x16xf32>, %[[Z:[^ ,:]+]]: tensor<?x4x16xf32>, %[[N:[^ ,:]+]]: i64)
// CHECK: infini.memory_update %[[K]], %[[V]], %[[M]], %[[Z]] : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
// CHECK: infini.memory_update %[[K]], %[[V]], %[[M]], %[[Z]] valid %[[N]] : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
// CHECK: infini.memory_update %[[K]], %[[V]], %[[M]], %[[Z]] {mode = #infini.memory_update<delta>} : tensor<?x4x8x16xf32>,
// CHECK: infini.memory_update %[[K]], %[[V]], %[[M]], %[[Z]] valid %[[N]] {eps = 1.000000e-04 : f64, mode = #infini.memory_update<delta>} : tensor<?x4x8x16xf32>,
// CHECK: infini.memory_update %[[K]], %[[V]], %[[M]], %[[Z]] valid %[[N]] : tensor<?x4x8x16xf32>,
func.func @memory_update(%k: tensor<?x4x8x16xf32>, %v: tensor<?x4x8x16xf32>,
                         %m: tensor<?x4x16x16xf32>, %z: tensor<?x4x16xf32>,
                         %n: i64)
    -> (tensor<?x4x16x16xf32>, tensor<?x4x16xf32>, tensor<?x4x16x16xf32>,
        tensor<?x4x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>,
        tensor<?x4x16x16xf32>, tensor<?x4x16xf32>, tensor<?x4x16x16xf32>,
        tensor<?x4x16xf32>) {
  %m0, %z0 = infini.memory_update %k, %v, %m, %z
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  %m1, %z1 = infini.memory_update %k, %v, %m, %z valid %n
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  %m2, %z2 = infini.memory_update %k, %v, %m, %z
      {mode = #infini.memory_update<delta>}
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  %m3, %z3 = infini.memory_update %k, %v, %m, %z valid %n
      {mode = #infini.memory_update<delta>, eps = 1.0e-04 : f64}
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  // The defaults (linear mode, eps 1e-6) are elided.
  %m4, %z4 = infini.memory_update %k, %v, %m, %z valid %n
      {mode = #infini.memory_update<linear>, eps = 1.0e-06 : f64}
      : tensor<?x4x8x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>
  return %m0, %z0, %m1, %z1, %m2, %z2, %m3, %z3, %m4, %z4
      : tensor<?x4x16x16xf32>, tensor<?x4x16xf32>, tensor<?x4x16x16xf32>,
        tensor<?x4x16xf32>, tensor<?x4x16x16xf32>, tensor<?x4x16xf32>,
        tensor<?x4x16x16xf32>, tensor<?x4x16xf32>, tensor<?x4x16x16xf32>,
        tensor<?x4x16xf32>
}

// CHECK-LABEL: func.func @memory_update_static
// CHECK: %[[NM:[^ ,:]+]], %[[NZ:[^ ,:]+]] = infini.memory_update %{{[^ ,]+}}, %{{[^ ,]+}}, %{{[^ ,]+}}, %{{[^ ,]+}} {mode = #infini.memory_update<delta>} : tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16xf32>
// CHECK: return %[[NM]], %[[NZ]]
func.func @memory_update_static(%k: tensor<2x4x8x16xf32>, %m: tensor<2x4x16x16xf32>,
                                %z: tensor<2x4x16xf32>)
    -> (tensor<2x4x16x16xf32>, tensor<2x4x16xf32>) {
  %m0, %z0 = infini.memory_update %k, %k, %m, %z
      {mode = #infini.memory_update<delta>}
      : tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16xf32>
  return %m0, %z0 : tensor<2x4x16x16xf32>, tensor<2x4x16xf32>
}

// CHECK-LABEL: func.func @memory_gate
// CHECK-SAME: (%[[M:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[L:[^ ,:]+]]: tensor<?x4x8x16xf32>, %[[BETA:[^ ,:]+]]: tensor<4xf32>, %[[MS:[^ ,:]+]]: tensor<2x4x8x16xf32>)
// CHECK: infini.memory_gate %[[M]], %[[L]], %[[BETA]] : tensor<?x4x8x16xf32>, tensor<4xf32>
// CHECK: infini.memory_gate %[[MS]], %[[MS]], %[[BETA]] : tensor<2x4x8x16xf32>, tensor<4xf32>
func.func @memory_gate(%m: tensor<?x4x8x16xf32>, %l: tensor<?x4x8x16xf32>,
                       %beta: tensor<4xf32>, %ms: tensor<2x4x8x16xf32>)
    -> (tensor<?x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %0 = infini.memory_gate %m, %l, %beta : tensor<?x4x8x16xf32>, tensor<4xf32>
  %1 = infini.memory_gate %ms, %ms, %beta : tensor<2x4x8x16xf32>, tensor<4xf32>
  return %0, %1 : tensor<?x4x8x16xf32>, tensor<2x4x8x16xf32>
}
