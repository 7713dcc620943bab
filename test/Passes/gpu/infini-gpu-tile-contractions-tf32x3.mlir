// RUN: infini-opt %s --pass-pipeline='builtin.module(func.func(infini-gpu-tile-contractions{tensor-cores=tf32x3}),canonicalize,cse)' -split-input-file | FileCheck %s

// With tensor-cores=tf32x3 a large f32 product stages each input's TF32
// parts in two f32 tiles per input, 32 deep (left rows padded by 4, right
// ones by 8): hi is the value rounded by integer operations on its bits
// (add half of the last kept bit, clear the 13 dropped ones), lo the rest
// rounded so. Each 8-deep step reads the hi and lo fragments of A (16 x 8)
// and of B (8 x 8) and multiplies each tile three times: lo by hi, hi by
// lo, hi by hi.
// CHECK-LABEL: func.func @large
// CHECK-SAME: (%[[A:[^:]+]]: memref<?x100xf32>, %[[B:[^:]+]]: memref<100x96xf32>, %[[C:[^:]+]]: memref<?x96xf32>)
// CHECK-DAG: %[[HALF:.+]] = arith.constant dense<4096> : vector<4xi32>
// CHECK-DAG: %[[KEEP:.+]] = arith.constant dense<-8192> : vector<4xi32>
// CHECK-DAG: %[[AHI:.+]] = memref.alloc() : memref<64x36xf32>
// CHECK-DAG: %[[ALO:.+]] = memref.alloc() : memref<64x36xf32>
// CHECK-DAG: %[[BHI:.+]] = memref.alloc() : memref<32x72xf32>
// CHECK-DAG: %[[BLO:.+]] = memref.alloc() : memref<32x72xf32>
// CHECK: scf.for %{{.+}} = %c0 to %c100 step %c32 iter_args(
// CHECK: %[[AV:.+]] = vector.load %[[A]]{{.*}} : memref<?x100xf32>, vector<4xf32>
// CHECK: %[[X:.+]] = arith.select %{{.+}}, %[[AV]], %{{.+}} : vector<4xf32>
// CHECK: %[[BITS:.+]] = arith.bitcast %[[X]] : vector<4xf32> to vector<4xi32>
// CHECK: %[[ROUNDED:.+]] = arith.addi %[[BITS]], %[[HALF]] : vector<4xi32>
// CHECK: %[[CLEARED:.+]] = arith.andi %[[ROUNDED]], %[[KEEP]] : vector<4xi32>
// CHECK: %[[HI:.+]] = arith.bitcast %[[CLEARED]] : vector<4xi32> to vector<4xf32>
// CHECK: %[[REST:.+]] = arith.subf %[[X]], %[[HI]] : vector<4xf32>
// CHECK: %[[RBITS:.+]] = arith.bitcast %[[REST]] : vector<4xf32> to vector<4xi32>
// CHECK: arith.addi %[[RBITS]], %[[HALF]]
// CHECK: %[[LO:.+]] = arith.bitcast %{{.+}} : vector<4xi32> to vector<4xf32>
// CHECK: vector.store %[[HI]], %[[AHI]]
// CHECK: vector.store %[[LO]], %[[ALO]]
// CHECK: vector.store %{{.+}}, %[[BHI]]
// CHECK: vector.store %{{.+}}, %[[BLO]]
// CHECK: scf.execute_region -> (vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>, vector<16x8xf32>) no_inline {
// CHECK: scf.for %[[K:.+]] = %c0 to %c32 step %c8 iter_args(%[[S0:[a-z0-9_]+]] = 
// CHECK-DAG: %[[A0HI:.+]] = vector.transfer_read %[[AHI]][%{{.+}}, %[[K]]]{{.*}} vector<16x8xf32>
// CHECK-DAG: %[[A0LO:.+]] = vector.transfer_read %[[ALO]][%{{.+}}, %[[K]]]{{.*}} vector<16x8xf32>
// CHECK-DAG: %[[B0HI:.+]] = vector.transfer_read %[[BHI]][%[[K]], %{{.+}}]{{.*}} vector<8x8xf32>
// CHECK-DAG: %[[B0LO:.+]] = vector.transfer_read %[[BLO]][%[[K]], %{{.+}}]{{.*}} vector<8x8xf32>
// CHECK: %[[P0:.+]] = vector.contract {{.+}} %[[A0LO]], %[[B0HI]], %[[S0]] : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
// CHECK: %[[P1:.+]] = vector.contract {{.+}} %[[A0HI]], %[[B0LO]], %[[P0]]
// CHECK: vector.contract {{.+}} %[[A0HI]], %[[B0HI]], %[[P1]]
func.func @large(%a: memref<?x100xf32>, %b: memref<100x96xf32>, %c: memref<?x96xf32>) {
  linalg.matmul ins(%a, %b : memref<?x100xf32>, memref<100x96xf32>) outs(%c : memref<?x96xf32>)
  return
}

// -----

// A product in a block's loop (the generic fused attention's tiles) of
// whole 16 x 8 x 8 tiles takes tensor cores in place, from TF32 parts too.
// CHECK-LABEL: func.func @nested
// CHECK: scf.forall
// CHECK-DAG: %[[AHI:.+]] = memref.alloc() : memref<32x12xf32>
// CHECK-DAG: %[[ALO:.+]] = memref.alloc() : memref<32x12xf32>
// CHECK: arith.andi
// CHECK: memref.store %{{.+}}, %[[AHI]]
// CHECK: memref.store %{{.+}}, %[[ALO]]
// CHECK-DAG: %[[BHI:.+]] = memref.alloc() : memref<8x24xf32>
// CHECK-DAG: %[[BLO:.+]] = memref.alloc() : memref<8x24xf32>
// CHECK: scf.execute_region no_inline {
// CHECK-COUNT-3: vector.contract {{.+}} : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
// CHECK-NOT: linalg.matmul
func.func @nested(%a: memref<4x32x8xf32>, %b: memref<8x16xf32>) {
  scf.forall (%i) in (4) {
    %tile = memref.subview %a[%i, 0, 0] [1, 32, 8] [1, 1, 1] : memref<4x32x8xf32> to memref<32x8xf32, strided<[8, 1], offset: ?>>
    %out = memref.alloc() : memref<32x16xf32>
    linalg.matmul ins(%tile, %b : memref<32x8xf32, strided<[8, 1], offset: ?>>, memref<8x16xf32>) outs(%out : memref<32x16xf32>)
    memref.dealloc %out : memref<32x16xf32>
  }
  return
}
