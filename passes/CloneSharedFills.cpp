//===- CloneSharedFills.cpp - The infini-clone-shared-fills pass ----------===//
//
// CSE merges identical `linalg.fill`s of empty tensors, so that one zero
// fill is the initial value of several products (the Q, K and V
// projections, say). One-shot bufferization then fills one buffer and
// copies it for every product but the last: on a GPU a kernel per copy,
// each reading and writing the whole output. Each destination use gets its
// own fill instead, right before it, which bufferizes in place and which
// infini-gpu-tile-contractions folds into the product.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_CLONESHAREDFILLS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
struct CloneSharedFillsPass
    : public infini::impl::CloneSharedFillsBase<CloneSharedFillsPass> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> shared;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() && !fill->getResult(0).hasOneUse() &&
          fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
        shared.push_back(fill);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::FillOp fill : shared) {
      auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
      for (OpOperand &use :
           llvm::make_early_inc_range(fill->getResult(0).getUses())) {
        // Read-only uses need no buffer of their own, and a clone inside a
        // nested loop would fill once per iteration.
        auto user = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
        if (!user || !user.isDpsInit(&use) ||
            user->getBlock() != fill->getBlock())
          continue;
        rewriter.setInsertionPoint(user);
        Operation *ownEmpty = rewriter.clone(*empty);
        auto ownFill =
            linalg::FillOp::create(rewriter, fill.getLoc(), fill.getInputs()[0],
                                   ownEmpty->getResult(0));
        rewriter.modifyOpInPlace(user, [&] { use.set(ownFill.result()); });
      }
      if (fill->use_empty())
        rewriter.eraseOp(fill);
      if (empty->use_empty())
        rewriter.eraseOp(empty);
    }
  }
};
} // namespace
