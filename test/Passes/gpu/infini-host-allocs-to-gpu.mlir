// RUN: infini-opt %s --split-input-file --verify-diagnostics --allow-unregistered-dialect --pass-pipeline='builtin.module(func.func(infini-host-allocs-to-gpu))' | FileCheck %s

// Host temporaries move to device memory; an alloca gets a deallocation
// before the return.
// CHECK-LABEL: func.func @temporaries
// CHECK-SAME: (%[[N:[^:]+]]: index)
// CHECK-NEXT: %[[A:.+]] = gpu.alloc (%[[N]]) : memref<?xf32>
// CHECK-NEXT: %[[B:.+]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: "test.use"(%[[A]], %[[B]])
// CHECK-NEXT: gpu.dealloc %[[A]] : memref<?xf32>
// CHECK-NEXT: gpu.dealloc %[[B]] : memref<4xf32>
// CHECK-NEXT: return
func.func @temporaries(%n: index) {
  %a = memref.alloc(%n) {alignment = 64 : i64} : memref<?xf32>
  %b = memref.alloca() : memref<4xf32>
  "test.use"(%a, %b) : (memref<?xf32>, memref<4xf32>) -> ()
  memref.dealloc %a : memref<?xf32>
  return
}

// -----

func.func @nested_alloca(%c: i1) {
  scf.if %c {
    // expected-error @+1 {{nested in host control flow cannot move to device memory}}
    %b = memref.alloca() : memref<4xf32>
    "test.use"(%b) : (memref<4xf32>) -> ()
  }
  return
}
