// RUN: infini-opt %s --pass-pipeline='builtin.module(gpu.module(infini-gpu-warp-mma,canonicalize,cse))' -split-input-file -verify-diagnostics | FileCheck %s

// An infini.mma_fragments region (infini-gpu-flash-attention's) becomes
// per-lane code in the mma.sync layouts, lane = 4 g + t: the loop-carried
// 16 x 8 accumulator and 16-row vector become vector<2x2> and vector<2>;
// Q is read by ldmatrix.x4 (lanes 0-15 rows at column 0, 16-31 at column
// 8), K n-major by ldmatrix.x2 (lanes 0-7 rows at column 0, 8-15 at column
// 8), V k-major by ldmatrix.x2.trans; the affine mask constant is each
// lane's column minus row (2 t + j - g - 8 i); a row maximum combines the
// lane's pair and its row's four lanes by xor shuffles 1 and 2, then the
// carried maximum; a row's broadcast repeats the lane's two rows; two
// 16 x 8 tiles join as the left operand's register rows; the write stores
// rows g and g + 8 at column 2 t.
// CHECK-LABEL: gpu.func @step
// CHECK-SAME: {llvm.align = 16 : i64}
// CHECK: %[[LANE:.+]] = gpu.lane_id
// CHECK: %[[G:.+]] = arith.divui %[[LANE]], %c4
// CHECK: %[[T:.+]] = arith.remui %[[LANE]], %c4
// CHECK: scf.for {{.+}} iter_args(%[[ACC:.+]] = %{{.+}}, %[[MAX:.+]] = %{{.+}}) -> (vector<2x2xf32>, vector<2xf32>)
// CHECK: %[[QROW:.+]] = arith.remui %[[LANE]], %c16
// CHECK: %[[QHALF:.+]] = arith.divui %[[LANE]], %c16
// CHECK: %[[QCOL:.+]] = arith.muli %[[QHALF]], %c8
// CHECK: %[[Q:.+]] = nvgpu.ldmatrix %arg3[%[[QROW]], %[[QCOL]]] {numTiles = 4 : i32, transpose = false} : memref<16x24xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: %[[KMATRIX:.+]] = arith.remui %{{.+}}, %c2
// CHECK: %[[KROW:.+]] = arith.remui %[[LANE]], %c8
// CHECK: %[[KCOL:.+]] = arith.muli %[[KMATRIX]], %c8
// CHECK: %[[K0:.+]] = nvgpu.ldmatrix %arg4[%[[KROW]], %[[KCOL]]] {numTiles = 2 : i32, transpose = false} : memref<16x24xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
// CHECK: %[[KROW1:.+]] = arith.addi %[[KROW]], %c8
// CHECK: %[[K1:.+]] = nvgpu.ldmatrix %arg4[%[[KROW1]], %[[KCOL]]]
// CHECK: %[[S0:.+]] = nvgpu.mma.sync(%[[Q]], %[[K0]], %{{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: %[[S1:.+]] = nvgpu.mma.sync(%[[Q]], %[[K1]], %{{.+}})
// CHECK: %[[TWOT:.+]] = arith.muli %[[T]], %c2
// CHECK: %[[O00:.+]] = arith.subi %[[TWOT]], %[[G]]
// CHECK: %[[E00:.+]] = arith.index_cast %[[O00]]
// CHECK: %[[TWOT1:.+]] = arith.addi %[[TWOT]], %c1
// CHECK: %[[O01:.+]] = arith.subi %[[TWOT1]], %[[G]]
// CHECK: %[[E01:.+]] = arith.index_cast %[[O01]]
// CHECK: %[[G8:.+]] = arith.addi %[[G]], %c8
// CHECK: %[[O10:.+]] = arith.subi %[[TWOT]], %[[G8]]
// CHECK: %[[E10:.+]] = arith.index_cast %[[O10]]
// CHECK: %[[O11:.+]] = arith.subi %[[TWOT1]], %[[G8]]
// CHECK: %[[E11:.+]] = arith.index_cast %[[O11]]
// CHECK: %[[OFFSETS:.+]] = vector.from_elements %[[E00]], %[[E01]], %[[E10]], %[[E11]] : vector<2x2xi32>
// CHECK: arith.cmpi sle, %[[OFFSETS]], %{{.+}} : vector<2x2xi32>
// CHECK: %[[BOTH:.+]] = arith.maximumf
// CHECK-DAG: %[[B01:.+]] = vector.extract %[[BOTH]][0, 1] : f32 from vector<2x2xf32>
// CHECK-DAG: %[[B00:.+]] = vector.extract %[[BOTH]][0, 0] : f32 from vector<2x2xf32>
// CHECK: %[[PAIR:.+]] = arith.maximumf %[[B00]], %[[B01]] : f32
// CHECK: %[[X1:.+]], %{{.+}} = gpu.shuffle xor %[[PAIR]], %c1_i32, %c32_i32 : f32
// CHECK: %[[R1:.+]] = arith.maximumf %[[PAIR]], %[[X1]] : f32
// CHECK: %[[X2:.+]], %{{.+}} = gpu.shuffle xor %[[R1]], %c2_i32, %c32_i32 : f32
// CHECK: %[[R2:.+]] = arith.maximumf %[[R1]], %[[X2]] : f32
// CHECK: %[[OLD0:.+]] = vector.extract %[[MAX]][0] : f32 from vector<2xf32>
// CHECK: %[[ROW0:.+]] = arith.maximumf %[[OLD0]], %[[R2]] : f32
// CHECK: gpu.shuffle xor
// CHECK: gpu.shuffle xor
// CHECK: %[[OLD1:.+]] = vector.extract %[[MAX]][1] : f32 from vector<2xf32>
// CHECK: %[[ROW1:.+]] = arith.maximumf %[[OLD1]], %{{.+}} : f32
// CHECK: %[[NEWMAX:.+]] = vector.from_elements %[[ROW0]], %[[ROW1]] : vector<2xf32>
// CHECK: vector.from_elements %[[ROW0]], %[[ROW0]], %[[ROW1]], %[[ROW1]] : vector<2x2xf32>
// CHECK: %[[P0:.+]] = math.exp %{{.+}} fastmath<afn> : vector<2x2xf32>
// CHECK: %[[P1:.+]] = math.exp %{{.+}} fastmath<afn> : vector<2x2xf32>
// CHECK: %[[P00:.+]] = vector.extract %[[P0]][0] : vector<2xf32> from vector<2x2xf32>
// CHECK: %[[P01:.+]] = vector.extract %[[P0]][1] : vector<2xf32> from vector<2x2xf32>
// CHECK: %[[P10:.+]] = vector.extract %[[P1]][0] : vector<2xf32> from vector<2x2xf32>
// CHECK: %[[P11:.+]] = vector.extract %[[P1]][1] : vector<2xf32> from vector<2x2xf32>
// CHECK: %[[E0:.+]]:2 = vector.to_elements %[[P00]]
// CHECK: %[[E1:.+]]:2 = vector.to_elements %[[P01]]
// CHECK: %[[E2:.+]]:2 = vector.to_elements %[[P10]]
// CHECK: %[[E3:.+]]:2 = vector.to_elements %[[P11]]
// CHECK: %[[JOINED:.+]] = vector.from_elements %[[E0]]#0, %[[E0]]#1, %[[E1]]#0, %[[E1]]#1, %[[E2]]#0, %[[E2]]#1, %[[E3]]#0, %[[E3]]#1 : vector<4x2xf32>
// CHECK: %[[PROBS:.+]] = arith.truncf %[[JOINED]] : vector<4x2xf32> to vector<4x2xf16>
// CHECK: %[[V:.+]] = nvgpu.ldmatrix %arg5[%[[QROW]], %c0] {numTiles = 2 : i32, transpose = true}
// CHECK: %[[O:.+]] = nvgpu.mma.sync(%[[PROBS]], %[[V]], %[[ACC]])
// CHECK: scf.yield %[[O]], %[[NEWMAX]] : vector<2x2xf32>, vector<2xf32>
// CHECK: } {infini.mma_fragments, infini.warp_level}
// CHECK: scf.execute_region no_inline
// CHECK: %[[COLUMN:.+]] = arith.muli %[[T]], %c2
// CHECK: %[[ROWG:.+]] = arith.addi %arg2, %[[G]]
// CHECK: %[[HALF0:.+]] = vector.extract %{{.+}}#0[0] : vector<2xf32> from vector<2x2xf32>
// CHECK: vector.store %[[HALF0]], %arg0[%[[ROWG]], %[[COLUMN]]] : memref<64x8xf32>, vector<2xf32>
// CHECK: %[[G8B:.+]] = arith.addi %[[G]], %c8
// CHECK: %[[ROWG8:.+]] = arith.addi %arg2, %[[G8B]]
// CHECK: %[[HALF1:.+]] = vector.extract %{{.+}}#0[1] : vector<2xf32> from vector<2x2xf32>
// CHECK: vector.store %[[HALF1]], %arg0[%[[ROWG8]], %[[COLUMN]]]
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#t = affine_map<(d0, d1) -> (d1, d0)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @step(%out: memref<64x8xf32>, %end: index, %row: index)
        workgroup(%queries: memref<16x24xf16, #gpu.address_space<workgroup>>,
                  %keys: memref<16x24xf16, #gpu.address_space<workgroup>>,
                  %values: memref<16x24xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %zeros = arith.constant dense<0.0> : vector<16x8xf32>
      %lowest = arith.constant dense<0xFF800000> : vector<16xf32>
      %result:2 = scf.for %key = %c0 to %end step %c16 iter_args(%acc = %zeros, %max = %lowest) -> (vector<16x8xf32>, vector<16xf32>) {
        %next:2 = scf.execute_region -> (vector<16x8xf32>, vector<16xf32>) no_inline {
          %pad = arith.constant 0.0 : f16
          %q = vector.transfer_read %queries[%c0, %c0], %pad {in_bounds = [true, true]} : memref<16x24xf16, #gpu.address_space<workgroup>>, vector<16x16xf16>
          %k0 = vector.transfer_read %keys[%c0, %c0], %pad {in_bounds = [true, true], permutation_map = #t} : memref<16x24xf16, #gpu.address_space<workgroup>>, vector<16x8xf16>
          %k1 = vector.transfer_read %keys[%c8, %c0], %pad {in_bounds = [true, true], permutation_map = #t} : memref<16x24xf16, #gpu.address_space<workgroup>>, vector<16x8xf16>
          %s0 = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %q, %k0, %zeros : vector<16x16xf16>, vector<16x8xf16> into vector<16x8xf32>
          %s1 = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %q, %k1, %zeros : vector<16x16xf16>, vector<16x8xf16> into vector<16x8xf32>
          %offsets = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7], [-1, 0, 1, 2, 3, 4, 5, 6], [-2, -1, 0, 1, 2, 3, 4, 5], [-3, -2, -1, 0, 1, 2, 3, 4], [-4, -3, -2, -1, 0, 1, 2, 3], [-5, -4, -3, -2, -1, 0, 1, 2], [-6, -5, -4, -3, -2, -1, 0, 1], [-7, -6, -5, -4, -3, -2, -1, 0], [-8, -7, -6, -5, -4, -3, -2, -1], [-9, -8, -7, -6, -5, -4, -3, -2], [-10, -9, -8, -7, -6, -5, -4, -3], [-11, -10, -9, -8, -7, -6, -5, -4], [-12, -11, -10, -9, -8, -7, -6, -5], [-13, -12, -11, -10, -9, -8, -7, -6], [-14, -13, -12, -11, -10, -9, -8, -7], [-15, -14, -13, -12, -11, -10, -9, -8]]> : vector<16x8xi32>
          %limit = arith.index_cast %row : index to i32
          %limits = vector.broadcast %limit : i32 to vector<16x8xi32>
          %visible = arith.cmpi sle, %offsets, %limits : vector<16x8xi32>
          %m0 = arith.select %visible, %s0, %zeros : vector<16x8xi1>, vector<16x8xf32>
          %both = arith.maximumf %m0, %s1 : vector<16x8xf32>
          %newMax = vector.multi_reduction <maximumf>, %both, %max [1] : vector<16x8xf32> to vector<16xf32>
          %column = vector.shape_cast %newMax : vector<16xf32> to vector<16x1xf32>
          %maxTile = vector.broadcast %column : vector<16x1xf32> to vector<16x8xf32>
          %d0 = arith.subf %m0, %maxTile : vector<16x8xf32>
          %d1 = arith.subf %s1, %maxTile : vector<16x8xf32>
          %p0 = math.exp %d0 fastmath<afn> : vector<16x8xf32>
          %p1 = math.exp %d1 fastmath<afn> : vector<16x8xf32>
          %wide = arith.constant dense<0.0> : vector<16x16xf32>
          %j0 = vector.insert_strided_slice %p0, %wide {offsets = [0, 0], strides = [1, 1]} : vector<16x8xf32> into vector<16x16xf32>
          %j1 = vector.insert_strided_slice %p1, %j0 {offsets = [0, 8], strides = [1, 1]} : vector<16x8xf32> into vector<16x16xf32>
          %p = arith.truncf %j1 : vector<16x16xf32> to vector<16x16xf16>
          %v = vector.transfer_read %values[%c0, %c0], %pad {in_bounds = [true, true]} : memref<16x24xf16, #gpu.address_space<workgroup>>, vector<16x8xf16>
          %o = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %p, %v, %acc : vector<16x16xf16>, vector<16x8xf16> into vector<16x8xf32>
          scf.yield %o, %newMax : vector<16x8xf32>, vector<16xf32>
        } {infini.mma_fragments, infini.warp_level}
        scf.yield %next#0, %next#1 : vector<16x8xf32>, vector<16xf32>
      }
      scf.execute_region no_inline {
        vector.transfer_write %result#0, %out[%row, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<64x8xf32>
        scf.yield
      } {infini.mma_fragments, infini.warp_level}
      gpu.return
    }
  }
}

// -----

// bf16: the tiles are read through f16 views (ldmatrix moves 16-bit words)
// and multiplied by nvvm.mma.sync on bf16, fed the same registers.
// CHECK-LABEL: gpu.func @bf16
// CHECK: %[[VIEW:.+]] = builtin.unrealized_conversion_cast %arg1 : memref<16x24xbf16, #gpu.address_space<workgroup>> to memref<16x24xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.ldmatrix %[[VIEW]]{{.+}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix %[[VIEW]]{{.+}} {numTiles = 2 : i32, transpose = true}
// CHECK: nvvm.mma.sync {{.+}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @bf16(%out: memref<16x8xf32>, %tile: memref<16x24xbf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      scf.execute_region no_inline {
        %pad = arith.constant 0.0 : bf16
        %zeros = arith.constant dense<0.0> : vector<16x8xf32>
        %a = vector.transfer_read %tile[%c0, %c0], %pad {in_bounds = [true, true]} : memref<16x24xbf16, #gpu.address_space<workgroup>>, vector<16x16xbf16>
        %b = vector.transfer_read %tile[%c0, %c0], %pad {in_bounds = [true, true]} : memref<16x24xbf16, #gpu.address_space<workgroup>>, vector<16x8xbf16>
        %d = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %a, %b, %zeros : vector<16x16xbf16>, vector<16x8xbf16> into vector<16x8xf32>
        vector.transfer_write %d, %out[%c0, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<16x8xf32>
        scf.yield
      } {infini.mma_fragments, infini.warp_level}
      gpu.return
    }
  }
}

// -----

// CoPE's pieces: a product with the 8 x 8 triangle of ones (t >= c) is the
// suffix sum along each row, the lane's pair and then the pairs of the
// lanes right of it in its row (two shuffles down, each kept only from a
// lane of the same row: t + offset < 4), column 2 t summing from itself on
// and 2 t + 1 without column 2 t; a gather from a 1-D table is four loads
// per lane at the base plus each index.
// CHECK-LABEL: gpu.func @cope
// CHECK: %[[LANE:.+]] = gpu.lane_id
// CHECK: %[[T:.+]] = arith.remui %[[LANE]], %c4
// CHECK: %[[PAIR:.+]] = arith.addf %arg3, %arg3 : f32
// CHECK: %[[D1:.+]], %{{.+}} = gpu.shuffle down %[[PAIR]], %c1_i32, %c32_i32 : f32
// CHECK: %[[T1:.+]] = arith.addi %[[T]], %c1
// CHECK: %[[IN1:.+]] = arith.cmpi ult, %[[T1]], %c4
// CHECK: %[[R1:.+]] = arith.select %[[IN1]], %[[D1]], %[[ZERO:.+]] : f32
// CHECK: %[[S1:.+]] = arith.addf %[[PAIR]], %[[R1]] : f32
// CHECK: %[[D2:.+]], %{{.+}} = gpu.shuffle down %[[S1]], %c2_i32, %c32_i32 : f32
// CHECK: %[[T2:.+]] = arith.addi %[[T]], %c2
// CHECK: %[[IN2:.+]] = arith.cmpi ult, %[[T2]], %c4
// CHECK: %[[R2:.+]] = arith.select %[[IN2]], %[[D2]], %[[ZERO]] : f32
// CHECK: %[[SUFFIX:.+]] = arith.addf %[[S1]], %[[R2]] : f32
// CHECK: %[[EVEN:.+]] = arith.addf %[[SUFFIX]], %[[ZERO]] : f32
// CHECK: %[[LESS:.+]] = arith.subf %[[SUFFIX]], %arg3 : f32
// CHECK: %[[ODD:.+]] = arith.addf %[[LESS]], %[[ZERO]] : f32
// CHECK: %[[SUMS:.+]] = vector.from_elements %[[EVEN]], %[[ODD]], %[[EVEN]], %[[ODD]] : vector<2x2xf32>
// CHECK: %[[AT:.+]] = arith.fptosi %[[SUMS]] : vector<2x2xf32> to vector<2x2xi32>
// CHECK: %[[I00:.+]] = vector.extract %[[AT]][0, 0] : i32 from vector<2x2xi32>
// CHECK: %[[O00:.+]] = arith.index_cast %[[I00]] : i32 to index
// CHECK: %[[A00:.+]] = arith.addi %arg2, %[[O00]] : index
// CHECK: %[[Z00:.+]] = memref.load %arg1[%[[A00]]] : memref<512xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-3: memref.load %arg1
// CHECK-NOT: vector.gather
// CHECK-NOT: vector.contract
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @cope(%gates: memref<16x8xf32>, %table: memref<512xf32, #gpu.address_space<workgroup>>, %base: index, %x: f32) kernel {
      %c0 = arith.constant 0 : index
      scf.execute_region no_inline {
        %pad = arith.constant 0.0 : f32
        %zeros = arith.constant dense<0.0> : vector<16x8xf32>
        %ones = arith.constant dense<[[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]> : vector<8x8xf32>
        %all = arith.constant dense<true> : vector<16x8xi1>
        %g = vector.broadcast %x : f32 to vector<16x8xf32>
        %suffix = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %g, %ones, %zeros : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
        %at = arith.fptosi %suffix : vector<16x8xf32> to vector<16x8xi32>
        %z = vector.gather %table[%base] [%at], %all, %zeros : memref<512xf32, #gpu.address_space<workgroup>>, vector<16x8xi32>, vector<16x8xi1>, vector<16x8xf32> into vector<16x8xf32>
        vector.transfer_write %z, %gates[%c0, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<16x8xf32>
        scf.yield
      } {infini.mma_fragments, infini.warp_level}
      gpu.return
    }
  }
}

// -----

// Tiles must come from shared memory as 16-bit words.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @global_tile(%tile: memref<16x16xf16>) kernel {
      %c0 = arith.constant 0 : index
      scf.execute_region no_inline {
        %pad = arith.constant 0.0 : f16
        // expected-error @below {{in a fragment region must read 16-bit tiles from shared memory}}
        %a = vector.transfer_read %tile[%c0, %c0], %pad {in_bounds = [true, true]} : memref<16x16xf16>, vector<16x16xf16>
        %b = arith.addf %a, %a : vector<16x16xf16>
        scf.yield
      } {infini.mma_fragments, infini.warp_level}
      gpu.return
    }
  }
}

// -----

// A whole-warp value of no fragment layout cannot be distributed.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @no_layout(%out: memref<32xf32>) kernel {
      %c0 = arith.constant 0 : index
      scf.execute_region no_inline {
        %x = arith.constant dense<1.0> : vector<16x8xf32>
        // expected-error @below {{cannot be distributed over a warp's lanes}}
        %y = vector.shape_cast %x : vector<16x8xf32> to vector<128xf32>
        scf.yield
      } {infini.mma_fragments, infini.warp_level}
      gpu.return
    }
  }
}

// -----

// TF32 parts (tensor-cores=tf32x3): a 16 x 8 f32 left operand is read in
// the accumulators' layout (8-byte pairs at rows g and g + 8, column 2 t),
// an 8 x 8 right operand as rows 2 t and 2 t + 1 of column g (K n-major,
// read transposed: the pair's two neighbours in row g; V k-major: two
// rows), and each product is an m16n8k8 mma.sync marked tf32Enabled whose
// left operand registers are the lane's elements (0,0), (1,0), (0,1),
// (1,1): its columns t and t + 4 are the tile's 2 t and 2 t + 1, matched by
// the right operand's rows. A split in the registers (the parts of a tile
// read once) stays element-wise.
// CHECK-LABEL: gpu.func @tf32
// CHECK: %[[LANE:.+]] = gpu.lane_id
// CHECK: %[[G:.+]] = arith.divui %[[LANE]], %c4
// CHECK: %[[T:.+]] = arith.remui %[[LANE]], %c4
// CHECK: %[[TWOT:.+]] = arith.muli %[[T]], %c2
// CHECK: %[[QA:.+]] = vector.load %arg0[%[[G]], %[[TWOT]]] : memref<16x16xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: %[[Q00:.+]] = vector.extract %[[QA]][0]
// CHECK: %[[Q01:.+]] = vector.extract %[[QA]][1]
// CHECK: %[[G8:.+]] = arith.addi %[[G]], %c8
// CHECK: %[[QB:.+]] = vector.load %arg0[%[[G8]], %[[TWOT]]] : memref<16x16xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: %[[Q10:.+]] = vector.extract %[[QB]][0]
// CHECK: %[[Q11:.+]] = vector.extract %[[QB]][1]
// CHECK: %[[K0:.+]] = memref.load %arg1[%[[G]], %[[TWOT]]] : memref<8x16xf32, #gpu.address_space<workgroup>>
// CHECK: %[[TWOT1:.+]] = arith.addi %[[TWOT]], %c1
// CHECK: %[[K1:.+]] = memref.load %arg1[%[[G]], %[[TWOT1]]] : memref<8x16xf32, #gpu.address_space<workgroup>>
// CHECK: %[[K:.+]] = vector.from_elements %[[K0]], %[[K1]] : vector<2x1xf32>
// CHECK: %[[A:.+]] = vector.from_elements %[[Q00]], %[[Q10]], %[[Q01]], %[[Q11]] : vector<4x1xf32>
// CHECK: %[[S:.+]] = nvgpu.mma.sync(%[[A]], %[[K]], %{{.+}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: arith.bitcast %[[S]] : vector<2x2xf32> to vector<2x2xi32>
// CHECK: %[[V0:.+]] = memref.load %arg2[%[[TWOT]], %[[G]]] : memref<8x8xf32, #gpu.address_space<workgroup>>
// CHECK: %[[V1:.+]] = memref.load %arg2[%[[TWOT1]], %[[G]]] : memref<8x8xf32, #gpu.address_space<workgroup>>
// CHECK: %[[V:.+]] = vector.from_elements %[[V0]], %[[V1]] : vector<2x1xf32>
// CHECK: nvgpu.mma.sync(%{{.+}}, %[[V]], %{{.+}}) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK-NOT: vector.contract
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @tf32(%q: memref<16x16xf32, #gpu.address_space<workgroup>>,
                   %k: memref<8x16xf32, #gpu.address_space<workgroup>>,
                   %v: memref<8x8xf32, #gpu.address_space<workgroup>>,
                   %out: memref<16x8xf32, #gpu.address_space<workgroup>>) kernel {
      scf.execute_region no_inline {
        %c0 = arith.constant 0 : index
        %zero = arith.constant 0.0 : f32
        %acc = arith.constant dense<0.0> : vector<16x8xf32>
        %half = arith.constant dense<4096> : vector<16x8xi32>
        %keep = arith.constant dense<-8192> : vector<16x8xi32>
        %qa = vector.transfer_read %q[%c0, %c0], %zero {in_bounds = [true, true]} : memref<16x16xf32, #gpu.address_space<workgroup>>, vector<16x8xf32>
        %kt = vector.transfer_read %k[%c0, %c0], %zero {in_bounds = [true, true], permutation_map = affine_map<(d0, d1) -> (d1, d0)>} : memref<8x16xf32, #gpu.address_space<workgroup>>, vector<8x8xf32>
        %s = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %qa, %kt, %acc : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
        %bits = arith.bitcast %s : vector<16x8xf32> to vector<16x8xi32>
        %rounded = arith.addi %bits, %half : vector<16x8xi32>
        %cleared = arith.andi %rounded, %keep : vector<16x8xi32>
        %p = arith.bitcast %cleared : vector<16x8xi32> to vector<16x8xf32>
        %vt = vector.transfer_read %v[%c0, %c0], %zero {in_bounds = [true, true]} : memref<8x8xf32, #gpu.address_space<workgroup>>, vector<8x8xf32>
        %o = vector.contract {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %p, %vt, %acc : vector<16x8xf32>, vector<8x8xf32> into vector<16x8xf32>
        vector.transfer_write %o, %out[%c0, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<16x8xf32, #gpu.address_space<workgroup>>
        scf.yield
      } {infini.warp_level, infini.mma_fragments}
      gpu.return
    }
  }
}
