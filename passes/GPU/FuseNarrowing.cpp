//===- FuseNarrowing.cpp - The infini-fuse-narrowing pass -----------------===//
//
// The flash attention on 16-bit tensor cores reads Q, K and V rounded to 16
// bits by element-wise generics of their own. Left alone, each rounding is
// a kernel reading the f32 tensor its producer just wrote; fused into that
// producer (RoPE, for Q and K), the producer writes the 16-bit values
// directly and the f32 tensor is never written.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

namespace infini {
#define GEN_PASS_DEF_FUSENARROWING
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Whether `op` is an element-wise rounding of its one input: all loops
/// parallel, identity maps, and a payload yielding an `arith.truncf`.
static bool isNarrowing(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  Value yielded = op.getBody()->getTerminator()->getOperand(0);
  return yielded.getDefiningOp<arith::TruncFOp>() != nullptr;
}

namespace {
struct FuseNarrowingPass
    : public infini::impl::FuseNarrowingBase<FuseNarrowingPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> narrowings;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isNarrowing(op))
        narrowings.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp narrowing : narrowings) {
      OpOperand *input = narrowing.getDpsInputOperand(0);
      auto producer = input->get().getDefiningOp<linalg::GenericOp>();
      if (!producer || producer->getNumResults() != 1)
        continue;
      // Sizes read off the producer's result are its init's.
      for (OpOperand &use : llvm::make_early_inc_range(input->get().getUses()))
        if (isa<tensor::DimOp>(use.getOwner()))
          rewriter.modifyOpInPlace(use.getOwner(), [&] {
            use.set(producer.getDpsInitOperand(0)->get());
          });
      // A producer with other users would have to write both tensors.
      if (!input->get().hasOneUse() || !linalg::areElementwiseOpsFusable(input))
        continue;
      rewriter.setInsertionPoint(narrowing);
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, input);
      if (failed(fused))
        continue;
      for (auto [original, replacement] : fused->replacements)
        rewriter.replaceUsesWithIf(original, replacement, [&](OpOperand &use) {
          return use.getOwner() != fused->fusedOp;
        });
      rewriter.eraseOp(narrowing);
      rewriter.eraseOp(producer);
    }
  }
};
} // namespace
