//===- FuseSwiGLU.cpp - Gate and up projections as one product ------------===//
//
// SwiGLU's gate and up projections read the same input. Lowered one by one
// they are two matrix products and a third pass that multiplies their
// outputs. Here they become one horizontal product over both weights, packed
// side by side once by the prepare function (panel p of the gate next to
// panel p of the up projection), so each register tile of the input feeds
// both; the swish-times-up epilogue reads the two halves of each panel pair
// while they are hot, and the down projection reads its result directly.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace infini {
#define GEN_PASS_DEF_FUSESWIGLU
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;
using namespace infini::lowering;

namespace {

struct FuseSwiGLUProjections : OpRewritePattern<SwiGLUOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SwiGLUOp op,
                                PatternRewriter &rewriter) const override {
    auto weightType = cast<RankedTensorType>(op.getGateWeight().getType());
    int64_t features = weightType.getDimSize(0);
    int64_t width = weightType.getDimSize(1);
    if (!weightType.hasStaticShape() || features % kPanelWidth != 0)
      return rewriter.notifyMatchFailure(
          op, "needs static weights with a multiple of 32 features");
    Location loc = op.getLoc();
    Type elementType = weightType.getElementType();
    int64_t panels = features / kPanelWidth;
    auto index = [&](int64_t value) -> OpFoldResult {
      return rewriter.getIndexAttr(value);
    };

    // Both weights packed and stacked: [panels, 2, D, 32], gate then up.
    Value stacked =
        emptyTensor(rewriter, loc,
                    {index(panels), index(2), index(width), index(kPanelWidth)},
                    elementType);
    SmallVector<Value, 2> weights = {op.getGateWeight(), op.getUpWeight()};
    for (auto [half, weight] : llvm::enumerate(weights)) {
      SmallVector<OpFoldResult> offsets = {index(0), index(half), index(0),
                                           index(0)};
      SmallVector<OpFoldResult> sizes = {index(panels), index(1), index(width),
                                         index(kPanelWidth)};
      SmallVector<OpFoldResult> strides(4, index(1));
      stacked = tensor::InsertSliceOp::create(
          rewriter, loc, packWeightPanels(rewriter, loc, weight), stacked,
          offsets, sizes, strides);
    }

    // The horizontal product: loops (b, t, panel, half, column, i).
    Value input = op.getInput();
    SmallVector<OpFoldResult> inputSizes = sizesOf(rewriter, loc, input);
    Value init = filledTensor(rewriter, loc,
                              {inputSizes[0], inputSizes[1], index(panels),
                               index(2), index(kPanelWidth)},
                              elementType, 0.0);
    Value product =
        buildContraction(rewriter, loc, 6, input, {0, 1, 5}, stacked,
                         {2, 3, 5, 4}, init, {0, 1, 2, 3, 4});

    // The epilogue over (b, t, panel, column): swish(gate) * up.
    MLIRContext *ctx = rewriter.getContext();
    auto half = [&](int64_t which) {
      AffineExpr d0, d1, d2, d3;
      bindDims(ctx, d0, d1, d2, d3);
      return AffineMap::get(
          4, 0, {d0, d1, d2, getAffineConstantExpr(which, ctx), d3}, ctx);
    };
    double beta = op.getBeta().convertToDouble();
    Value activated = buildElementwise(
        rewriter, loc, {product, product}, {half(0), half(1)},
        emptyTensor(
            rewriter, loc,
            {inputSizes[0], inputSizes[1], index(panels), index(kPanelWidth)},
            elementType),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          return swishTimes(b, l, args[0], args[1], beta);
        });
    auto inputType = cast<RankedTensorType>(input.getType());
    Value collapsed = tensor::CollapseShapeOp::create(
        rewriter, loc,
        RankedTensorType::get(
            {inputType.getDimSize(0), inputType.getDimSize(1), features},
            elementType),
        activated, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    rewriter.replaceOp(
        op, buildLinear(rewriter, loc, collapsed, op.getDownWeight()));
    return success();
  }
};

struct FuseSwiGLUPass : public infini::impl::FuseSwiGLUBase<FuseSwiGLUPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseSwiGLUPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void infini::populateFuseSwiGLUPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseSwiGLUProjections>(patterns.getContext());
}
