//===- Memory.cpp - Lower Infini-attention's compressive memory -----------===//
//
// Lowers infini.memory_retrieve, infini.memory_update and infini.memory_gate.
// With s(x) = elu(x) + 1, retrieval and the delta rule's read share one
// builder; updates accumulate into the incoming state tensors.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace infini;
using namespace infini::lowering;

Value infini::lowering::maskedFeatureMap(OpBuilder &b, Location loc, Value x,
                                         Value token, Value validLength) {
  Value mapped = eluPlusOne(b, loc, x);
  if (!validLength)
    return mapped;
  Value token64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), token);
  Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                      token64, validLength);
  return arith::SelectOp::create(b, loc, valid, mapped,
                                 floatConstant(b, loc, x.getType(), 0.0));
}

namespace {

/// s(x) of a [B, H, T, Dh] tensor, 0 for tokens t >= validLength if given.
Value buildFeatureMap(OpBuilder &b, Location loc, Value x, Value validLength) {
  auto type = cast<RankedTensorType>(x.getType());
  return buildElementwise(
      b, loc, x, {b.getMultiDimIdentityMap(4)},
      emptyTensor(b, loc, sizesOf(b, loc, x), type.getElementType()),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        return maskedFeatureMap(nb, l, args[0],
                                linalg::IndexOp::create(nb, l, 2), validLength);
      });
}

/// s(q) M / (s(q) . z + eps) for mapped queries `sq` [B, H, T, Dh].
Value buildMemoryRead(OpBuilder &b, Location loc, Value sq, Value memory,
                      Value norm, double eps) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<RankedTensorType>(sq.getType()).getElementType();
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, sq);
  SmallVector<OpFoldResult> valueSizes = {sizes[0], sizes[1], sizes[2],
                                          sizesOf(b, loc, memory)[3]};
  // Loops (b, h, t, e, d): num[b,h,t,e] = sum_d sq[b,h,t,d] M[b,h,d,e].
  Value numerator = buildContraction(
      b, loc, 5, sq, {0, 1, 2, 4}, memory, {0, 1, 4, 3},
      filledTensor(b, loc, valueSizes, elementType, 0.0), {0, 1, 2, 3});
  // Loops (b, h, t, d): den[b,h,t] = sum_d sq[b,h,t,d] z[b,h,d].
  Value denominator = buildContraction(
      b, loc, 4, sq, {0, 1, 2, 3}, norm, {0, 1, 3},
      filledTensor(b, loc, {sizes[0], sizes[1], sizes[2]}, elementType, 0.0),
      {0, 1, 2});
  return buildElementwise(
      b, loc, {numerator, denominator},
      {b.getMultiDimIdentityMap(4), projection(ctx, 4, {0, 1, 2})},
      emptyTensor(b, loc, valueSizes, elementType),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value shifted = arith::AddFOp::create(
            nb, l, args[1], floatConstant(nb, l, elementType, eps));
        return arith::DivFOp::create(nb, l, args[0], shifted);
      });
}

struct LowerMemoryRetrieve : OpRewritePattern<MemoryRetrieveOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MemoryRetrieveOp op,
                                PatternRewriter &rewriter) const override {
    Value mapped =
        buildFeatureMap(rewriter, op.getLoc(), op.getQuery(), Value());
    rewriter.replaceOp(op, lowerMemoryRetrieve(rewriter, op, mapped));
    return success();
  }
};

struct LowerMemoryUpdate : OpRewritePattern<MemoryUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MemoryUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Value mapped = buildFeatureMap(rewriter, op.getLoc(), op.getKey(),
                                   op.getValidLength());
    auto [memory, norm] = lowerMemoryUpdate(rewriter, op, mapped);
    rewriter.replaceOp(op, ValueRange{memory, norm});
    return success();
  }
};

struct LowerMemoryGate : OpRewritePattern<MemoryGateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MemoryGateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value memoryOutput = op.getMemoryOutput();
    Type elementType = op.getMemoryOutput().getType().getElementType();
    AffineMap identity = rewriter.getMultiDimIdentityMap(4);
    Value result = buildElementwise(
        rewriter, loc, {memoryOutput, op.getLocalOutput(), op.getBeta()},
        {identity, identity, projection(getContext(), 4, {1})},
        emptyTensor(rewriter, loc, sizesOf(rewriter, loc, memoryOutput),
                    elementType),
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value gate = sigmoid(b, l, args[2]);
          // gate * m + (1 - gate) * a = a + gate * (m - a).
          Value difference = arith::SubFOp::create(b, l, args[0], args[1]);
          return arith::AddFOp::create(
              b, l, args[1], arith::MulFOp::create(b, l, gate, difference));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

Value infini::lowering::lowerMemoryRetrieve(OpBuilder &b, MemoryRetrieveOp op,
                                            Value mappedQuery) {
  return buildMemoryRead(b, op.getLoc(), mappedQuery, op.getMemory(),
                         op.getNorm(), op.getEps().convertToDouble());
}

std::pair<Value, Value> infini::lowering::lowerMemoryUpdate(OpBuilder &b,
                                                            MemoryUpdateOp op,
                                                            Value mappedKey) {
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Value written = op.getValue();
  if (op.getMode() == MemoryUpdateMode::Delta) {
    // Only what memory does not already retrieve for a key is written.
    Value retrieved =
        buildMemoryRead(b, loc, mappedKey, op.getMemory(), op.getNorm(),
                        op.getEps().convertToDouble());
    AffineMap identity = b.getMultiDimIdentityMap(4);
    written = buildElementwise(
        b, loc, {written, retrieved}, {identity, identity},
        emptyTensor(b, loc, sizesOf(b, loc, written),
                    op.getValue().getType().getElementType()),
        [](OpBuilder &nb, Location l, ValueRange args) -> Value {
          return arith::SubFOp::create(nb, l, args[0], args[1]);
        });
  }
  // Loops (b, h, d, e, t): M[b,h,d,e] += sum_t sk[b,h,t,d] w[b,h,t,e].
  Value newMemory =
      buildContraction(b, loc, 5, mappedKey, {0, 1, 4, 2}, written,
                       {0, 1, 4, 3}, op.getMemory(), {0, 1, 2, 3});
  // Loops (b, h, d, t): z[b,h,d] += sum_t sk[b,h,t,d].
  Value newNorm = buildReduction(
      b, loc, 4, mappedKey, {projection(ctx, 4, {0, 1, 3, 2})}, op.getNorm(),
      projection(ctx, 4, {0, 1, 2}),
      [](OpBuilder &, Location, ValueRange args) { return args[0]; });
  return {newMemory, newNorm};
}

void infini::populateLowerMemoryPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerMemoryRetrieve, LowerMemoryUpdate, LowerMemoryGate>(
      patterns.getContext());
}
