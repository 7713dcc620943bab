// RUN: infini-opt %s --allow-unregistered-dialect --pass-pipeline='builtin.module(func.func(infini-gpu-merge-independent-loops))' -split-input-file -mlir-print-debuginfo | FileCheck %s

// The step's copies of its output and state into the out-parameters (each
// a buffer of its own) become one loop over 8 x 16 + 4 iterations: an
// index below 128 runs the first copy at (index / 16, index % 16), the
// others the second at index - 128. The kind of both (copy) stays.
// CHECK-LABEL: func.func @copies
// CHECK-SAME: (%[[X:[^:]+]]: memref<8x16xf32> {infini.input}{{[^,]*}}, %[[S:[^:]+]]: memref<4xf32> {infini.state = "s"}{{[^,]*}}, %[[Y:[^:]+]]: memref<8x16xf32> {infini.output}{{[^,]*}}, %[[T:[^:]+]]: memref<4xf32> {infini.state = "s"}
// CHECK: scf.parallel (%[[I:.+]]) = (%c0{{.*}}) to (%c132) step (%c1{{.*}}) {
// CHECK: %[[FIRST:.+]] = arith.cmpi ult, %[[I]], %c128
// CHECK: scf.if %[[FIRST]] {
// CHECK-DAG: %[[J:.+]] = arith.remui %[[I]], %c16
// CHECK-DAG: %[[R:.+]] = arith.divui %[[I]], %c16
// CHECK: %[[V:.+]] = memref.load %[[X]][%[[R]], %[[J]]]
// CHECK: memref.store %[[V]], %[[Y]][%[[R]], %[[J]]]
// CHECK: } else {
// CHECK: %[[K:.+]] = arith.subi %[[I]], %c128
// CHECK: %[[W:.+]] = memref.load %[[S]][%[[K]]]
// CHECK: memref.store %[[W]], %[[T]][%[[K]]]
// CHECK: } loc(#[[COPY:.+]])
// CHECK-NOT: scf.parallel
// CHECK: #[[COPY]] = loc("infini.kernel.copy"
func.func @copies(%x: memref<8x16xf32> {infini.input}, %s: memref<4xf32> {infini.state = "s"},
                  %y: memref<8x16xf32> {infini.output}, %t: memref<4xf32> {infini.state = "s"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c16) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<8x16xf32>
    memref.store %v, %y[%i, %j] : memref<8x16xf32>
  } loc("infini.kernel.copy"("x"))
  scf.parallel (%k) = (%c0) to (%c4) step (%c1) {
    %w = memref.load %s[%k] : memref<4xf32>
    memref.store %w, %t[%k] : memref<4xf32>
  } loc("infini.kernel.copy"("s"))
  return
}

// -----

// Two element-wise loops into fresh buffers merge; the second's output is
// allocated before the merged loop, the first's input freed after it.
// CHECK-LABEL: func.func @fresh_buffers
// CHECK: %[[A:.+]] = memref.alloc() : memref<16xf32>
// CHECK: %[[B:.+]] = memref.alloc() : memref<16xf32>
// CHECK: %[[C:.+]] = memref.alloc() : memref<16xf32>
// CHECK: scf.parallel
// CHECK: math.exp
// CHECK: } else {
// CHECK: math.sin
// CHECK: }
// CHECK-NOT: scf.parallel
// CHECK: memref.dealloc %[[A]]
// CHECK-NEXT: "test.use"
func.func @fresh_buffers(%x: memref<16xf32> {infini.input}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %a = memref.alloc() : memref<16xf32>
  %b = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %a[%i] : memref<16xf32>
    %e = math.exp %v : f32
    memref.store %e, %b[%i] : memref<16xf32>
  }
  memref.dealloc %a : memref<16xf32>
  %c = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    %e = math.sin %v : f32
    memref.store %e, %c[%i] : memref<16xf32>
  }
  "test.use"(%b, %c) : (memref<16xf32>, memref<16xf32>) -> ()
  return
}

// -----

// Not merged: the second loop reads what the first writes.
// CHECK-LABEL: func.func @dependent
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @dependent(%x: memref<16xf32> {infini.input}, %y: memref<16xf32> {infini.output}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %a = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %a[%i] : memref<16xf32>
  }
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %a[%i] : memref<16xf32>
    memref.store %v, %y[%i] : memref<16xf32>
  }
  memref.dealloc %a : memref<16xf32>
  return
}

// -----

// Not merged: arguments without a binding may be one buffer.
// CHECK-LABEL: func.func @unbound_arguments
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @unbound_arguments(%x: memref<16xf32>, %y: memref<16xf32>, %z: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %y[%i] : memref<16xf32>
  }
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %z[%i] : memref<16xf32>
    memref.store %v, %x[%i] : memref<16xf32>
  }
  return
}

// -----

// A later loop moves up past a kernel it is independent of (here one with
// nested loops) to join the group; the buffer it writes is allocated before
// the merged loop, which comes before the kernel.
// CHECK-LABEL: func.func @past_a_kernel
// CHECK: %[[C:.+]] = memref.alloc() : memref<16xf32>
// CHECK: scf.parallel
// CHECK: math.exp
// CHECK: } else {
// CHECK: math.sin
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: math.cos
// CHECK-NOT: scf.parallel
func.func @past_a_kernel(%x: memref<16xf32> {infini.input}, %y: memref<16xf32> {infini.output}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %a = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    %e = math.exp %v : f32
    memref.store %e, %a[%i] : memref<16xf32>
  }
  %b = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      %k = arith.addi %i, %j : index
      %v = memref.load %a[%k] : memref<16xf32>
      %e = math.cos %v : f32
      memref.store %e, %b[%k] : memref<16xf32>
    }
  }
  %c = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    %e = math.sin %v : f32
    memref.store %e, %c[%i] : memref<16xf32>
  }
  "test.use"(%b, %c) : (memref<16xf32>, memref<16xf32>) -> ()
  return
}

// -----

// Not merged: the kernel in between writes what the later loop reads
// (through a select between two buffers, as a grouped product writes).
// CHECK-LABEL: func.func @written_in_between
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @written_in_between(%x: memref<16xf32> {infini.input}, %flag: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %a = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %a[%i] : memref<16xf32>
  }
  %q = memref.alloc() : memref<16xf32>
  %k = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %out = arith.select %flag, %q, %k : memref<16xf32>
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      %n = arith.addi %i, %j : index
      %v = memref.load %x[%n] : memref<16xf32>
      memref.store %v, %out[%n] : memref<16xf32>
    }
  }
  %c = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %k[%i] : memref<16xf32>
    memref.store %v, %c[%i] : memref<16xf32>
  }
  "test.use"(%a, %c) : (memref<16xf32>, memref<16xf32>) -> ()
  return
}
