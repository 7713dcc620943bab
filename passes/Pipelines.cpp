//===- Pipelines.cpp - The infini-to-cpu/gpu pipelines and their stages ---===//
//
// The CPU pipeline runs in three named stages so tools can stop after any of
// them or dump the IR between them: `linalg` (infini ops to linalg on
// tensors), `loops` (register-tiled, vectorized, bufferized loops with
// out-parameters) and `llvm` (the LLVM dialect, ready for translation).
//
// The GPU pipeline shares the first stage and the calling convention: stage
// 2 bufferizes the same way and outlines all computation into kernels,
// stage 3 compiles the kernels to a `gpu.binary` through NVVM and lowers
// the host code, whose memrefs are all device buffers, to the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>

using namespace mlir;

/// Appends a textual pass pipeline whose text is fixed in this file; a parse
/// failure is a bug in this file, not a user error.
static void addPasses(OpPassManager &pm, StringRef pipeline) {
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("infini: malformed built-in pipeline: " +
                             pipeline);
}

void infini::buildInfiniToLinalgPipeline(OpPassManager &pm,
                                         const CPUPipelineOptions &options) {
  if (options.fuseAttention)
    addPasses(pm, "func.func(infini-fuse-attention)");
  if (options.fuseSwiGLU)
    addPasses(pm, "func.func(infini-fuse-swiglu)");
  if (options.fuseRope)
    addPasses(pm, "func.func(infini-fuse-rope)");
  // Residual additions are element-wise arith ops on tensors in the model.
  addPasses(pm,
            "infini-lower-to-linalg,func.func(convert-elementwise-to-linalg),"
            "canonicalize,cse,infini-hoist-weight-preparation");
}

/// Stage 2 of both targets up to and including the result out-parameters.
static void addBufferization(OpPassManager &pm) {
  // Results become out-parameters so the step has one calling convention
  // for the JIT and ahead-of-time code: every argument a buffer or scalar.
  addPasses(pm,
            "one-shot-bufferize{bufferize-function-boundaries=1 "
            "function-boundary-type-conversion=identity-layout-map},"
            "buffer-results-to-out-params{modify-public-functions=1 "
            "hoist-static-allocs=1 hoist-dynamic-allocs=1},canonicalize,"
            "ownership-based-buffer-deallocation,"
            "buffer-deallocation-simplification,"
            "bufferization-lower-deallocations,convert-bufferization-to-memref,"
            "canonicalize,cse");
}

void infini::buildLinalgToLoopsPipeline(OpPassManager &pm,
                                        const CPUPipelineOptions &options) {
  addPasses(pm, "infini-export-step");
  if (options.vectorize)
    addPasses(pm, std::string("func.func(infini-vectorize-contractions{") +
                      (options.parallel ? "parallel-rows=64" : "") +
                      "}),canonicalize,cse,loop-invariant-subset-hoisting,"
                      "canonicalize,cse");
  addBufferization(pm);
  addPasses(pm, "func.func(infini-erase-self-copies,convert-linalg-to-loops,"
                "scf-forall-to-parallel),canonicalize,cse");
}

void infini::buildLoopsToLLVMPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &) {
  addPasses(pm,
            "func.func(lower-vector-multi-reduction,"
            "convert-vector-to-scf{full-unroll=1},infini-approximate-math),"
            "convert-scf-to-openmp,canonicalize,lower-affine,convert-scf-to-cf,"
            "canonicalize,"
            "expand-strided-metadata,lower-affine,"
            "convert-vector-to-llvm{vector-contract-lowering=outerproduct},"
            "finalize-memref-to-llvm{use-generic-functions=1},"
            "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
            "convert-index-to-llvm,"
            "convert-func-to-llvm,convert-cf-to-llvm,convert-openmp-to-llvm,"
            "convert-ub-to-llvm,reconcile-unrealized-casts,canonicalize,cse");
}

void infini::buildInfiniToCPUPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options) {
  buildInfiniToLinalgPipeline(pm, options);
  buildLinalgToLoopsPipeline(pm, options);
  buildLoopsToLLVMPipeline(pm, options);
}

/// The lowest PTX ISA version (x10) each chip needs, for the chips that both
/// LLVM 22's NVPTX backend and CUDA 13's ptxas support.
static std::optional<unsigned> minimumPTXVersion(StringRef chip) {
  return llvm::StringSwitch<std::optional<unsigned>>(chip)
      .Case("sm_75", 63)
      .Case("sm_80", 70)
      .Case("sm_86", 71)
      .Case("sm_87", 74)
      .Case("sm_89", 78)
      .Case("sm_90", 78)
      .Case("sm_90a", 80)
      .Cases({"sm_100", "sm_100a"}, 86)
      .Cases({"sm_103", "sm_103a"}, 88)
      .Cases({"sm_120", "sm_120a"}, 87)
      .Cases({"sm_121", "sm_121a"}, 88)
      .Default(std::nullopt);
}

LogicalResult infini::verifyGPUPipelineOptions(
    const GPUPipelineOptions &options,
    function_ref<LogicalResult(const Twine &)> emitError) {
  std::optional<unsigned> minimum = minimumPTXVersion(options.chip);
  if (!minimum)
    return emitError("unsupported GPU chip '" + options.chip +
                     "'; expected one of sm_75, sm_80, sm_86, sm_87, sm_89, "
                     "sm_90, sm_90a, sm_100(a), sm_103(a), sm_120(a), "
                     "sm_121(a)");
  // The PTX version is the one feature; LLVM aborts on a version the chip
  // does not support, so check it here.
  unsigned ptx = 0;
  SmallVector<StringRef> features;
  StringRef(options.features).split(features, ',', -1, false);
  for (StringRef feature : features)
    if (!feature.consume_front("+ptx") || feature.getAsInteger(10, ptx))
      return emitError("unsupported GPU features '" + options.features +
                       "'; expected a PTX ISA version such as +ptx80");
  if (ptx < *minimum)
    return emitError("GPU chip '" + options.chip + "' needs PTX ISA " +
                     Twine(*minimum / 10) + "." + Twine(*minimum % 10) +
                     " or newer; got features '" + options.features + "'");
  if (options.format != "fatbin" && options.format != "bin" &&
      options.format != "isa")
    return emitError("unsupported GPU binary format '" + options.format +
                     "'; expected fatbin, bin or isa");
  if (options.optLevel > 3)
    return emitError("GPU opt-level must be 0 to 3");
  if (options.registerTile < 1 || options.registerTile > 8)
    return emitError("GPU register-tile must be in [1, 8]");
  if (options.blockSize < 1 || options.blockSize > 1024)
    return emitError("GPU block-size must be in [1, 1024]");
  if (options.tensorCores != "none" && options.tensorCores != "f16" &&
      options.tensorCores != "bf16" && options.tensorCores != "tf32x3")
    return emitError("unsupported GPU tensor-cores '" + options.tensorCores +
                     "'; expected none, f16, bf16 or tf32x3");
  // Tensor-core code runs in whole warps.
  if (options.tensorCores != "none" && options.blockSize % kWarpSize != 0)
    return emitError("GPU tensor-cores needs a block-size that is a multiple "
                     "of 32");
  return success();
}

void infini::buildLinalgToGPUPipeline(OpPassManager &pm,
                                      const GPUPipelineOptions &options) {
  addPasses(pm, "infini-export-step,func.func(infini-clone-shared-fills,"
                "infini-fold-residual-adds)");
  addBufferization(pm);
  // Row reductions go to whole warps, which need whole-warp blocks.
  if (options.blockSize % kWarpSize == 0)
    addPasses(pm, "func.func(infini-gpu-warp-reductions)");
  // Matrix products become loops over register tiles (or shared-memory
  // tiles), the other copies and linalg ops parallel loops (reductions stay
  // serial loops inside them), and each outermost loop a launch.
  if (options.registerTile > 1)
    addPasses(
        pm,
        "func.func(infini-gpu-tile-contractions{tile-rows=" +
            std::to_string(options.registerTile) +
            " tile-columns=" + std::to_string(options.registerTile) +
            " shared-memory-tiles=" + (options.sharedMemoryTiles ? "1" : "0") +
            " tensor-cores=" + options.tensorCores.getValue() + " warps=" +
            std::to_string(
                std::max<int64_t>(1, options.blockSize / kWarpSize)) +
            "})");
  addPasses(pm, "func.func(infini-erase-self-copies,infini-copies-to-linalg,"
                "convert-linalg-to-parallel-loops,scf-forall-to-parallel),"
                "canonicalize,cse,"
                "func.func(infini-gpu-merge-independent-loops),canonicalize");
  addPasses(pm,
            "func.func(infini-parallel-loops-to-gpu{block-size=" +
                std::to_string(options.blockSize) +
                "}),canonicalize,func.func(gpu-launch-sink-index-computations),"
                "gpu-kernel-outlining,canonicalize,cse");
  // Host temporaries in device memory; gpu.alloc and launches then join
  // one stream, which the function waits for before it returns.
  addPasses(pm, "func.func(infini-host-allocs-to-gpu,gpu-async-region),"
                "canonicalize,cse,infini-verify-host-code");
}

void infini::buildGPUToLLVMPipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  // Warp-level vector contractions (tensor-core tiles) become ldmatrix and
  // mma.sync on each lane's fragments; kernels without them are unchanged.
  // Unconverted copies into shared memory become cp.async (sm_80 on).
  addPasses(pm,
            std::string("infini-verify-host-code,gpu.module(infini-gpu-"
                        "warp-mma,") +
                (options.chip == "sm_75" ? "" : "infini-gpu-async-copies,") +
                "canonicalize,cse),convert-scf-to-cf,"
                "expand-strided-metadata,lower-affine");
  addPasses(pm, "nvvm-attach-target{chip=" + options.chip +
                    " features=" + options.features +
                    " O=" + std::to_string(options.optLevel) + "}");
  addPasses(pm, "gpu.module(infini-gpu-subgroup-reduce-to-shuffles,"
                "convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,"
                "canonicalize,cse,"
                "reconcile-unrealized-casts)");
  addPasses(pm, "finalize-memref-to-llvm,convert-math-to-llvm,"
                "convert-arith-to-llvm,convert-index-to-llvm,"
                "convert-func-to-llvm,convert-cf-to-llvm,gpu-to-llvm,"
                "convert-ub-to-llvm,reconcile-unrealized-casts");
  std::string binary =
      "gpu-module-to-binary{format=" + options.format.getValue();
  if (!options.toolkit.empty())
    binary += " toolkit=" + options.toolkit.getValue();
  addPasses(pm, binary + "},canonicalize,cse");
}

void infini::buildInfiniToGPULinalgPipeline(OpPassManager &pm,
                                            const GPUPipelineOptions &options) {
  // Attention, with CoPE's bias or none, runs on tensor cores with its
  // scores in registers; sizes the flash kernel does not take keep the
  // generic fused kernel. Blocks of 4
  // warps (64 query rows) keep more blocks in flight at batch 1 than the
  // other kernels' block size would.
  if (options.fuseAttention && options.tensorCores != "none")
    addPasses(pm, "func.func(infini-gpu-flash-attention{tensor-cores=" +
                      options.tensorCores.getValue() + " warps=" +
                      std::to_string(std::clamp<int64_t>(
                          options.blockSize / kWarpSize, 1, 4)) +
                      "})");
  CPUPipelineOptions linalgOptions;
  linalgOptions.fuseAttention = options.fuseAttention;
  // The GPU's contraction tiling expects one column dimension.
  linalgOptions.fuseSwiGLU = false;
  linalgOptions.fuseRope = false;
  buildInfiniToLinalgPipeline(pm, linalgOptions);
  // (TF32 parts are split from f32 weights as they are staged.)
  // 16-bit weights, activations that several products read rounded where
  // they are computed, and the flash attention's Q, K and V rounded by
  // RoPE's kernel.
  if (options.tensorCores == "f16" || options.tensorCores == "bf16") {
    std::string type = options.tensorCores.getValue();
    addPasses(pm, "infini-narrow-prepared-weights{element-type=" + type +
                      "},infini-narrow-shared-operands{element-type=" + type +
                      "},func.func(infini-fuse-narrowing),canonicalize,cse");
  }
}

void infini::buildInfiniToGPUPipeline(OpPassManager &pm,
                                      const GPUPipelineOptions &options) {
  buildInfiniToGPULinalgPipeline(pm, options);
  buildLinalgToGPUPipeline(pm, options);
  buildGPUToLLVMPipeline(pm, options);
}

/// Registers a GPU pipeline whose options are checked when it is parsed, so
/// a bad chip is a one-line error rather than an abort in LLVM.
static void registerGPUPipeline(
    StringRef name, StringRef description,
    void (*build)(OpPassManager &, const infini::GPUPipelineOptions &)) {
  registerPassPipeline(
      name, description,
      [build](OpPassManager &pm, StringRef text,
              function_ref<LogicalResult(const Twine &)> emitError) {
        infini::GPUPipelineOptions options;
        if (failed(options.parseFromString(text)) ||
            failed(infini::verifyGPUPipelineOptions(options, emitError)))
          return failure();
        build(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(infini::GPUPipelineOptions());
      });
}

void infini::registerInfiniPassesAndPipelines() {
  registerInfiniPasses();
  PassPipelineRegistration<CPUPipelineOptions>(
      "infini-to-cpu",
      "Lower infini ops to the LLVM dialect for the host CPU (all stages)",
      buildInfiniToCPUPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "infini-to-linalg", "Stage 1 of infini-to-cpu: infini ops to linalg",
      buildInfiniToLinalgPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "infini-linalg-to-loops",
      "Stage 2 of infini-to-cpu: vectorized, bufferized loops",
      buildLinalgToLoopsPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "infini-loops-to-llvm", "Stage 3 of infini-to-cpu: the LLVM dialect",
      buildLoopsToLLVMPipeline);
  registerGPUPipeline("infini-to-gpu",
                      "Lower infini ops to host LLVM dialect code launching "
                      "NVIDIA GPU kernels (all stages)",
                      buildInfiniToGPUPipeline);
  registerGPUPipeline("infini-to-gpu-linalg",
                      "Stage 1 of infini-to-gpu: infini ops to linalg, with "
                      "tensor cores 16-bit prepared weights",
                      buildInfiniToGPULinalgPipeline);
  registerGPUPipeline("infini-linalg-to-gpu",
                      "Stage 2 of infini-to-gpu: bufferized, outlined GPU "
                      "kernels launched by host functions",
                      buildLinalgToGPUPipeline);
  registerGPUPipeline("infini-gpu-to-llvm",
                      "Stage 3 of infini-to-gpu: NVVM kernels in a gpu.binary, "
                      "host code in the LLVM dialect",
                      buildGPUToLLVMPipeline);
}
