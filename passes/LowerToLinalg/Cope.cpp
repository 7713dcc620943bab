//===- Cope.cpp - Lower infini.cope ---------------------------------------===//
//
// CoPE's positions are a reversed cumulative sum of gates along the key axis.
// Linalg has no scan, so the sum is an scf.for over key columns from the
// diagonal side (j = T-1 down to 0) carrying the running sum [B, H, T]; the
// rest is element-wise work and two contractions.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace infini;
using namespace infini::lowering;

namespace {

struct LowerCope : OpRewritePattern<CopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CopeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value query = op.getQuery();
    auto queryType = op.getQuery().getType();
    Type elementType = queryType.getElementType();
    int64_t headDim = queryType.getDimSize(3);
    int64_t positions = op.getPosEmb().getType().getDimSize(1);
    if (ShapedType::isDynamic(headDim) || ShapedType::isDynamic(positions))
      return rewriter.notifyMatchFailure(op, "needs static Dh and P");

    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, query);
    SmallVector<OpFoldResult> scoreSizes = {sizes[0], sizes[1], sizes[2],
                                            sizes[2]};
    SmallVector<OpFoldResult> rowSizes = {sizes[0], sizes[1], sizes[2]};
    AffineMap identity4 = rewriter.getMultiDimIdentityMap(4);

    // Gates g_ij = sigmoid(q_i . k_j / sqrt(Dh)) for j <= i, else 0.
    Value scores = buildContraction(
        rewriter, loc, 5, query, {0, 1, 2, 4}, op.getKey(), {0, 1, 3, 4},
        filledTensor(rewriter, loc, scoreSizes, elementType, 0.0),
        {0, 1, 2, 3});
    double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
    // Gates and their sums are kept in f64 (see interpolateCopeBias).
    Type f64 = rewriter.getF64Type();
    Value gates = buildElementwise(
        rewriter, loc, scores, {identity4},
        emptyTensor(rewriter, loc, scoreSizes, f64),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value logit = arith::MulFOp::create(
              b, l, args[0], floatConstant(b, l, elementType, scale));
          Value row = linalg::IndexOp::create(b, l, 2);
          Value column = linalg::IndexOp::create(b, l, 3);
          Value visible = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule,
                                                column, row);
          Value gate = arith::ExtFOp::create(b, l, f64, sigmoid(b, l, logit));
          return arith::SelectOp::create(b, l, visible, gate,
                                         floatConstant(b, l, f64, 0.0));
        });

    Value cumulative =
        buildReversedCumsum(rewriter, loc, gates, scoreSizes, rowSizes);

    // z[b,h,i,n] = sum_d q[b,h,i,d] E[d,n].
    Value logitsPerPosition = buildContraction(
        rewriter, loc, 5, query, {0, 1, 2, 4}, op.getPosEmb(), {4, 3},
        filledTensor(
            rewriter, loc,
            {sizes[0], sizes[1], sizes[2], rewriter.getIndexAttr(positions)},
            elementType, 0.0),
        {0, 1, 2, 3});

    Value bias = buildElementwise(
        rewriter, loc, cumulative, {identity4},
        emptyTensor(rewriter, loc, scoreSizes, elementType),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value batch = linalg::IndexOp::create(b, l, 0);
          Value head = linalg::IndexOp::create(b, l, 1);
          Value row = linalg::IndexOp::create(b, l, 2);
          Value column = linalg::IndexOp::create(b, l, 3);
          Value interpolated = interpolateCopeBias(b, l, logitsPerPosition,
                                                   ValueRange{batch, head, row},
                                                   args[0], positions);
          Value visible = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule,
                                                column, row);
          return arith::SelectOp::create(b, l, visible, interpolated,
                                         floatConstant(b, l, elementType, 0.0));
        });
    rewriter.replaceOp(op, bias);
    return success();
  }

  /// p[b,h,i,j] = sum_{t >= j} g[b,h,i,t], walking j from T-1 down to 0.
  static Value buildReversedCumsum(OpBuilder &b, Location loc, Value gates,
                                   ArrayRef<OpFoldResult> scoreSizes,
                                   ArrayRef<OpFoldResult> rowSizes) {
    Type elementType = cast<RankedTensorType>(gates.getType()).getElementType();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value tokens = getValueOrCreateConstantIndexOp(b, loc, scoreSizes[3]);
    Value running = filledTensor(b, loc, rowSizes, elementType, 0.0);
    Value positions = emptyTensor(b, loc, scoreSizes, elementType);
    auto loop = scf::ForOp::create(
        b, loc, zero, tokens, one, ValueRange{running, positions},
        [&](OpBuilder &nb, Location l, Value step, ValueRange iterArgs) {
          Value lastColumn = arith::SubIOp::create(nb, l, tokens, one);
          Value column = arith::SubIOp::create(nb, l, lastColumn, step);
          SmallVector<OpFoldResult> offsets = {nb.getIndexAttr(0),
                                               nb.getIndexAttr(0),
                                               nb.getIndexAttr(0), column};
          SmallVector<OpFoldResult> sliceSizes = {
              rowSizes[0], rowSizes[1], rowSizes[2], nb.getIndexAttr(1)};
          SmallVector<OpFoldResult> strides(4, nb.getIndexAttr(1));
          // Drops the unit column dimension (not a unit batch dimension).
          auto gatesType = cast<RankedTensorType>(gates.getType());
          auto sliceType = RankedTensorType::get(
              gatesType.getShape().take_front(3), elementType);
          Value gateColumn = tensor::ExtractSliceOp::create(
              nb, l, sliceType, gates, offsets, sliceSizes, strides);
          AffineMap identity3 = nb.getMultiDimIdentityMap(3);
          // Accumulates in place into the running sum.
          Value updated = buildElementwise(
              nb, l, gateColumn, {identity3}, iterArgs[0],
              [](OpBuilder &eb, Location el, ValueRange args) -> Value {
                return arith::AddFOp::create(eb, el, args[0], args[1]);
              });
          Value inserted = tensor::InsertSliceOp::create(
              nb, l, updated, iterArgs[1], offsets, sliceSizes, strides);
          scf::YieldOp::create(nb, l, ValueRange{updated, inserted});
        });
    return loop.getResult(1);
  }
};

} // namespace

void infini::populateLowerCopePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerCope>(patterns.getContext());
}
