// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-erase-self-copies))' | FileCheck %s

// A copy from a view to the same view (what bufferizing a tile's
// tensor.insert_slice into its own source leaves behind) is erased; copies
// between different buffers or views stay.

// CHECK-LABEL: func.func @self_copy
// CHECK-SAME: (%[[A:[^:]+]]: memref<4x8xf32>, %{{[^:]+}}: index)
// CHECK: %[[V:.+]] = memref.subview %[[A]]
// CHECK-NOT: memref.copy
// CHECK: return
func.func @self_copy(%a: memref<4x8xf32>, %i: index) {
  memref.copy %a, %a : memref<4x8xf32> to memref<4x8xf32>
  %v = memref.subview %a[%i, 0] [1, 8] [1, 1]
      : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
  memref.copy %v, %v : memref<1x8xf32, strided<[8, 1], offset: ?>>
      to memref<1x8xf32, strided<[8, 1], offset: ?>>
  return
}

// CHECK-LABEL: func.func @real_copies
// CHECK-SAME: (%[[A:[^:]+]]: memref<4x8xf32>, %[[B:[^:]+]]: memref<4x8xf32>, %[[I:[^:]+]]: index, %[[J:[^:]+]]: index)
// CHECK: memref.copy %[[A]], %[[B]]
// CHECK: %[[VI:.+]] = memref.subview %[[A]][%[[I]], 0]
// CHECK: %[[VJ:.+]] = memref.subview %[[A]][%[[J]], 0]
// CHECK: memref.copy %[[VI]], %[[VJ]]
// CHECK: return
func.func @real_copies(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %i: index, %j: index) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  %vi = memref.subview %a[%i, 0] [1, 8] [1, 1]
      : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
  %vj = memref.subview %a[%j, 0] [1, 8] [1, 1]
      : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
  memref.copy %vi, %vj : memref<1x8xf32, strided<[8, 1], offset: ?>>
      to memref<1x8xf32, strided<[8, 1], offset: ?>>
  return
}
