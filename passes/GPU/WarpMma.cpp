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
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Conversion/VectorToGPU/VectorToGPU.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace infini {
#define GEN_PASS_DEF_GPUWARPMMA
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

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
      rewriter.eraseOp(body.getTerminator());
      rewriter.inlineBlockBefore(&body, region);
      rewriter.eraseOp(region);
    }
  }
};
} // namespace
