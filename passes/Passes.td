//===- Passes.td - Passes of the infini compiler ---------------------------===//

#ifndef INFINI_PASSES_PASSES_TD
#define INFINI_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"infini-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower infini ops to linalg, tensor, arith and math";
  let description = [{
    Rewrites every `infini` op into ops on tensors: `linalg.generic` and
    named linalg ops for contractions and element-wise work, `tensor` ops for
    reshapes, and `scf.for` where an op carries a recurrence (the reversed
    cumulative sum of CoPE gates). Matrix products become `linalg.contract`
    ops whose output-column loop reads the weight contiguously: a weight
    with a multiple of 32 output features is packed once per step into
    panels `[O/32, I, 32]` (one register tile's columns as one contiguous
    stream over the reduction), any other is transposed to `[I, O]`; ready
    for `infini-vectorize-contractions`. A projection read only by
    `infini.split_heads` (V, and Q and K where RoPE is not fused into
    them), with head features a multiple of 32, contracts straight into the
    heads' `[B, H, T, Dh]` layout over its panels viewed per head, so it is
    never copied into heads.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect"
  ];
}

def FuseAttention : Pass<"infini-fuse-attention", "mlir::func::FuncOp"> {
  let summary = "Fuse causal local attention into one online-softmax pass over key tiles";
  let description = [{
    Rewrites `infini.local_attention` into an `scf.forall` over (batch, head,
    query tile) whose body walks key tiles up to the diagonal, carrying the
    running row maximum, softmax denominator and unnormalized output (the
    online softmax). Scores exist one `block-size` x `block-size` tile at a
    time; the `[B, H, T, T]` matrix is never materialized. A CoPE bias, when
    present, is read tile by tile.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"64",
           "Query and key tile size (the largest divisor of T up to this)">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect"
  ];
}

def FuseSwiGLU : Pass<"infini-fuse-swiglu", "mlir::func::FuncOp"> {
  let summary = "Compute SwiGLU's gate and up projections as one matrix product";
  let description = [{
    Rewrites `infini.swiglu` (with static weights of a multiple of 32
    features) into one horizontal `linalg.contract` over both weights, packed
    side by side into panels `[F/32, 2, D, 32]` (gate panel p next to up
    panel p; weight-only work that `infini-hoist-weight-preparation` moves
    into the prepare function), an epilogue computing `swish(gate) * up` from
    the two halves of each panel pair, and the down projection reading that
    result directly. Every register tile of the input then feeds both
    projections.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect"
  ];
}

def FuseRope : Pass<"infini-fuse-rope", "mlir::func::FuncOp"> {
  let summary = "Apply RoPE in the epilogue of the projection producing its heads";
  let description = [{
    Rewrites `infini.rope(infini.split_heads(infini.linear(x, W)))` (static
    weight and heads, full rotation) into one `linalg.contract` over `W`'s
    rows reordered into `[H, 2, D, rotary_dim / 2]` (both members of every
    rotated pair side by side; weight-only work that
    `infini-hoist-weight-preparation` moves into the prepare function) and
    one epilogue that rotates each pair from the product and writes the heads
    in `[B, H, T, Dh]` order. The projection is never written and read back
    just to be rotated, and the partner gather disappears. Users of the
    heads are served from the same epilogue: plain users of the unrotated
    heads get them as another result; Infini-attention's memory (the queries
    of `infini.memory_retrieve`, the keys of `infini.memory_update`, rotated
    or not per `memory_uses_rope`) gets their feature map `elu(x) + 1`, zero
    past the update's valid length, and the memory op is lowered on it right
    there, so the memory makes no pass of its own over the keys and queries.
    Partial rotation (`rotary_dim < head_dim`) stays unfused.

    Example (half-split, 2 heads of 4 features):

    ```mlir
    %p = infini.linear %x, %w : tensor<?x8x16xf32>, tensor<8x16xf32> -> tensor<?x8x8xf32>
    %h = infini.split_heads %p : tensor<?x8x8xf32> -> tensor<?x2x8x4xf32>
    %r = infini.rope %h at %offset : tensor<?x2x8x4xf32>
    ```

    becomes a contraction into `tensor<?x8x2x2x2xf32>` (b, t, head, member,
    pair) and a `linalg.generic` yielding `tensor<?x2x8x2x2xf32>` (b, head, t,
    member, pair), collapsed to `tensor<?x2x8x4xf32>`.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect"
  ];
}

def VectorizeContractions : Pass<"infini-vectorize-contractions", "mlir::func::FuncOp"> {
  let summary = "Tile matrix-product contractions into register tiles and vectorize them";
  let description = [{
    With `parallel-rows` set, each contraction is first tiled into an
    `scf.forall` over blocks of the output (batch by 1, `parallel-rows` x
    `parallel-columns`), the unit of work of one thread; a `linalg.fill`
    producing the output is fused into the blocks, so each zeroes its own
    tile and a fill shared by several contractions costs no copies. Then it tiles
    every `linalg` contraction (batch dimensions by 1, the output rows
    and columns into a register tile, the reduction by `reduction-tile`) and
    vectorizes each tile into a `vector.contract`, which later lowers to
    outer products (FMAs) over the register tile. Followed by upstream
    `loop-invariant-subset-hoisting`, the accumulator tile becomes a vector
    carried through the reduction loop, i.e. it stays in registers. Tile sizes that do not
    divide a dimension fall back to the largest divisor below them, so every
    tile is full and no masking is needed.
  }];
  let options = [
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"8",
           "Rows of the output in one register tile">,
    Option<"columnTile", "column-tile", "int64_t", /*default=*/"32",
           "Columns of the output in one register tile">,
    Option<"reductionTile", "reduction-tile", "int64_t", /*default=*/"1",
           "Reduction elements consumed per vector.contract">,
    Option<"parallelRows", "parallel-rows", "int64_t", /*default=*/"0",
           "Rows of the output per parallel task (0: no scf.forall level)">,
    Option<"parallelColumns", "parallel-columns", "int64_t", /*default=*/"256",
           "Columns of the output per parallel task">
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect"
  ];
}

def CloneSharedFills : Pass<"infini-clone-shared-fills", "mlir::func::FuncOp"> {
  let summary = "Give every product filled by one shared linalg.fill a fill of its own";
  let description = [{
    CSE merges identical fills of empty tensors, so one zero fill can be the
    initial value of several products. Bufferized, that fill writes one
    buffer which is then copied for every product but the last. This pass
    gives each destination (`outs`) use of such a fill in the fill's block its
    own `tensor.empty` and `linalg.fill`, placed right before the user, so
    that each bufferizes in place; read-only uses and uses in nested regions
    keep the shared fill. The GPU pipeline runs it before bufferization, and
    `infini-gpu-tile-contractions` then folds a zero fill right before a
    product into the product.
  }];
}

def FoldResidualAdds : Pass<"infini-fold-residual-adds", "mlir::func::FuncOp"> {
  let summary = "Start a product added to a residual from that residual";
  let description = [{
    Rewrites `r = x + P` (an element-wise `linalg.generic` adding two
    tensors), where `P` is a contraction started from a zero `linalg.fill`
    whose result reaches the add alone, directly or through one
    `tensor.collapse_shape`, into the contraction started from `x` (through
    the matching `tensor.expand_shape`): contractions add their products to
    their initial value. The block's residual additions after the output
    and down projections then cost no kernel of their own on the GPU. `x`
    must be defined before the contraction.
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def EraseSelfCopies : Pass<"infini-erase-self-copies", "mlir::func::FuncOp"> {
  let summary = "Erase buffer copies whose source and target are the same view";
  let description = [{
    After bufferization, every tile of a tiled loop nest writes its result
    back with a `memref.copy` from a subview to the same subview. The copy is
    a no-op; erasing it keeps tile loops free of runtime calls.
  }];
}

def HoistWeightPreparation
    : Pass<"infini-hoist-weight-preparation", "mlir::ModuleOp"> {
  let summary = "Move weight packing out of the step into a once-run prepare function";
  let description = [{
    Weight transposes and panel packing depend on the weights alone but sit
    in the step, which runs once per segment. This pass moves them into
    `@<step>_prepare(weights) -> (prepared tensors)`, whose results carry
    `infini.prepared = "prepared.<k>"`; the step takes them as arguments with
    the same attribute. Weights the step then no longer reads leave its
    arguments. The runtime calls the prepare function once, after loading
    the weights, and releases those the step does not take.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def NarrowPreparedWeights
    : Pass<"infini-narrow-prepared-weights", "mlir::ModuleOp"> {
  let summary = "Prepare 16-bit copies of the weights that feed tensor cores";
  let description = [{
    For each model step with a `_prepare` function, rounds to
    `element-type` (f16 or bf16) every prepared f32 tensor whose only uses
    in the step are inputs of contractions (the packed projection weights):
    the prepare function returns the rounded tensor, the step takes it as
    its `infini.prepared` argument, and each contraction reading it is
    generalized with an `arith.extf` of that operand in its payload.

    The GPU pipeline runs it with `tensor-cores=f16|bf16`, whose tensor-core
    products round both operands to 16 bits anyway: the results are
    unchanged, while the device keeps and reads half the bytes per weight.
  }];
  let options = [
    Option<"elementType", "element-type", "std::string", "\"f16\"",
           "Type of the prepared weights: f16 or bf16">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def NarrowSharedOperands
    : Pass<"infini-narrow-shared-operands", "mlir::ModuleOp"> {
  let summary = "Round activations that several tensor-core products read to 16 bits once";
  let description = [{
    In each model step, rounds to `element-type` (f16 or bf16) the f32
    result of an element-wise `linalg.generic` that two or more
    contractions read, and nothing else, each contraction's other input
    being of that type already (a projection over weights that
    `infini-narrow-prepared-weights` rounded): the normalized hidden state
    that a layer's Q, K and V projections read, and its gate and up
    projections. Each contraction reads the rounded tensor instead,
    generalized with an `arith.extf` of it in its payload, and
    `infini-fuse-narrowing` then folds the rounding into the producer,
    which writes 16 bits directly.

    The GPU pipeline runs it with `tensor-cores=f16|bf16`, after
    `infini-narrow-prepared-weights`. Those products rounded the input as
    they staged it, every block again, so their results are unchanged;
    now they stage both inputs without conversion, by `cp.async`
    (`infini-gpu-async-copies`), and read half the bytes. A product's
    input of its own stays f32: its element-wise producer is computed as
    it is staged (`infini-gpu-tile-contractions`).
  }];
  let options = [
    Option<"elementType", "element-type", "std::string", "\"f16\"",
           "Type of the rounded activations: f16 or bf16">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def ApproximateMath : Pass<"infini-approximate-math", "mlir::func::FuncOp"> {
  let summary = "Replace f32 transcendentals with vectorizable polynomial approximations";
  let description = [{
    Softmax and sigmoid loops call `exp` once per element; as a libm call it
    keeps LLVM from vectorizing the loop. This pass rewrites f32 `math.exp`
    (and the other f32 functions MLIR approximates, such as `tanh` and
    `log`) into MLIR's polynomial approximations: arithmetic and bit
    operations, accurate to a few ulp. f64 math (RoPE's angle table) keeps
    its exact lowering.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::vector::VectorDialect"
  ];
}

def ExportStep : Pass<"infini-export-step", "mlir::ModuleOp"> {
  let summary = "Give model step functions the C calling interface the runtime uses";
  let description = [{
    Marks every function with an `infini.input` argument with
    `llvm.emit_c_interface`, so that after results become out-parameters the
    JIT and ahead-of-time paths can call it through MLIR's packed
    `void(void **)` wrapper.
  }];
}

//===----------------------------------------------------------------------===//
// GPU code generation (infini-to-gpu)
//===----------------------------------------------------------------------===//

def CopiesToLinalg : Pass<"infini-copies-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Turn buffer copies into linalg.copy so they become loops";
  let description = [{
    On the GPU every buffer the host sees lives in device memory, so a
    `memref.copy` (a call of the host's `memrefCopy`) cannot stay. This pass
    rewrites each one into `linalg.copy`, which the following loop
    conversion turns into a parallel loop and thus into a kernel like any
    other element-wise op. Copies of a view onto itself are erased.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def GPUMergeIndependentLoops
    : Pass<"infini-gpu-merge-independent-loops", "mlir::func::FuncOp"> {
  let summary = "Merge independent element-wise loops into one kernel";
  let description = [{
    Each outermost `scf.parallel` becomes a kernel launch. This pass merges
    outermost loops of the function's body that run threads alone (no
    nested parallel loop, no reductions, bounds from zero in steps of one,
    every memory effect on a known buffer) into one loop over the sum of
    their iteration counts, at the first one's place, whose iteration runs
    the body of the loop its index falls in, with that loop's induction
    variables (innermost fastest, so accesses stay coalesced). A loop joins
    the group opened by an earlier one when it is independent of the
    group's loops and of every op since the group's first loop (none writes
    a buffer the other accesses, by the aliasing rules of
    `infini::buffersMayAlias`: fresh allocations, weights and the step's
    bound arguments are distinct buffers, a select may be either choice),
    and the values it uses exist there or come from allocations and ops
    free of memory effects, which move up with it. Otherwise it opens a
    group of its own; an op whose memory effects are unknown closes the
    group. The merged loop keeps the loops' common kind (see
    infini-parallel-loops-to-gpu). In the model this launches RoPE of the
    queries and keys and the memory's feature maps of both once per layer,
    and the copies of the output and of every state into the
    out-parameters once.
  }];
}

def ParallelLoopsToGPU : Pass<"infini-parallel-loops-to-gpu", "mlir::func::FuncOp"> {
  let summary = "Launch every outermost parallel loop and all host memory access as a GPU kernel";
  let description = [{
    Maps bufferized loop code onto `gpu.launch` so that the host part of the
    function only allocates buffers, computes sizes and launches kernels:

    1. An outermost `scf.parallel` whose body holds no parallel loop (an
       element-wise op, a register-tiled product) becomes a one-dimensional
       launch: its iteration space is linearized (innermost dimension
       fastest, so consecutive threads touch consecutive elements), cut
       into blocks of `block-size` threads, and each thread runs the body
       for one point, guarded against the ragged last block. Statically
       shaped `memref.alloc`s in the body become thread-private
       `memref.alloca`s at the top of the kernel.
    2. An outermost loop whose body holds parallel loops (the fused
       attention's and CoPE's loops over batch and heads) gets one block
       of `block-size` threads per iteration (or one warp per iteration of
       a warp-level loop in its body holding phases, as
       infini-gpu-flash-attention chooses its warps). The iterations of each
       nested loop are strided over the block's threads (by
       `gpu.block_dim`: the result does not depend on the block size),
       those marked `infini.warp_level` over its warps instead (every lane
       of a warp runs the iteration's warp-level vector code together),
       loops nested deeper run sequentially in their thread, writes outside
       nested loops run in thread 0 alone (warp-level regions in every
       thread of their warp), and `gpu.barrier`s separate
       these phases, except where the phase after a barrier writes nothing
       that the phases since the last barrier kept access, and accesses
       nothing they write (workgroup buffers and the byte ranges of views
       of dynamic shared memory are told apart; global buffers may alias),
       such as a tile product's staging of its two inputs; a warp-level loop may
       itself hold nested loops (a
       warp's accumulators carried in registers across staging phases) when
       it has exactly one iteration per warp: each warp runs its iteration
       and the loops inside are the block's phases, with barriers; serial loops and conditionals around nested loops run
       in every thread with uniform control flow. The body's temporaries
       that are only loaded and stored, directly or through collapse and
       expand views, live in shared memory (vector loads, stores, transfers
       and gathers count as loads and stores): workgroup attributions up
       to the 48 KiB a block gets without opting in, beyond that, up to
       112 KiB, 16-byte aligned `memref.view`s of
       `gpu.dynamic_shared_memory`, whose size the launch passes (the
       runtime opts the kernel in; the flash attention with CoPE over 64
       positions of 64-wide heads takes 52 KiB). The others live in a
       device scratch buffer, one slice per block, viewed with
       `memref.view`. Deallocations in loop bodies are dropped.
    3. Host code that still reads or writes memory outside any parallel
       loop (a zero-rank op, a serial loop) runs in a one-thread launch.

    A parallel loop with reductions, an allocation of dynamic size inside a
    loop body, or memory access whose result the host needs is reported as
    an error rather than left on the host. Every launch names the kernel
    `<function>_kernel_<i>_<kind>` in the gpu.module `module`, so that
    `gpu-kernel-outlining` gathers all kernels into one module and one
    binary, and profiles say what each kernel does. The kind is the one
    the pass that made the loop gave its location (a name
    `infini.kernel.<kind>`: `matmul` from infini-gpu-tile-contractions,
    `reduction` from infini-gpu-warp-reductions, `attention` from
    infini-fuse-attention, `copy` from infini-copies-to-linalg); for other
    loops without nested parallel loops, `reduction` where each thread runs
    a serial loop and `elementwise` where not; other kernels have none.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of each launch">,
    Option<"moduleName", "module", "std::string", /*default=*/"\"infini_kernels\"",
           "gpu.module that gpu-kernel-outlining puts the kernels in">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::gpu::GPUDialect",
    "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect"
  ];
}

def GPUFlashAttention
    : Pass<"infini-gpu-flash-attention", "mlir::func::FuncOp"> {
  let summary = "Causal attention on tensor cores with the scores in registers";
  let description = [{
    Lowers each `infini.local_attention` without a bias or with the bias of
    an `infini.cope` of the same query and key used by it alone, with a
    multiple of 8 positions up to 128 (other biases keep
    `infini-fuse-attention`'s kernel), with static heads and tokens, tokens
    a multiple of 16 and a head size a multiple of 16 up to 128, into the
    flash-attention-2 scheme on tensor cores. It runs in GPU
    stage 1 with `tensor-cores=f16|bf16|tf32x3`, and writes memref code
    (`bufferization.to_buffer` of Q, K and V, `to_tensor` of the output)
    that stage 2 takes as it is.

    One GPU block (an `scf.parallel` iteration, kernel kind `attention`) per
    (batch, head, query tile of 16 rows per warp). Q (times the scale
    below), K and V are first rounded to 16 bits by element-wise
    `linalg.generic`s (which `infini-fuse-narrowing` folds into RoPE's), so
    that the kernel reads half the bytes and copies them to shared memory
    as they are (cp.async, `infini-gpu-async-copies`). A warp-level loop
    gives each warp its 16 query rows: the block stages the Q tile once and
    each 64-key tile of K and V into padded shared-memory tiles (16
    coalesced bytes per thread and step; rows past the segment zero), and
    each warp then takes the key tile in an `infini.mma_fragments` region
    of whole-warp vector code:

    - scores `S = Q K^T log2(e) / sqrt(Dh)` (the logits in base 2) as
      16 x 8 f32 tiles of 16x8x16 `vector.contract`s, K's tile read
      transposed; the factor is applied to Q as it is staged, once, rather
      than to every score;
    - the causal mask, only on tiles reaching past the warp's first row (a
      compare of a constant column-minus-row tile with a per-tile limit);
    - the online softmax: `m' = max(m, rowmax S)` and `l' = l c + rowsum P`
      with `c = 2^(m - m')` and `P = 2^(S - m')` (`vector.multi_reduction`
      over each tile's columns after an element-wise max or sum of the
      tiles; `math.exp2` with `afn`, one `ex2.approx` each);
    - `O' = O c + P V`: two neighbouring score tiles, rounded to 16 bits,
      are one 16 x 16 left operand.

    `O`, `m` and `l` are carried by the key loop in registers (after
    `infini-gpu-warp-mma`); a warp whose rows all precede a key tile skips
    it, and the key walk ends at the tile's last row. A last region writes
    `O / l` from the registers to the output. No scores, probabilities or
    output tiles pass through shared memory. Where shared memory allows
    (up to 112 KiB a block), K and V have two tiles each: the first key
    tile is staged before the loop, and each tile's region follows the
    staging of the next tile into the other buffer with no barrier between
    them (the two touch different buffers), so that the copies fly while
    the warps compute, and the block meets at one barrier per key tile;
    otherwise at two.

    With CoPE the block also stages `E` (`[Dh, P]`) once, and a first
    region writes each warp's `z = q E` (a product of its Q fragments with
    E, the staging scale undone) to its 16 rows of a `16 warps x P` f32
    table in shared memory. The key tiles are then walked from the last to
    the first, each row's sum of the gates right of the tile carried along
    (the online softmax takes any order). Per tile, before the softmax:
    the gates `sigmoid(l)` (zero where masked), each 8-key slice's row sums
    (`vector.multi_reduction`), and the positions `p` = the carried sum,
    plus the slices to the right, plus the suffix sums within the slice (a
    `vector.contract` with the constant 8 x 8 triangle of ones, which
    `infini-gpu-warp-mma` turns into a scan over each row's lanes), clamped
    to `P - 1`; the bias `(1 - w) z[floor p] + w z[ceil p]` reads the
    table with `vector.gather` and is added to the base-2 scores times
    `log2(e)`.

    With `tensor-cores=tf32x3` Q, K and V stay f32 in global memory, each
    block scales and splits them as it stages them, K and V have one tile
    each, and every product is made of TF32 parts (see
    `infini-gpu-tile-contractions`): K and V are
    staged as two tiles each, hi and lo (V's rows padded by 4 elements, the
    right operands being read a row apart), Q as one tile whose parts each
    warp splits as it reads it, and E is read from global memory and split
    likewise (two tiles each would take the block past its shared memory);
    the probabilities are split in the registers; each 16 x 8 by 8 x 8
    product is three `vector.contract`s, lo by hi, hi by lo, hi by hi,
    which `infini-gpu-warp-mma` makes m16n8k8 TF32 `mma.sync`.
  }];
  let options = [
    Option<"tensorCores", "tensor-cores", "std::string", /*default=*/"\"f16\"",
           "The tensor cores' operands: f16, bf16 or tf32x3 (TF32 parts of "
           "f32 values)">,
    Option<"warps", "warps", "int64_t", /*default=*/"4",
           "Warps per GPU block (the kernel's block size is 32 times this), "
           "each owning 16 query rows">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::bufferization::BufferizationDialect",
    "mlir::linalg::LinalgDialect", "mlir::math::MathDialect",
    "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect", "mlir::vector::VectorDialect"
  ];
}

def FuseNarrowing : Pass<"infini-fuse-narrowing", "mlir::func::FuncOp"> {
  let summary = "Fold roundings to 16 bits into their element-wise producers";
  let description = [{
    Fuses each element-wise `linalg.generic` whose payload yields an
    `arith.truncf` of its one input (a rounding, possibly of a scaled
    value, such as the 16-bit copies of Q, K and V that
    `infini-gpu-flash-attention` makes) into the element-wise generic that
    produces that input for it alone, so that the producer writes the
    rounded values directly: with RoPE, Q and K leave its kernel in 16 bits
    and are never written in f32; with `infini-narrow-shared-operands`,
    RMSNorm's scaling writes the projections' 16-bit input. `tensor.dim`s
    of the producer's result read its init instead. GPU stage 1 runs it
    after the lowering to linalg.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def GPUAsyncCopies : Pass<"infini-gpu-async-copies", "mlir::gpu::GPUModuleOp"> {
  let summary = "Copy staged tiles to shared memory with cp.async";
  let description = [{
    In each kernel, turns a `vector.store` into workgroup memory of a
    vector of 4, 8 or 16 bytes that a `vector.load` from global memory
    produced, unchanged or selected against zeros by a scalar condition,
    with no write between the two, into an `nvgpu.device_async_copy`
    (cp.async, `.cg` for 16 bytes; the condition becomes the copy's source
    size, zero filling the rest): the copy takes no registers and the
    thread goes on while it flies. The staging of 16-bit tiles is of this
    form: K and V in the flash attention, the weights of tensor-core
    products.

    The phases of a block are separated by `gpu.barrier`s
    (`infini-parallel-loops-to-gpu`), and a phase reads shared data only
    past a barrier after it was written; so in a kernel with copies, every
    barrier (and the return) is preceded by `cp.async.commit_group` and
    `cp.async.wait_group 0`, which completes each thread's copies before
    the block meets. A copy issued right after a barrier thus overlaps the
    work up to the next one (the double-buffered key tiles of the flash
    attention). Stage 3 of the GPU pipeline runs it.
  }];
  let dependentDialects = ["mlir::nvgpu::NVGPUDialect",
                           "mlir::NVVM::NVVMDialect"];
}

def GPUTileContractions
    : Pass<"infini-gpu-tile-contractions", "mlir::func::FuncOp"> {
  let summary = "Compute register tiles of each matrix product per GPU thread";
  let description = [{
    Rewrites each bufferized linalg contraction (one reduction dimension,
    projected-permutation maps, multiply-accumulate payload; the model's
    projections, attention products and memory reads) outside any parallel
    loop into an `scf.parallel` over its other parallel dimensions and over
    tiles of `tile-rows` x `tile-columns` outputs of its innermost row and
    column dimensions. Each iteration, one GPU thread after
    `infini-parallel-loops-to-gpu`, keeps its tile in registers through the
    serial reduction loop, so that every loaded input element feeds several
    multiply-adds. A tile's columns are strided by the number of column
    tiles, so that neighbouring threads access neighbouring elements
    (coalesced loads and stores); positions past the end of a dimension read
    a clamped element and store nothing.

    With `shared-memory-tiles` and register tiles that divide 64, a product
    whose rows and columns number at least 32 and whose reduction at least 16 (unknown sizes count as large)
    is instead cut into 64 x 64 output tiles (64 x 32 where the innermost
    column dimension has 32 columns, as the projections' weight panels do,
    so that no block computes columns past it), each an iteration of the outer
    loop and so a GPU block of `infini-parallel-loops-to-gpu`'s cooperative
    kind: its accumulators live in a shared-memory tile, and for every
    16-deep slice of the reduction the block first stages the two inputs'
    slices in shared memory (coalesced: consecutive threads read along each
    input's last dimension, e.g. along k for a weight read as W[n][k]; zero
    past the reduction's end; 16 bytes at a time, a `vector.load` of 4 f32
    or 8 f16 elements, where that dimension is contiguous, a static multiple
    of the vector and the tile's row dimension, so that the vector lands in
    one tile row; the block's outputs are written back the same way), then
    each thread updates a register tile of the accumulators from them. The
    phases are nested parallel loops; the block's threads share them and
    meet at barriers in between.

    Where the reduction is a static, even number of slices and shared
    memory allows (112 KiB a block), the staged tiles are double-buffered:
    slice 0 is staged before the slice loop, which takes two slices per
    iteration, staging the slice after each into the other pair of tiles
    in the same barrier interval as the products on the current pair (the
    two phases touch different tiles, so no barrier separates them): one
    barrier per slice instead of two, and copies that
    `infini-gpu-async-copies` makes cp.async (tiles of the inputs' own
    type: f32 ones on CUDA cores, 16-bit weights on tensor cores) fly
    during the products. The last iteration stages one slice past the
    reduction (zeros, from clamped addresses). TF32 parts, split as they
    are staged, keep one pair of tiles.

    A zero `linalg.fill` of the output right before a product (nothing but
    ops free of memory effects in between) is erased, and the product's
    accumulators start from zero instead of from the output: every output
    element is written by the tiled product.

    Consecutive such products of one left operand, with right operands and
    outputs of the same types, maps and payload (the Q, K and V
    projections; SwiGLU's gate and up projections), share one loop of
    blocks when only allocations, ops free of memory effects and their
    zero fills (one before each or none) lie between them, and each writes
    a fresh allocation that no other reads: the loop's first dimension
    picks the product, whose right operand and output the block selects
    (`arith.select` on the buffers), and the ops in between move before
    it. One launch then covers all their blocks, which fill more of the
    device at once than each product's alone.

    An input of such a product that element-wise ops wrote for it alone is
    computed in the staging instead of loaded: the op (a `linalg.generic`
    or `linalg.transpose` with only parallel loops, pure scalar payload
    ops, and one output written through a permutation and not read) is
    erased, and the staging loads its inputs and computes its payload,
    recursively through such ops (up to 4 deep) and through
    `memref.collapse_shape`/`expand_shape` views of static inner sizes.
    The op must be the last one before the product to access its output,
    a fresh allocation; nothing between the op and the product may write
    or free memory that may alias its inputs (fresh allocations and
    `infini.weight`/`infini.prepared` arguments are told apart, other
    arguments may alias; such deallocations move after the product); and
    the output's values must be dead after the product (next freed or
    wholly overwritten). In the model this computes SwiGLU's activation in
    the down projection, the memory gate's mix and the heads' transpose in
    the output projection, and the delta rule's V - retrieved in the memory
    update. Vector staging stays where every input along the vectors is
    contiguous; scalar-only payload ops (a per-head gate's sigmoid) run
    once per vector.

    With `tensor-cores=f16` (or `bf16`), such a product of f32 values, or
    of f32 and already-16-bit values (weights that
    `infini-narrow-prepared-weights` rounded), is computed on tensor cores
    instead (register tiles aside): the block stages f16 (bf16) copies
    of 64-deep slices of its inputs (rows padded by 8 elements, so that
    ldmatrix reads hit distinct banks), and the update is a warp-level
    parallel loop (marked `infini.warp_level`) over warp tiles of the
    accumulators. A warp tile is a grid of 16 x 8 tiles, as many as leave
    each of the block's `warps` warps one warp tile, about twice as many
    tiles across as down (32 x 16 elements for 8 warps and a 64 x 64
    block), so that each operand fragment feeds several products. The
    multiply is a warp-level `scf.execute_region` (also marked): a loop over
    16-deep steps of the slice, each one 16 x 16 f16 read of the left
    operand per tile row, one 16 x 8 read of the right operand per tile
    column and one `vector.contract` into f32 per tile, indices computed by
    `affine.apply`. The lanes of a warp run that vector code together;
    `infini-gpu-warp-mma` in stage 3 turns it into `nvgpu.ldmatrix` and
    `nvgpu.mma.sync` (m16n8k16).

    When the warp tiles number exactly `warps`, the accumulators live in
    registers: the warp-level loop (one iteration per warp) holds the loop
    over slices, which carries each warp's 16 x 8 tiles as vectors starting
    from zero; the block's staging loops inside it are shared by all
    threads (see `infini-parallel-loops-to-gpu`); the multiply region takes
    and yields the tiles; a last region writes them to a padded f32 tile,
    which the block adds to the output. Otherwise they live in that shared
    tile, initialized from the output, and each slice's region reads and
    writes them.
    Products nested directly in a block's loop (the fused attention's score
    and value tiles) whose static sizes are whole 16 x 8 x 16 tiles and
    whose output is a row-major buffer take tensor cores in place: the
    block stages f16 copies of both inputs, then its warps update the
    output warp tile by warp tile. The results
    differ from f32 by the rounding of the operands to f16 (11-bit
    significands), a precision the user opts into.

    With `tensor-cores=tf32x3` the products keep f32 accuracy on tensor
    cores: the staged tiles are f32, two per input, holding each value's
    TF32 parts (hi, the value rounded to 10 fraction bits by integer
    operations on its bits, to nearest with ties away from zero as
    `cvt.rna.tf32.f32`; lo, the rest rounded so), the slices are 32 deep,
    the left tiles' rows padded by 4 elements and the right ones' by 8,
    and each 8-deep step multiplies a tile three times, 16 x 8 by 8 x 8:
    lo by hi, hi by lo, then hi by hi. The dropped lo-by-lo term and the
    roundings err by about 2^-22 of the terms, as f32 products do.
  }];
  let options = [
    Option<"rowTile", "tile-rows", "int64_t", /*default=*/"4",
           "Output rows per register tile">,
    Option<"columnTile", "tile-columns", "int64_t", /*default=*/"4",
           "Output columns per register tile">,
    Option<"sharedMemoryTiles", "shared-memory-tiles", "bool",
           /*default=*/"true",
           "Stage large products through shared-memory tiles">,
    Option<"tensorCores", "tensor-cores", "std::string", /*default=*/"\"none\"",
           "Compute shared-memory tiles on tensor cores: none, f16 or bf16 "
           "(operands rounded to it, f32 accumulation) or tf32x3 (f32 "
           "operands as three products of TF32 parts)">,
    Option<"warps", "warps", "int64_t", /*default=*/"8",
           "Warps per GPU block, among which tensor-core tiles are shared">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect"
  ];
}

def GPUWarpMma : Pass<"infini-gpu-warp-mma", "mlir::gpu::GPUModuleOp"> {
  let summary = "Distribute warp-level tensor-core tiles over lanes (ldmatrix, mma.sync)";
  let description = [{
    Lowers each warp-level `scf.execute_region` (marked `infini.warp_level`
    by `infini-gpu-tile-contractions{tensor-cores=f16}`), whose vector code
    every lane of a warp runs on whole tiles, to per-lane code: the 16 x 16
    and 16 x 8 f16 operand tiles are loaded from shared memory by
    `nvgpu.ldmatrix` (the second transposed), the 16 x 8 f32 accumulator
    tile by per-lane vector loads, each `vector.contract` becomes
    `nvgpu.mma.sync` (m16n8k16, f32 accumulation) and the result is stored
    per lane; the region is then inlined. f32 tiles (the TF32 parts of
    `tensor-cores=tf32x3`) become m16n8k8 products marked `tf32Enabled`,
    their left operands read by ldmatrix as pairs of 16-bit halves and
    their right ones element by element. This is upstream's
    vector-to-nvgpu conversion applied to the region alone: in LLVM 22,
    `convert-vector-to-gpu{use-nvgpu}` run on a whole kernel also claims its
    scalar integer arithmetic as matrix element-wise ops and fails. It has
    no bf16 fragments either, while mma.sync's bf16 form lays its fragments
    out as the f16 one does: a bf16 region's tiles are read through f16
    views of the same shared memory (`builtin.unrealized_conversion_cast`,
    folded away in the LLVM lowering; ldmatrix moves 16-bit words) and each
    resulting mma.sync becomes `nvvm.mma.sync` on bf16 multiplicands, fed the
    same 32-bit registers. A contraction the conversion cannot lower is an
    error. The kernel's workgroup buffers get `llvm.align = 16`: ldmatrix
    reads 16-byte rows at 16-byte aligned addresses, which the padded rows
    keep only if the buffers start aligned (otherwise they are aligned to
    their element type alone).

    Regions marked `infini.mma_fragments` (infini-gpu-flash-attention's)
    are distributed by this pass itself, each kernel's at once: every
    whole-warp vector of theirs, and every vector the loops around them
    carry between them, takes the per-lane type of its layout, told by its
    shape (16 x 8 tiles as mma.sync accumulators or right operands,
    `vector<2x2>`; 16 x 16 tiles as left operands, `vector<4x2>`; 16-row
    vectors as the lane's rows g and g + 8, `vector<2>`; lane = 4 g + t).
    Element-wise ops, selects and conditionals hold as they are; a 16 x 16
    read becomes `ldmatrix.x4`, a 16 x 8 read `ldmatrix.x2` (transposed for
    a k-major tile, as read by an identity map; as it is for an n-major one,
    read through the transposed map), a product `mma.sync` (bf16 ones
    `nvvm.mma.sync` on bf16 multiplicands), a `vector.multi_reduction` over
    a tile's columns the lane's pair and xor shuffles 1 and 2 (the four lanes
    of a row), a product of a 16 x 8 f32 tile with the constant 8 x 8
    triangle of ones (t >= c, the suffix sums along each row) the lane's
    pair and two shuffles down from the lanes right of it in its row, a
    `vector.gather` of a tile from a 1-D buffer (all lanes on) four loads, a broadcast of a row vector (through its 16 x 1 shape cast)
    or of a scalar the lane's values repeated, an `insert_strided_slice` of
    a 16 x 8 tile into a 16 x 16 one the matching register rows (the
    accumulator layout is the left operand's), a constant a splat or, for a
    16 x 8 integer tile affine in row and column, computed from the lane,
    and a 16 x 8 write two 8-byte stores per lane. Any other op on such
    vectors is an error.

    Regions may also carry accumulators in registers: read vectors that an
    enclosing `scf.for` carries (starting from a splat constant) and yield
    updated ones. Loops of 16-deep steps inside a region are unrolled first.
    Each outside vector is read through a distinct splat constant, which the
    conversion turns into a per-lane fragment constant; that constant is
    then replaced by the outside value, and the carrying loop's argument,
    result and initial splat are retyped to the fragment
    (`vector<2x2xf32>`). Each yielded product becomes its `nvgpu.mma.sync`,
    and the region, with its fragment results, stays. An accumulator
    written to memory as it is goes through one mma.sync of zeros, as
    upstream stores only accumulators it computed. Any other vector from
    outside a region is an error.

    ```mlir
    scf.execute_region no_inline {
      %acc = vector.transfer_read %accTile[%r, %c] ... : vector<16x8xf32>
      %a = vector.transfer_read %lhsTile[%r, %k] ... : vector<16x16xf16>
      %b = vector.transfer_read %rhsTile[%k, %c] ... : vector<16x8xf16>
      %d = vector.contract ... %a, %b, %acc
      vector.transfer_write %d, %accTile[%r, %c] ...
      scf.yield
    } {infini.warp_level}
    ```
  }];
  let dependentDialects = [
    "mlir::affine::AffineDialect", "mlir::arith::ArithDialect",
    "mlir::gpu::GPUDialect", "mlir::LLVM::LLVMDialect",
    "mlir::memref::MemRefDialect", "mlir::NVVM::NVVMDialect",
    "mlir::nvgpu::NVGPUDialect", "mlir::vector::VectorDialect"
  ];
}

def GPUWarpReductions
    : Pass<"infini-gpu-warp-reductions", "mlir::func::FuncOp"> {
  let summary = "Reduce each row of a row reduction with a whole warp";
  let description = [{
    Rewrites each bufferized linalg row reduction outside parallel loops or
    directly in a block's loop (the fused attention's row maximum and sum
    over a key tile) (one f32 output, projected-permutation maps, one reduction loop that is
    the innermost and at least 32 long or of unknown length, a payload
    folding a value computed from the inputs into the output with `addf`,
    `maximumf`, `maxnumf`, `minimumf` or `minnumf`: RMSNorm's sum of
    squares, softmax's maximum and sum) so that a warp reduces each row:
    outside parallel loops an `scf.parallel` over blocks of 8 rows holds a
    warp-level parallel loop (marked `infini.warp_level`) over them, in a
    block's loop a warp-level loop over all rows shares them among the
    block's warps; in it lane `l` of `lanes =
    min(32, gpu.block_dim)` folds elements `l, l + lanes, ...` of the row
    (coalesced reads) from the combiner's identity, `gpu.subgroup_reduce`
    combines the lanes' partials, and lane 0 folds the total into the
    output. Before, one thread folded a whole row, its neighbours reading a
    row apart. When a `linalg.fill` of the output comes right before the
    reduction (nothing but ops free of memory effects in between) and every
    output element is a row of its own, the fill is erased and lane 0 folds
    the total into the fill's value instead of reading the output.

    An element-wise `linalg.generic` after a reduction outside parallel
    loops (only allocations and ops free of memory effects in between,
    which move before it) that reads the reduction's output through the
    reduction's own map, has rows of the same static length, and writes a
    buffer the reduction does not touch (reading it only at the element it
    writes) is computed by the warp that reduced each row, right after the
    reduction: its lanes stride over the row, and the row's result comes
    from a register. RMSNorm's scaling and Infini-attention's memory-read
    division then need no kernel of their own.

    Lanes are counted from the block size, so the host emulation's
    one-thread blocks (infini-emulate-gpu) are warps of one lane whose
    subgroup reduction is the identity. The pipeline runs this pass only
    with a block size that is a multiple of 32 (whole warps).
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::gpu::GPUDialect",
    "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect"
  ];
}

def GPUSubgroupReduceToShuffles
    : Pass<"infini-gpu-subgroup-reduce-to-shuffles", "mlir::gpu::GPUModuleOp"> {
  let summary = "Lower gpu.subgroup_reduce to butterfly shuffles of 32 lanes";
  let description = [{
    Expands each `gpu.subgroup_reduce` (infini-gpu-warp-reductions) into
    `gpu.shuffle xor` steps over a 32-lane warp, which convert-gpu-to-nvvm
    lowers to `shfl.sync.bfly`; NVVM has no floating-point lowering of the
    op itself.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
}

def HostAllocsToGPU : Pass<"infini-host-allocs-to-gpu", "mlir::func::FuncOp"> {
  let summary = "Allocate host-side temporaries in device memory";
  let description = [{
    After kernel outlining, every buffer a host function allocates is only
    ever touched by kernels, so it must live in device memory. This pass
    turns `memref.alloc` and `memref.alloca` in host functions into
    `gpu.alloc` and `memref.dealloc` into `gpu.dealloc`. An `alloca` has no
    deallocation; one is added before each return of the function. Run
    `gpu-async-region` afterwards so allocations join the stream.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def VerifyHostCode : Pass<"infini-verify-host-code", "mlir::ModuleOp"> {
  let summary = "Check that host functions never touch device memory";
  let description = [{
    In code for the GPU every memref a host function holds is a device
    pointer. This pass fails, naming the op, if a function outside a
    `gpu.module` still contains an op that would read or write memory on
    the host: `memref.load`, `memref.store`, `memref.copy`,
    `memref.alloc`/`alloca`, any `linalg`, `vector` transfer, `scf.parallel`
    or `scf.forall` op, or an un-outlined `gpu.launch`. It guards the GPU
    pipeline against silently producing host code that would crash.
  }];
}

def EmulateGPU : Pass<"infini-emulate-gpu", "mlir::ModuleOp"> {
  let summary = "Run stage 2's GPU kernels as host loops (a test aid without a GPU)";
  let description = [{
    Turns the output of `infini-linalg-to-gpu` back into host code so that
    `infini-loops-to-llvm` compiles it for the CPU and the numerical tests
    can compare the GPU mapping against the CPU pipeline on machines with no
    GPU. Each `gpu.launch_func` becomes a loop nest over its grid and block
    around an inlined copy of its kernel (block and thread ids the loop
    indices; the kernel's allocas and shared memory, dynamic shared memory
    of the launch's constant size too, become host allocas made once per
    call of the host function, and views of dynamic shared memory views of
    that host memory), `gpu.alloc`/`gpu.dealloc` become
    `memref.alloc`/`memref.dealloc`, and stream tokens and waits are
    dropped: the emulation runs kernels one after another, in program order,
    which is what the stream guarantees. A kernel with barriers or
    `gpu.subgroup_reduce`s (a cooperative launch of
    `infini-parallel-loops-to-gpu`, or warp reductions, whose result does
    not depend on the block size) runs with one thread per block, its
    barriers dropped and its subgroup reductions the identity (warps of one
    lane); kernels with other GPU ops are rejected.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::ub::UBDialect"
  ];
}

#endif // INFINI_PASSES_PASSES_TD
