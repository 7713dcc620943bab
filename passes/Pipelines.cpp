//===- Pipelines.cpp - The infini-to-cpu pipeline and its stages ----------===//
//
// The CPU pipeline runs in three named stages so tools can stop after any of
// them or dump the IR between them: `linalg` (infini ops to linalg on
// tensors), `loops` (register-tiled, vectorized, bufferized loops with
// out-parameters) and `llvm` (the LLVM dialect, ready for translation).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

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
  // Residual additions are element-wise arith ops on tensors in the model.
  addPasses(pm,
            "infini-lower-to-linalg,func.func(convert-elementwise-to-linalg),"
            "canonicalize,cse,infini-hoist-weight-preparation");
}

void infini::buildLinalgToLoopsPipeline(OpPassManager &pm,
                                        const CPUPipelineOptions &options) {
  addPasses(pm, "infini-export-step");
  if (options.vectorize)
    addPasses(pm, std::string("func.func(infini-vectorize-contractions{") +
                      (options.parallel ? "parallel-rows=64" : "") +
                      "}),canonicalize,cse,loop-invariant-subset-hoisting,"
                      "canonicalize,cse");
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
  addPasses(pm, "func.func(infini-erase-self-copies,convert-linalg-to-loops,"
                "scf-forall-to-parallel),canonicalize,cse");
}

void infini::buildLoopsToLLVMPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &) {
  addPasses(pm,
            "func.func(convert-vector-to-scf{full-unroll=1},"
            "infini-approximate-math),"
            "convert-scf-to-openmp,canonicalize,lower-affine,convert-scf-to-cf,"
            "canonicalize,"
            "expand-strided-metadata,lower-affine,"
            "convert-vector-to-llvm{vector-contract-lowering=outerproduct},"
            "finalize-memref-to-llvm,convert-math-to-llvm,"
            "convert-math-to-libm,convert-arith-to-llvm,convert-index-to-llvm,"
            "convert-func-to-llvm,convert-cf-to-llvm,convert-openmp-to-llvm,"
            "convert-ub-to-llvm,reconcile-unrealized-casts,canonicalize,cse");
}

void infini::buildInfiniToCPUPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options) {
  buildInfiniToLinalgPipeline(pm, options);
  buildLinalgToLoopsPipeline(pm, options);
  buildLoopsToLLVMPipeline(pm, options);
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
}
