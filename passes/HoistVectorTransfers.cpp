//===- HoistVectorTransfers.cpp - Keep accumulators in registers ----------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace infini {
#define GEN_PASS_DEF_HOISTVECTORTRANSFERS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
struct HoistVectorTransfersPass
    : public infini::impl::HoistVectorTransfersBase<HoistVectorTransfersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Transfers must address the base buffer (not a per-iteration subview)
    // and their indices must be loop-invariant before they can be hoisted.
    RewritePatternSet patterns(&getContext());
    memref::populateFoldMemRefAliasOpPatterns(patterns);
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();
    func.walk([](LoopLikeOpInterface loop) { moveLoopInvariantCode(loop); });
    linalg::hoistRedundantVectorTransfers(func);
  }
};
} // namespace
