//===- FuseRope.cpp - RoPE in the epilogue of the Q/K projection ----------===//
//
// Lowered one by one, `rope(split_heads(linear(x, W)))` writes the
// projection, copies it into heads, then reads it again to rotate it,
// gathering each feature's pair partner. Here the projection's weight rows
// are reordered once, in the prepare function, into `[H, 2, D, P]` (head,
// member of the pair, input feature, pair; P = rotary_dim / 2), so the
// product holds both members of every pair side by side. One epilogue over
// the product then writes the rotated heads:
//   out[b, h, t, s, i] = mine * cos[t, i] + sign[s] * partner * sin[t, i],
// with mine = product[b, t, h, s, i], partner = product[b, t, h, 1 - s, i]
// and sign = (-1, +1): `(a cos - b sin, b cos + a sin)`. When the unrotated
// heads are also used (Infini-attention's memory reads keys and queries
// without RoPE unless memory_uses_rope), the same epilogue writes them too.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace infini {
#define GEN_PASS_DEF_FUSEROPE
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;
using namespace infini::lowering;

namespace {

struct FuseRopeIntoProjection : OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    auto split = op.getInput().getDefiningOp<SplitHeadsOp>();
    if (!split)
      return rewriter.notifyMatchFailure(op, "input is not split_heads");
    auto linear = split.getInput().getDefiningOp<LinearOp>();
    if (!linear)
      return rewriter.notifyMatchFailure(op, "heads are not a projection");
    auto weightType = cast<RankedTensorType>(linear.getWeight().getType());
    auto headsType = op.getInput().getType();
    int64_t heads = headsType.getDimSize(1);
    int64_t headDim = headsType.getDimSize(3);
    if (!weightType.hasStaticShape() || ShapedType::isDynamic(heads) ||
        ShapedType::isDynamic(headDim))
      return rewriter.notifyMatchFailure(op, "needs static heads and weights");
    if (op.getRotaryDimOrDefault() != headDim)
      return rewriter.notifyMatchFailure(
          op, "partial rotation stays unfused (rotary_dim < head_dim)");

    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type elementType = weightType.getElementType();
    int64_t pairs = headDim / 2;
    int64_t width = weightType.getDimSize(1);
    bool halfSplit = op.getLayout() == RopeLayout::HalfSplit;
    auto index = [&](int64_t value) -> OpFoldResult {
      return rewriter.getIndexAttr(value);
    };

    // Weight rows h*Dh + feature(s, i) to [H, 2, D, P]. Half-split pairs
    // feature i with i + P, so the rows are [H, 2, P, D]; interleaved pairs
    // 2i with 2i + 1: [H, P, 2, D].
    SmallVector<int64_t> rowShape =
        halfSplit ? SmallVector<int64_t>{heads, 2, pairs, width}
                  : SmallVector<int64_t>{heads, pairs, 2, width};
    Value rows = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get(rowShape, elementType),
        linear.getWeight(), ArrayRef<ReassociationIndices>{{0, 1, 2}, {3}});
    SmallVector<int64_t> permutation = halfSplit
                                           ? SmallVector<int64_t>{0, 1, 3, 2}
                                           : SmallVector<int64_t>{0, 2, 3, 1};
    Value packed =
        linalg::TransposeOp::create(
            rewriter, loc, rows,
            emptyTensor(rewriter, loc,
                        {index(heads), index(2), index(width), index(pairs)},
                        elementType),
            permutation)
            .getResult()[0];

    // The product over loops (b, t, h, s, i, k).
    Value input = linear.getInput();
    SmallVector<OpFoldResult> inputSizes = sizesOf(rewriter, loc, input);
    Value init = filledTensor(
        rewriter, loc,
        {inputSizes[0], inputSizes[1], index(heads), index(2), index(pairs)},
        elementType, 0.0);
    Value product = buildContraction(rewriter, loc, 6, input, {0, 1, 5}, packed,
                                     {2, 3, 5, 4}, init, {0, 1, 2, 3, 4});

    // The epilogue's loops are the output's: (b, h, t, s, i) for half-split,
    // (b, h, t, i, s) for interleaved; `member` and `pair` are s and i.
    unsigned member = halfSplit ? 3 : 4, pair = halfSplit ? 4 : 3;
    AffineExpr b = getAffineDimExpr(0, ctx), h = getAffineDimExpr(1, ctx),
               t = getAffineDimExpr(2, ctx), s = getAffineDimExpr(member, ctx),
               i = getAffineDimExpr(pair, ctx);
    auto map = [&](ArrayRef<AffineExpr> results) {
      return AffineMap::get(5, 0, results, ctx);
    };
    auto [cosTable, sinTable] =
        buildRopeAngleTables(rewriter, loc, op, inputSizes[1], elementType);
    auto signType = RankedTensorType::get({2}, elementType);
    Value signs = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(
            signType,
            ArrayRef<Attribute>{rewriter.getFloatAttr(elementType, -1.0),
                                rewriter.getFloatAttr(elementType, 1.0)}));
    SmallVector<OpFoldResult> outSizes = {inputSizes[0], index(heads),
                                          inputSizes[1]};
    if (halfSplit)
      outSizes.append({index(2), index(pairs)});
    else
      outSizes.append({index(pairs), index(2)});
    // split_heads' other users read the unrotated heads.
    bool keepUnrotated = !split->hasOneUse();
    SmallVector<Value> inits = {
        emptyTensor(rewriter, loc, outSizes, elementType)};
    if (keepUnrotated)
      inits.push_back(emptyTensor(rewriter, loc, outSizes, elementType));
    SmallVector<AffineMap> maps = {map({b, t, h, s, i}),
                                   map({b, t, h, 1 - s, i}), map({t, i}),
                                   map({t, i}), map({s})};
    maps.append(inits.size(), rewriter.getMultiDimIdentityMap(5));
    auto epilogue = linalg::GenericOp::create(
        rewriter, loc, ValueRange(inits).getTypes(),
        ValueRange{product, product, cosTable, sinTable, signs}, inits, maps,
        SmallVector<utils::IteratorType>(5, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value mine = args[0], partner = args[1];
          Value sineTerm = arith::MulFOp::create(
              nb, l, args[4], arith::MulFOp::create(nb, l, partner, args[3]));
          Value rotated = arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, mine, args[2]), sineTerm);
          SmallVector<Value> results = {rotated};
          if (keepUnrotated)
            results.push_back(mine);
          linalg::YieldOp::create(nb, l, results);
        });

    auto asHeads = [&](Value value) -> Value {
      return tensor::CollapseShapeOp::create(
          rewriter, loc, headsType, value,
          ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
    };
    if (keepUnrotated)
      rewriter.replaceAllUsesExcept(split, asHeads(epilogue.getResult(1)), op);
    rewriter.replaceOp(op, asHeads(epilogue.getResult(0)));
    return success();
  }
};

struct FuseRopePass : public infini::impl::FuseRopeBase<FuseRopePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseRopePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void infini::populateFuseRopePatterns(RewritePatternSet &patterns) {
  patterns.add<FuseRopeIntoProjection>(patterns.getContext());
}
