//===- Passes.h - Passes and pipelines of the infini compiler ---*- C++ -*-===//

#ifndef INFINI_PASSES_PASSES_H
#define INFINI_PASSES_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
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

/// Marks a parallel loop nested in a GPU block whose iterations belong to
/// whole warps rather than threads: its body is warp-level vector code
/// (tensor-core products) that every lane of the warp runs.
inline constexpr llvm::StringLiteral kWarpLevelAttrName = "infini.warp_level";

/// Marks a warp-level region whose whole-warp vectors infini-gpu-warp-mma
/// distributes itself, in the mma.sync fragment layout: 16 x 8 tiles as
/// accumulators, 16 x 16 tiles as left operands, 16-row vectors as one
/// value per row (see infini-gpu-flash-attention).
inline constexpr llvm::StringLiteral kMmaFragmentsAttrName =
    "infini.mma_fragments";

/// Prefix of the name on the location of a loop that becomes a GPU kernel
/// of a known kind; infini-parallel-loops-to-gpu names the kernel
/// `<function>_kernel_<i>_<kind>`, so profiles say what each kernel is.
inline constexpr llvm::StringLiteral kKernelKindPrefix = "infini.kernel.";

/// `loc` named for a loop that becomes a kernel of `kind`, an identifier
/// ("matmul", "reduction", "attention", "copy").
inline mlir::Location kernelKindLoc(mlir::Location loc, llvm::StringRef kind) {
  return mlir::NameLoc::get(
      mlir::StringAttr::get(loc.getContext(), kKernelKindPrefix + kind), loc);
}

/// The TF32 parts of `value` (f32, or a vector of f32) for
/// tensor-cores=tf32x3: hi, the value rounded to TF32 (to nearest, ties
/// away from zero, as cvt.rna.tf32.f32), and lo, the rest rounded so; by
/// integer operations on the bits, so that the host emulation rounds
/// exactly as the GPU.
std::pair<mlir::Value, mlir::Value>
splitTF32(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value value);

/// Gives `reshape` (a memref.collapse_shape or expand_shape) the memory
/// space of its source, after the source moved (to shared or host memory).
inline void takeSourceMemorySpace(mlir::Operation *reshape) {
  auto source = mlir::cast<mlir::MemRefType>(reshape->getOperand(0).getType());
  auto type = mlir::cast<mlir::MemRefType>(reshape->getResult(0).getType());
  reshape->getResult(0).setType(
      mlir::MemRefType::get(type.getShape(), type.getElementType(),
                            type.getLayout(), source.getMemorySpace()));
}

/// Whether `loop`'s body holds another `scf.parallel`: on the GPU the loop
/// is then a cooperative block of phases rather than threads alone.
inline bool hasNestedParallelLoop(mlir::scf::ParallelOp loop) {
  return loop.getBody()
      ->walk(
          [](mlir::scf::ParallelOp) { return mlir::WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Threads of an NVIDIA warp, which the warp-level code assumes.
inline constexpr int64_t kWarpSize = 32;

/// Shared memory a GPU block may use at most, as dynamic shared memory the
/// runtime opts its kernel into: within what sm_80 gives a block (163 KiB),
/// and room for two such blocks per multiprocessor on sm_90 (227 KiB).
/// Temporaries past it stay in global memory.
inline constexpr int64_t kSharedMemoryBytes = 112 * 1024;
/// Alignment of each buffer in dynamic shared memory (ldmatrix reads, and
/// cp.async writes, 16-byte rows).
inline constexpr int64_t kSharedBufferAlignment = 16;

/// Bytes a static shared-memory buffer of `type` takes, aligned as
/// infini-parallel-loops-to-gpu places it.
inline int64_t sharedBufferBytes(mlir::MemRefType type) {
  return llvm::alignTo(type.getNumElements() * type.getElementTypeBitWidth() /
                           8,
                       kSharedBufferAlignment);
}

/// The indices into `operand` of `op` at the iteration point `point` (one
/// value per loop of `op`, whose maps are projected permutations).
llvm::SmallVector<mlir::Value>
operandIndices(mlir::linalg::LinalgOp op, mlir::OpOperand &operand,
               mlir::ArrayRef<mlir::Value> point);

/// The number of `scf.parallel`/`scf.forall` loops around `op`. On the GPU,
/// a block's warps can share only work directly in a block's loop (depth
/// 1): loops nested deeper run in one thread each.
unsigned countEnclosingParallelLoops(mlir::Operation *op);

/// The `linalg.fill` of `op`'s one output buffer right before `op`, with
/// nothing but ops free of memory effects in between, or null. A GPU
/// rewrite of `op` that writes every output element can fold the fill into
/// its initial value: one kernel and one pass over the output fewer.
mlir::linalg::FillOp fillRightBefore(mlir::linalg::LinalgOp op);

/// Patterns lowering each infini op family to linalg/tensor/arith/math.
void populateLowerNormAndFeedForwardPatterns(mlir::RewritePatternSet &patterns);
void populateLowerRopePatterns(mlir::RewritePatternSet &patterns);
void populateLowerCopePatterns(mlir::RewritePatternSet &patterns);
void populateLowerAttentionPatterns(mlir::RewritePatternSet &patterns);
void populateLowerMemoryPatterns(mlir::RewritePatternSet &patterns);
/// Fused online-softmax attention over key tiles of `blockSize`.
void populateFuseAttentionPatterns(mlir::RewritePatternSet &patterns,
                                   int64_t blockSize);
/// SwiGLU's gate and up projections as one horizontal product.
void populateFuseSwiGLUPatterns(mlir::RewritePatternSet &patterns);
/// RoPE applied in the epilogue of the projection producing its heads.
void populateFuseRopePatterns(mlir::RewritePatternSet &patterns);
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
  Option<bool> fuseSwiGLU{
      *this, "fuse-swiglu",
      llvm::cl::desc("Gate and up projections as one product "
                     "(infini-fuse-swiglu)"),
      llvm::cl::init(true)};
  Option<bool> fuseRope{
      *this, "fuse-rope",
      llvm::cl::desc(
          "RoPE in the Q/K projections' epilogue (infini-fuse-rope)"),
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

/// Options of the `infini-to-gpu` pipeline (NVIDIA GPUs through NVVM).
struct GPUPipelineOptions
    : public mlir::PassPipelineOptions<GPUPipelineOptions> {
  Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc(
          "GPU architecture to generate code for (sm_75 .. sm_121a)"),
      llvm::cl::init("sm_80")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features; must name a PTX ISA the chip supports "
                     "(+ptx80 covers sm_75 to sm_90a)"),
      llvm::cl::init("+ptx80")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Form of the embedded gpu.binary: fatbin (cubin for the "
                     "chip plus PTX), bin (cubin) or isa (PTX text)"),
      llvm::cl::init("fatbin")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit holding ptxas, fatbinary and libdevice "
                     "(empty: MLIR's lookup through CUDA_ROOT and friends)"),
      llvm::cl::init("/usr/local/cuda")};
  Option<unsigned> optLevel{*this, "opt-level",
                            llvm::cl::desc("Optimization level of the kernels"),
                            llvm::cl::init(3)};
  Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block of element-wise kernels"),
      llvm::cl::init(256)};
  Option<bool> fuseAttention{
      *this, "fuse-attention",
      llvm::cl::desc("Fused online-softmax attention (infini-fuse-attention)"),
      llvm::cl::init(false)};
  Option<int64_t> registerTile{
      *this, "register-tile",
      llvm::cl::desc("Rows and columns of the register tile each thread "
                     "computes of a matrix product (1: one output a thread)"),
      llvm::cl::init(4)};
  Option<bool> sharedMemoryTiles{
      *this, "shared-memory-tiles",
      llvm::cl::desc("Stage large matrix products through 64x64 "
                     "shared-memory tiles per block"),
      llvm::cl::init(true)};
  Option<std::string> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Matrix products on tensor cores (mma.sync): none, f16 "
                     "or bf16 (operands rounded to it, f32 accumulation), or "
                     "tf32x3 (f32 operands as three products of TF32 parts)"),
      llvm::cl::init("none")};
};

/// Checks the chip, PTX features and binary format of `options`, reporting
/// the first problem as one line through `emitError`. The GPU pipelines
/// call it when they are parsed from text; C++ callers should call it
/// before building them.
mlir::LogicalResult verifyGPUPipelineOptions(
    const GPUPipelineOptions &options,
    llvm::function_ref<mlir::LogicalResult(const llvm::Twine &)> emitError);

/// infini dialect to linalg on tensors for the GPU (stage 1 of
/// `infini-to-gpu`): the CPU's stage 1 without the fusions the GPU's tiling
/// does not take, and with tensor cores 16-bit prepared weights.
void buildInfiniToGPULinalgPipeline(mlir::OpPassManager &pm,
                                    const GPUPipelineOptions &options);
/// Bufferized linalg to outlined GPU kernels launched from host functions
/// whose every memref is a device buffer (stage 2 of `infini-to-gpu`).
void buildLinalgToGPUPipeline(mlir::OpPassManager &pm,
                              const GPUPipelineOptions &options);
/// Kernels to NVVM and a `gpu.binary`, host code to the LLVM dialect
/// calling MLIR's `mgpu*` runtime wrappers (stage 3 of `infini-to-gpu`).
void buildGPUToLLVMPipeline(mlir::OpPassManager &pm,
                            const GPUPipelineOptions &options);
/// The three stages in order: infini ops to host LLVM dialect plus kernels.
void buildInfiniToGPUPipeline(mlir::OpPassManager &pm,
                              const GPUPipelineOptions &options);

/// Registers the passes above, the `infini-to-cpu` and `infini-to-gpu`
/// pipelines and their stages.
void registerInfiniPassesAndPipelines();

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace infini

#endif // INFINI_PASSES_PASSES_H
