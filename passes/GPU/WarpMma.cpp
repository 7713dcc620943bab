//===- WarpMma.cpp - The infini-gpu-warp-mma pass -------------------------===//
//
// The tensor-core tiles of infini-gpu-tile-contractions are warp-level
// vector code: every lane of a warp runs the same transfers and
// contractions of whole 16 x 8 tiles. This pass distributes that code over
// the lanes with upstream's vector-to-nvgpu conversion (each lane loads its
// fragments with ldmatrix, the warp multiplies with mma.sync, each lane
// stores its part of the accumulators).
//
// The conversion runs on each warp-level region alone: applied to a whole
// kernel, LLVM 22's convert-vector-to-gpu{use-nvgpu} also claims the
// kernel's scalar integer arithmetic as matrix element-wise ops and fails.
//
// It has no bf16 fragments either, while mma.sync's bf16 form uses the very
// fragment layouts of the f16 one. So a bf16 region is converted as f16:
// its operand tiles are read through f16 views of the same shared memory
// (ldmatrix only moves 16-bit words), and each resulting f16 mma.sync is
// then rewritten as nvvm.mma.sync on bf16 multiplicands, fed the same
// registers.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Conversion/VectorToGPU/VectorToGPU.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace infini {
#define GEN_PASS_DEF_GPUWARPMMA
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Reads the bf16 operand tiles of `region` through f16 views of the same
/// buffers, so that upstream's conversion takes them; returns whether the
/// region had any.
static bool punBF16AsF16(IRRewriter &rewriter, scf::ExecuteRegionOp region) {
  Type f16 = rewriter.getF16Type();
  DenseMap<Value, Value> views;
  bool punned = false;
  region.walk([&](vector::TransferReadOp read) {
    auto type = dyn_cast<MemRefType>(read.getBase().getType());
    if (!type || !type.getElementType().isBF16())
      return;
    Value &view = views[read.getBase()];
    if (!view) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPoint(region);
      MemRefType f16Type = MemRefType::get(
          type.getShape(), f16, type.getLayout(), type.getMemorySpace());
      view = UnrealizedConversionCastOp::create(rewriter, region.getLoc(),
                                                f16Type, read.getBase())
                 .getResult(0);
    }
    rewriter.setInsertionPoint(read);
    Value padding = arith::ConstantOp::create(rewriter, read.getLoc(),
                                              rewriter.getZeroAttr(f16));
    auto punnedRead = vector::TransferReadOp::create(
        rewriter, read.getLoc(),
        VectorType::get(read.getVectorType().getShape(), f16), view,
        read.getIndices(), padding, read.getPermutationMap(),
        read.getInBoundsValues());
    rewriter.replaceOp(read, punnedRead);
    punned = true;
  });
  return punned;
}

/// The 32-bit registers holding `fragment` (rows of two 16-bit values), as
/// mma.sync takes bf16 multiplicands.
static SmallVector<Value> packedRegisters(IRRewriter &rewriter, Location loc,
                                          Value fragment) {
  auto type = cast<VectorType>(fragment.getType());
  SmallVector<Value> registers;
  for (int64_t row = 0; row < type.getDimSize(0); ++row) {
    Value pair = vector::ExtractOp::create(rewriter, loc, fragment, row);
    Value word = vector::BitCastOp::create(
        rewriter, loc, VectorType::get({1}, rewriter.getI32Type()), pair);
    registers.push_back(vector::ExtractOp::create(rewriter, loc, word, 0));
  }
  return registers;
}

/// Rewrites the f16 m16n8k16 `mma` of a punned bf16 region as the bf16
/// nvvm.mma.sync on the same registers.
static void retypeAsBF16(IRRewriter &rewriter, nvgpu::MmaSyncOp mma) {
  Location loc = mma.getLoc();
  rewriter.setInsertionPoint(mma);
  SmallVector<Value> a = packedRegisters(rewriter, loc, mma.getMatrixA());
  SmallVector<Value> b = packedRegisters(rewriter, loc, mma.getMatrixB());
  auto accType = cast<VectorType>(mma.getMatrixC().getType());
  SmallVector<Value> c;
  for (int64_t i = 0; i < accType.getDimSize(0); ++i)
    for (int64_t j = 0; j < accType.getDimSize(1); ++j)
      c.push_back(vector::ExtractOp::create(rewriter, loc, mma.getMatrixC(),
                                            ArrayRef<int64_t>{i, j}));
  Type f32 = rewriter.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(
      rewriter.getContext(), SmallVector<Type>(c.size(), f32));
  auto bf16 = NVVM::MMATypes::bf16;
  auto result = NVVM::MmaOp::create(
      rewriter, loc, resultType, a, b, c, {16, 8, 16}, std::nullopt,
      std::nullopt, std::array<NVVM::MMATypes, 2>{bf16, bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> elements;
  for (int64_t i = 0; i < int64_t(c.size()); ++i)
    elements.push_back(LLVM::ExtractValueOp::create(rewriter, loc, result, i));
  rewriter.replaceOpWithNewOp<vector::FromElementsOp>(mma, accType, elements);
}

namespace {
struct GPUWarpMmaPass : public infini::impl::GPUWarpMmaBase<GPUWarpMmaPass> {
  void runOnOperation() override {
    SmallVector<scf::ExecuteRegionOp> regions;
    getOperation()->walk([&](scf::ExecuteRegionOp region) {
      if (region->hasAttr(infini::kWarpLevelAttrName))
        regions.push_back(region);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ExecuteRegionOp region : regions) {
      if (region.getNumResults() != 0 || !region.getRegion().hasOneBlock()) {
        region.emitOpError()
            << "warp-level region must have one block and no results";
        return signalPassFailure();
      }
      bool bf16 = punBF16AsF16(rewriter, region);
      RewritePatternSet patterns(&getContext());
      populatePrepareVectorToMMAPatterns(patterns, /*useNvGpu=*/true);
      if (failed(applyPatternsGreedily(region, std::move(patterns))) ||
          failed(convertVectorToNVVMCompatibleMMASync(rewriter, region)))
        return signalPassFailure();
      // The conversion leaves the vector ops it replaced in place, dead.
      Block &body = region.getRegion().front();
      SmallVector<Operation *> ops;
      for (Operation &op : body.without_terminator())
        ops.push_back(&op);
      for (Operation *op : llvm::reverse(ops))
        if (isOpTriviallyDead(op))
          rewriter.eraseOp(op);
      WalkResult left = region.walk([](vector::ContractionOp contract) {
        contract.emitOpError() << "could not be lowered to mma.sync; expected "
                                  "16x16 by 16x8 f16 tiles read from memory";
        return WalkResult::interrupt();
      });
      if (left.wasInterrupted())
        return signalPassFailure();
      if (bf16)
        region.walk([&](nvgpu::MmaSyncOp mma) { retypeAsBF16(rewriter, mma); });
      rewriter.eraseOp(body.getTerminator());
      rewriter.inlineBlockBefore(&body, region);
      rewriter.eraseOp(region);
    }
  }
};
} // namespace
