//===- Rope.cpp - Lower infini.rope ---------------------------------------===//
//
// RoPE lowers in two steps: a [T, rotary_dim/2] table of cos and sin of the
// angles, computed in f64 (positions reach the millions, where an f32 angle
// would already be off by a large fraction of a radian), then one element-wise
// pass that rotates each feature with its pair partner.
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

struct LowerRope : OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto inputType = op.getInput().getType();
    Type elementType = inputType.getElementType();
    int64_t rotaryDim = op.getRotaryDimOrDefault();
    int64_t pairs = rotaryDim / 2;
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, input);

    auto [cosTable, sinTable] =
        buildRopeAngleTables(rewriter, loc, op, sizes[2], elementType);

    bool halfSplit = op.getLayout() == RopeLayout::HalfSplit;
    Value result = buildElementwise(
        rewriter, loc, input, {rewriter.getMultiDimIdentityMap(4)},
        emptyTensor(rewriter, loc, sizes, elementType),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          auto index = [&](int64_t value) -> Value {
            return arith::ConstantIndexOp::create(b, l, value);
          };
          Value batch = linalg::IndexOp::create(b, l, 0);
          Value head = linalg::IndexOp::create(b, l, 1);
          Value token = linalg::IndexOp::create(b, l, 2);
          Value feature = linalg::IndexOp::create(b, l, 3);
          Value rotated = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                                feature, index(rotaryDim));
          // Pair index and partner feature. `first` is true for the feature
          // that takes `a cos - b sin`.
          Value pair, partner, first;
          if (halfSplit) {
            first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                          feature, index(pairs));
            Value up = arith::AddIOp::create(b, l, feature, index(pairs));
            Value down = arith::SubIOp::create(b, l, feature, index(pairs));
            pair = arith::SelectOp::create(b, l, first, feature, down);
            partner = arith::SelectOp::create(b, l, first, up, down);
          } else {
            Value parity = arith::RemUIOp::create(b, l, feature, index(2));
            first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                          parity, index(0));
            pair = arith::DivUIOp::create(b, l, feature, index(2));
            Value up = arith::AddIOp::create(b, l, feature, index(1));
            Value down = arith::SubIOp::create(b, l, feature, index(1));
            partner = arith::SelectOp::create(b, l, first, up, down);
          }
          // Pass-through features still read in bounds: pair 0, themselves.
          pair = arith::SelectOp::create(b, l, rotated, pair, index(0));
          partner = arith::SelectOp::create(b, l, rotated, partner, feature);
          Value cosine = tensor::ExtractOp::create(b, l, cosTable,
                                                   ValueRange{token, pair});
          Value sine = tensor::ExtractOp::create(b, l, sinTable,
                                                 ValueRange{token, pair});
          Value other = tensor::ExtractOp::create(
              b, l, input, ValueRange{batch, head, token, partner});
          Value sineTerm = arith::MulFOp::create(b, l, other, sine);
          Value signedSine = arith::SelectOp::create(
              b, l, first, arith::NegFOp::create(b, l, sineTerm), sineTerm);
          Value rotatedValue = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, args[0], cosine), signedSine);
          return arith::SelectOp::create(b, l, rotated, rotatedValue, args[0]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void infini::populateLowerRopePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRope>(patterns.getContext());
}
