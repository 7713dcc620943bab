//===- Attention.cpp - Lower infini.local_attention -----------------------===//
//
// The reference lowering: scores, causal mask (+ optional bias), a
// numerically stable softmax, and the value contraction, each a linalg op on
// [B, H, T, T] tensors. The fused, tiled form (online softmax over key tiles)
// replaces this in the fusion passes.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace infini;
using namespace infini::lowering;

namespace {

struct LowerLocalAttention : OpRewritePattern<LocalAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LocalAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    Value query = op.getQuery();
    auto queryType = op.getQuery().getType();
    Type elementType = queryType.getElementType();
    int64_t headDim = queryType.getDimSize(3);
    if (ShapedType::isDynamic(headDim))
      return rewriter.notifyMatchFailure(op, "needs a static head width");

    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, query);
    SmallVector<OpFoldResult> scoreSizes = {sizes[0], sizes[1], sizes[2],
                                            sizes[2]};
    SmallVector<OpFoldResult> rowSizes = {sizes[0], sizes[1], sizes[2]};
    // Loops (b, h, i, j, d): scores[b,h,i,j] = sum_d q[b,h,i,d] k[b,h,j,d].
    Value scores = buildContraction(
        rewriter, loc, 5, query, {0, 1, 2, 4}, op.getKey(), {0, 1, 3, 4},
        filledTensor(rewriter, loc, scoreSizes, elementType, 0.0),
        {0, 1, 2, 3});

    AffineMap identity4 = rewriter.getMultiDimIdentityMap(4);
    AffineMap rows = projection(ctx, 4, {0, 1, 2});
    SmallVector<Value> logitInputs = {scores};
    SmallVector<AffineMap> logitMaps = {identity4};
    if (Value bias = op.getBias()) {
      logitInputs.push_back(bias);
      logitMaps.push_back(identity4);
    }
    double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
    Value logits = buildElementwise(
        rewriter, loc, logitInputs, logitMaps,
        emptyTensor(rewriter, loc, scoreSizes, elementType),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value logit = arith::MulFOp::create(
              b, l, args[0], floatConstant(b, l, elementType, scale));
          if (logitInputs.size() == 2)
            logit = arith::AddFOp::create(b, l, logit, args[1]);
          Value row = linalg::IndexOp::create(b, l, 2);
          Value column = linalg::IndexOp::create(b, l, 3);
          Value visible = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule,
                                                column, row);
          Value masked = floatConstant(b, l, elementType, -INFINITY);
          return arith::SelectOp::create(b, l, visible, logit, masked);
        });

    // Softmax over j, normalized after the value contraction (one division
    // per output element rather than per score).
    Value rowMax =
        buildFold(rewriter, loc, 4, logits, {identity4},
                  filledTensor(rewriter, loc, rowSizes, elementType, -INFINITY),
                  rows, [](OpBuilder &b, Location l, ValueRange args) -> Value {
                    return arith::MaximumFOp::create(b, l, args[0], args[1]);
                  });
    Value exponentials = buildElementwise(
        rewriter, loc, {logits, rowMax}, {identity4, rows},
        emptyTensor(rewriter, loc, scoreSizes, elementType),
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return expDifference(b, l, args[0], args[1]);
        });
    Value rowSum = buildReduction(
        rewriter, loc, 4, exponentials, {identity4},
        filledTensor(rewriter, loc, rowSizes, elementType, 0.0), rows,
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    // Loops (b, h, i, d, j): out[b,h,i,d] = sum_j e[b,h,i,j] v[b,h,j,d].
    Value unnormalized = buildContraction(
        rewriter, loc, 5, exponentials, {0, 1, 2, 4}, op.getValue(),
        {0, 1, 4, 3}, filledTensor(rewriter, loc, sizes, elementType, 0.0),
        {0, 1, 2, 3});
    Value result = buildElementwise(
        rewriter, loc, {unnormalized, rowSum}, {identity4, rows},
        emptyTensor(rewriter, loc, sizes, elementType),
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return arith::DivFOp::create(b, l, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void infini::populateLowerAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerLocalAttention>(patterns.getContext());
}
