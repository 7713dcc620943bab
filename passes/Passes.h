//===- Passes.h - Passes and pipelines of the infini compiler ---*- C++ -*-===//

#ifndef INFINI_PASSES_PASSES_H
#define INFINI_PASSES_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class RewritePatternSet;
class TypeConverter;
class OpPassManager;
} // namespace mlir

namespace infini {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Patterns lowering each infini op family to linalg/tensor/arith/math.
void populateLowerNormAndFeedForwardPatterns(mlir::RewritePatternSet &patterns);
void populateLowerRopePatterns(mlir::RewritePatternSet &patterns);
void populateLowerCopePatterns(mlir::RewritePatternSet &patterns);
void populateLowerAttentionPatterns(mlir::RewritePatternSet &patterns);
void populateLowerMemoryPatterns(mlir::RewritePatternSet &patterns);
/// Fused online-softmax attention over key tiles of `blockSize`.
void populateFuseAttentionPatterns(mlir::RewritePatternSet &patterns,
                                   int64_t blockSize);
/// All the per-op-family lowerings (not the fusions).
void populateLowerToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// Options of the `infini-to-cpu` pipeline.
struct CPUPipelineOptions
    : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<bool> vectorize{*this, "vectorize",
                         llvm::cl::desc("Tile and vectorize matrix products"),
                         llvm::cl::init(true)};
  Option<bool> fuseAttention{
      *this, "fuse-attention",
      llvm::cl::desc("Fused online-softmax attention (infini-fuse-attention)"),
      llvm::cl::init(true)};
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run blocks of each matrix product on OpenMP threads"),
      llvm::cl::init(true)};
};

/// infini dialect to linalg on tensors (the "linalg" stage).
void buildInfiniToLinalgPipeline(mlir::OpPassManager &pm,
                                 const CPUPipelineOptions &options);
/// linalg on tensors to vectorized, bufferized loops (the "loops" stage).
void buildLinalgToLoopsPipeline(mlir::OpPassManager &pm,
                                const CPUPipelineOptions &options);
/// Loops and vectors to the LLVM dialect (the "llvm" stage).
void buildLoopsToLLVMPipeline(mlir::OpPassManager &pm,
                              const CPUPipelineOptions &options);
/// The three stages in order: infini ops to LLVM dialect for the host CPU.
void buildInfiniToCPUPipeline(mlir::OpPassManager &pm,
                              const CPUPipelineOptions &options);

/// Registers the passes above, the `infini-to-cpu` pipeline and its stages.
void registerInfiniPassesAndPipelines();

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace infini

#endif // INFINI_PASSES_PASSES_H
