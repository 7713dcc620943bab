// RUN: infini-opt %s --split-input-file --verify-diagnostics --allow-unregistered-dialect --infini-verify-host-code | FileCheck %s

// Host code that only allocates device buffers, reads descriptors and
// launches kernels passes; memory access inside kernels is fine.
// CHECK-LABEL: func.func @clean
module attributes {gpu.container_module} {
  func.func @clean(%a: memref<?xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %a, %c0 : memref<?xf32>
    %b = gpu.alloc (%n) : memref<?xf32>
    gpu.launch_func @kernels::@copy blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>, %b : memref<?xf32>)
    gpu.dealloc %b : memref<?xf32>
    return
  }
  gpu.module @kernels {
    gpu.func @copy(%a: memref<?xf32>, %b: memref<?xf32>) kernel {
      %i = gpu.block_id x
      %v = memref.load %a[%i] : memref<?xf32>
      memref.store %v, %b[%i] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

func.func @load(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{infini-verify-host-code: 'memref.load' in host function @load reads or writes a device buffer on the host}}
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @copy(%a: memref<4xf32>, %b: memref<4xf32>) {
  // expected-error @+1 {{'memref.copy' in host function @copy reads or writes a device buffer on the host}}
  memref.copy %a, %b : memref<4xf32> to memref<4xf32>
  return
}

// -----

func.func @linalg(%a: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{'linalg.fill' in host function @linalg computes on buffers on the host}}
  linalg.fill ins(%zero : f32) outs(%a : memref<4xf32>)
  return
}

// -----

func.func @alloc() {
  // expected-error @+1 {{'memref.alloc' in host function @alloc allocates host memory where a device buffer is expected}}
  %a = memref.alloc() : memref<4xf32>
  "test.use"(%a) : (memref<4xf32>) -> ()
  return
}

// -----

func.func @loop(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  // expected-error @+1 {{'scf.parallel' in host function @loop is a loop that was not outlined into a kernel}}
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %one, %a[%i] : memref<4xf32>
    scf.reduce
  }
  return
}
