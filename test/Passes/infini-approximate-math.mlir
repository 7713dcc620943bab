// RUN: infini-opt %s --infini-approximate-math | FileCheck %s

// f32 exp (softmax, sigmoid) becomes a polynomial: no math.exp, no libm call.
// CHECK-LABEL: func.func @exp_f32
// CHECK-NOT:     math.exp
// CHECK:         math.fma
// CHECK-NOT:     math.exp
// CHECK:         return
func.func @exp_f32(%x: f32, %y: vector<8xf32>) -> (f32, vector<8xf32>) {
  %a = math.exp %x : f32
  %b = math.exp %y : vector<8xf32>
  return %a, %b : f32, vector<8xf32>
}

// f64 exp (RoPE frequencies) keeps its exact lowering.
// CHECK-LABEL: func.func @exp_f64
// CHECK:         %[[E:.+]] = math.exp %{{.+}} : f64
// CHECK:         return %[[E]]
func.func @exp_f64(%x: f64) -> f64 {
  %a = math.exp %x : f64
  return %a : f64
}
