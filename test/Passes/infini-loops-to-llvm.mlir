// RUN: infini-opt %s --infini-loops-to-llvm | FileCheck %s

// Stage 3 of infini-to-cpu on loops as stage 2 emits them: buffers, scf
// loops, a register-tile vector.contract, scalar math. Everything becomes
// the LLVM dialect; the step gets its packed C interface wrapper.

#x = affine_map<(b, t, o, i) -> (b, t, i)>
#wt = affine_map<(b, t, o, i) -> (i, o)>
#y = affine_map<(b, t, o, i) -> (b, t, o)>

// CHECK-NOT: {{^ *(%[^ ]+ = )?(affine|arith|cf|func|math|memref|scf|vector)\.}}
// CHECK-LABEL: llvm.func @step(
// The contraction becomes outer products: one vector FMA per row of the tile.
// CHECK-COUNT-4: llvm.intr.fmuladd({{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK-NOT: llvm.intr.fmuladd
// f64 math becomes LLVM intrinsics; f32 exp a polynomial (FMAs, no call).
// CHECK: llvm.intr.cos({{.*}}) : (f64) -> f64
// CHECK-NOT: llvm.intr.exp({{.*}}) : (f32) -> f32
// CHECK: llvm.intr.fma({{.*}}) : (f32, f32, f32) -> f32
// CHECK-NOT: llvm.intr.exp({{.*}}) : (f32) -> f32
// CHECK: llvm.return
// CHECK-LABEL: llvm.func @_mlir_ciface_step(
// CHECK-SAME: {infini.input}
// CHECK: llvm.call @step(
// CHECK-NOT: {{^ *(%[^ ]+ = )?(affine|arith|cf|func|math|memref|scf|vector)\.}}
func.func @step(%x: memref<?x4x2xf32> {infini.input}, %pos: i64 {infini.position},
                %wt: memref<2x8xf32> {infini.weight = "proj"},
                %table: memref<4xf64>, %out: memref<?x4x8xf32> {infini.output})
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %b = memref.dim %x, %c0 : memref<?x4x2xf32>
  scf.for %i = %c0 to %b step %c1 {
    %acc = vector.transfer_read %out[%i, %c0, %c0], %zero {in_bounds = [true, true, true]}
        : memref<?x4x8xf32>, vector<1x4x8xf32>
    %sum = scf.for %k = %c0 to %c2 step %c1 iter_args(%a = %acc) -> (vector<1x4x8xf32>) {
      %xv = vector.transfer_read %x[%i, %c0, %k], %zero {in_bounds = [true, true, true]}
          : memref<?x4x2xf32>, vector<1x4x1xf32>
      %wv = vector.transfer_read %wt[%k, %c0], %zero {in_bounds = [true, true]}
          : memref<2x8xf32>, vector<1x8xf32>
      %r = vector.contract {indexing_maps = [#x, #wt, #y],
                            iterator_types = ["parallel", "parallel", "parallel", "reduction"],
                            kind = #vector.kind<add>} %xv, %wv, %a
          : vector<1x4x1xf32>, vector<1x8xf32> into vector<1x4x8xf32>
      scf.yield %r : vector<1x4x8xf32>
    }
    vector.transfer_write %sum, %out[%i, %c0, %c0] {in_bounds = [true, true, true]}
        : vector<1x4x8xf32>, memref<?x4x8xf32>
  }
  scf.for %t = %c0 to %c4 step %c1 {
    %ti = arith.index_cast %t : index to i64
    %p = arith.addi %pos, %ti : i64
    %pf = arith.sitofp %p : i64 to f64
    %c = math.cos %pf : f64
    memref.store %c, %table[%t] : memref<4xf64>
  }
  %v = memref.load %out[%c0, %c0, %c0] : memref<?x4x8xf32>
  %e = math.exp %v : f32
  memref.store %e, %out[%c0, %c0, %c0] : memref<?x4x8xf32>
  return
}
