// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-copies-to-linalg))' | FileCheck %s

// A copy becomes a linalg.copy (a parallel loop later, hence a kernel); a
// copy of a view onto itself goes.
// CHECK-LABEL: func.func @copies
// CHECK-SAME: (%[[A:[^:]+]]: memref<4x8xf32>, %[[B:[^:]+]]: memref<4x8xf32, strided<[16, 1]>>)
// CHECK-NEXT: linalg.copy ins(%[[A]] : memref<4x8xf32>) outs(%[[B]] : memref<4x8xf32, strided<[16, 1]>>)
// CHECK-NEXT: return
func.func @copies(%a: memref<4x8xf32>, %b: memref<4x8xf32, strided<[16, 1]>>) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32, strided<[16, 1]>>
  memref.copy %a, %a : memref<4x8xf32> to memref<4x8xf32>
  return
}
