//===- NormAndFeedForward.cpp - Lower norms, projections, FFN, heads ------===//
//
// Lowers infini.rmsnorm, infini.linear, infini.swiglu, infini.embedding and
// the head reshapes (infini.split_heads / infini.merge_heads).
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace infini;
using namespace infini::lowering;

namespace {

struct LowerRMSNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    Value input = op.getInput();
    auto inputType = op.getInput().getType();
    unsigned rank = inputType.getRank();
    Type elementType = inputType.getElementType();
    int64_t width = inputType.getDimSize(rank - 1);
    if (ShapedType::isDynamic(width))
      return rewriter.notifyMatchFailure(op, "needs a static last dimension");

    SmallVector<unsigned> outerDims =
        llvm::to_vector(llvm::seq<unsigned>(0, rank - 1));
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, input);
    SmallVector<OpFoldResult> outerSizes(sizes.begin(), sizes.end() - 1);
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap outer = projection(ctx, rank, outerDims);

    Value sumOfSquares = buildReduction(
        rewriter, loc, rank, input, {identity},
        filledTensor(rewriter, loc, outerSizes, elementType, 0.0), outer,
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return arith::MulFOp::create(b, l, args[0], args[0]);
        });
    double eps = op.getEps().convertToDouble();
    Value result = buildElementwise(
        rewriter, loc, {input, sumOfSquares, op.getWeight()},
        {identity, outer, projection(ctx, rank, {rank - 1})},
        emptyTensor(rewriter, loc, sizes, elementType),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value mean = arith::DivFOp::create(
              b, l, args[1], floatConstant(b, l, elementType, width));
          Value shifted = arith::AddFOp::create(
              b, l, mean, floatConstant(b, l, elementType, eps));
          Value scale = math::RsqrtOp::create(b, l, shifted);
          Value normalized = arith::MulFOp::create(b, l, args[0], scale);
          return arith::MulFOp::create(b, l, normalized, args[2]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LowerLinear : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildLinear(rewriter, op.getLoc(), op.getInput(), op.getWeight()));
    return success();
  }
};

/// `split_heads(linear(x, W))` as one contraction that writes the heads'
/// layout itself: over W's 32-column panels viewed per head, [H, Dh/32, D,
/// 32], loops (b, h, t, panel, column, i) compute
/// out[b, h, t, panel, column] += x[b, t, i] * W'[h, panel, i, column]. The
/// projection is never written as [B, T, H*Dh] to be copied into heads (for
/// V, which the attention and the memory update read as heads).
struct LowerLinearIntoHeads : OpRewritePattern<LinearOp> {
  LowerLinearIntoHeads(MLIRContext *context)
      : OpRewritePattern(context, /*benefit=*/2) {}
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    if (!op->hasOneUse())
      return failure();
    auto split = dyn_cast<SplitHeadsOp>(*op->user_begin());
    if (!split)
      return failure();
    auto weightType = cast<RankedTensorType>(op.getWeight().getType());
    auto headsType = split.getResult().getType();
    int64_t heads = headsType.getDimSize(1);
    int64_t headDim = headsType.getDimSize(3);
    if (!weightType.hasStaticShape() || ShapedType::isDynamic(heads) ||
        ShapedType::isDynamic(headDim) || headDim % kPanelWidth != 0)
      return failure();
    Location loc = op.getLoc();
    Type elementType = weightType.getElementType();
    int64_t panelsPerHead = headDim / kPanelWidth;
    Value perHead = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get(
            {heads, panelsPerHead, weightType.getDimSize(1), kPanelWidth},
            elementType),
        packWeightPanels(rewriter, loc, op.getWeight()),
        ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
    SmallVector<OpFoldResult> inputSizes =
        sizesOf(rewriter, loc, op.getInput());
    Value init =
        filledTensor(rewriter, loc,
                     {inputSizes[0], rewriter.getIndexAttr(heads),
                      inputSizes[1], rewriter.getIndexAttr(panelsPerHead),
                      rewriter.getIndexAttr(kPanelWidth)},
                     elementType, 0.0);
    Value product =
        buildContraction(rewriter, loc, 6, op.getInput(), {0, 2, 5}, perHead,
                         {1, 3, 5, 4}, init, {0, 1, 2, 3, 4});
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        split, headsType, product,
        ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
    rewriter.eraseOp(op);
    return success();
  }
};

struct LowerSwiGLU : OpRewritePattern<SwiGLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SwiGLUOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value gate = buildLinear(rewriter, loc, op.getInput(), op.getGateWeight());
    Value up = buildLinear(rewriter, loc, op.getInput(), op.getUpWeight());
    auto gateType = cast<RankedTensorType>(gate.getType());
    double beta = op.getBeta().convertToDouble();
    AffineMap identity = rewriter.getMultiDimIdentityMap(3);
    Value activated = buildElementwise(
        rewriter, loc, {gate, up}, {identity, identity},
        emptyTensor(rewriter, loc, sizesOf(rewriter, loc, gate),
                    gateType.getElementType()),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          return swishTimes(b, l, args[0], args[1], beta);
        });
    rewriter.replaceOp(
        op, buildLinear(rewriter, loc, activated, op.getDownWeight()));
    return success();
  }
};

struct LowerEmbedding : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = op.getTable();
    auto resultType = op.getResult().getType();
    SmallVector<OpFoldResult> idSizes = sizesOf(rewriter, loc, op.getIds());
    SmallVector<OpFoldResult> tableSizes = sizesOf(rewriter, loc, table);
    Value init =
        emptyTensor(rewriter, loc, {idSizes[0], idSizes[1], tableSizes[1]},
                    resultType.getElementType());
    Value lastRow = arith::SubIOp::create(
        rewriter, loc,
        getValueOrCreateConstantIndexOp(rewriter, loc, tableSizes[0]),
        arith::ConstantIndexOp::create(rewriter, loc, 1));
    Value result = buildElementwise(
        rewriter, loc, op.getIds(), {projection(getContext(), 3, {0, 1})}, init,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value row =
              arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          // The runtime rejects ids outside [0, V); clamping keeps a bad id
          // from reading outside the table even without it.
          row = arith::MaxSIOp::create(b, l, row,
                                       arith::ConstantIndexOp::create(b, l, 0));
          row = arith::MinSIOp::create(b, l, row, lastRow);
          Value column = linalg::IndexOp::create(b, l, 2);
          return tensor::ExtractOp::create(b, l, table,
                                           ValueRange{row, column});
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LowerSplitHeads : OpRewritePattern<SplitHeadsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SplitHeadsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = op.getResult().getType();
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, op.getInput());
    OpFoldResult heads = rewriter.getIndexAttr(resultType.getDimSize(1));
    OpFoldResult headDim = rewriter.getIndexAttr(resultType.getDimSize(3));
    auto expandedType = RankedTensorType::get(
        {resultType.getDimSize(0), resultType.getDimSize(2),
         resultType.getDimSize(1), resultType.getDimSize(3)},
        resultType.getElementType());
    Value expanded = tensor::ExpandShapeOp::create(
        rewriter, loc, expandedType, op.getInput(),
        ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}},
        ArrayRef<OpFoldResult>{sizes[0], sizes[1], heads, headDim});
    Value init =
        emptyTensor(rewriter, loc, {sizes[0], heads, sizes[1], headDim},
                    resultType.getElementType());
    rewriter.replaceOp(
        op, linalg::TransposeOp::create(rewriter, loc, expanded, init,
                                        ArrayRef<int64_t>{0, 2, 1, 3})
                .getResult()[0]);
    return success();
  }
};

struct LowerMergeHeads : OpRewritePattern<MergeHeadsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MergeHeadsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, op.getInput());
    Value init =
        emptyTensor(rewriter, loc, {sizes[0], sizes[2], sizes[1], sizes[3]},
                    op.getInput().getType().getElementType());
    Value transposed =
        linalg::TransposeOp::create(rewriter, loc, op.getInput(), init,
                                    ArrayRef<int64_t>{0, 2, 1, 3})
            .getResult()[0];
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, op.getResult().getType(), transposed,
        ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    return success();
  }
};

} // namespace

void infini::populateLowerNormAndFeedForwardPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerRMSNorm, LowerLinear, LowerLinearIntoHeads, LowerSwiGLU,
               LowerEmbedding, LowerSplitHeads, LowerMergeHeads>(
      patterns.getContext());
}
