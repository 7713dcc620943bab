//===- FuseAttention.cpp - Fused causal attention with online softmax -----===//
//
// Lowers infini.local_attention into one pass over key tiles per query tile
// (the flash-attention scheme): for each (batch, head, query tile) a loop
// over key tiles up to the diagonal keeps the running row maximum m, the
// running softmax denominator l and the unnormalized output acc, rescaling
// both when the maximum grows. The T x T score matrix is never materialized:
// a step holds one Br x Bc tile of scores. The (batch, head, query tile)
// loop is an scf.forall, i.e. the unit of work of one thread.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace infini {
#define GEN_PASS_DEF_FUSEATTENTION
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;
using namespace infini::lowering;

namespace {

/// Extracts the [rows, Dh] (or [rows, cols]) tile at (b, h, row0, col0) of a
/// rank-4 tensor as a rank-2 tensor.
Value extractTile(OpBuilder &b, Location loc, Value source, Value batch,
                  Value head, OpFoldResult row0, OpFoldResult col0,
                  int64_t rows, int64_t cols) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  auto tileType =
      RankedTensorType::get({rows, cols}, sourceType.getElementType());
  SmallVector<OpFoldResult> offsets = {batch, head, row0, col0};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(rows),
                                     b.getIndexAttr(cols)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, tileType, source, offsets,
                                        sizes, strides);
}

/// Folds the columns of a rank-2 `input` into the rank-1 `init`.
Value reduceRows(
    OpBuilder &b, Location loc, Value input, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  return buildFold(b, loc, 2, input, {b.getMultiDimIdentityMap(2)}, init,
                   projection(b.getContext(), 2, {0}),
                   [&](OpBuilder &nb, Location l, ValueRange args) {
                     return combine(nb, l, args[0], args[1]);
                   });
}

struct FuseLocalAttention : OpRewritePattern<LocalAttentionOp> {
  FuseLocalAttention(MLIRContext *ctx, int64_t blockSize)
      : OpRewritePattern(ctx), blockSize(blockSize) {}

  LogicalResult matchAndRewrite(LocalAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    auto type = op.getQuery().getType();
    Type elementType = type.getElementType();
    int64_t heads = type.getDimSize(1), tokens = type.getDimSize(2),
            headDim = type.getDimSize(3);
    if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(tokens) ||
        ShapedType::isDynamic(headDim))
      return rewriter.notifyMatchFailure(op, "needs static H, T and Dh");
    int64_t tile = largestDivisorAtMost(tokens, blockSize);
    double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
    Value bias = op.getBias();
    // A CoPE bias computed from the same query and key is fused too: its
    // T x T positions and bias are then never materialized either.
    auto cope = bias ? bias.getDefiningOp<CopeOp>() : CopeOp();
    if (cope && (!cope->hasOneUse() || cope.getQuery() != op.getQuery() ||
                 cope.getKey() != op.getKey()))
      cope = CopeOp();
    if (cope)
      bias = Value();
    int64_t positions = cope ? cope.getPosEmb().getType().getDimSize(1) : 0;

    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, op.getQuery());
    Value init = emptyTensor(rewriter, loc, sizes, elementType);
    // suffix[t, c] = (t >= c): g @ suffix sums each row's gates from column
    // c to the end of the tile, CoPE's reversed cumulative sum as a matmul.
    // Gates and their sums are kept in f64 (see interpolateCopeBias).
    Type f64 = rewriter.getF64Type();
    Value suffixOnes;
    if (cope)
      suffixOnes = buildElementwise(
          rewriter, loc, ValueRange{}, {},
          emptyTensor(
              rewriter, loc,
              {rewriter.getIndexAttr(tile), rewriter.getIndexAttr(tile)}, f64),
          [&](OpBuilder &eb, Location el, ValueRange) -> Value {
            Value later =
                arith::CmpIOp::create(eb, el, arith::CmpIPredicate::uge,
                                      linalg::IndexOp::create(eb, el, 0),
                                      linalg::IndexOp::create(eb, el, 1));
            return arith::SelectOp::create(eb, el, later,
                                           floatConstant(eb, el, f64, 1.0),
                                           floatConstant(eb, el, f64, 0.0));
          });
    SmallVector<OpFoldResult> lbs(3, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> ubs = {sizes[0], rewriter.getIndexAttr(heads),
                                     rewriter.getIndexAttr(tokens)};
    SmallVector<OpFoldResult> steps = {rewriter.getIndexAttr(1),
                                       rewriter.getIndexAttr(1),
                                       rewriter.getIndexAttr(tile)};
    // On the GPU the loop is one kernel, named after its kind.
    auto forall =
        scf::ForallOp::create(rewriter, infini::kernelKindLoc(loc, "attention"),
                              lbs, ubs, steps, ValueRange{init}, std::nullopt);
    OpBuilder b = OpBuilder::atBlockBegin(forall.getBody());
    Value batch = forall.getInductionVars()[0];
    Value head = forall.getInductionVars()[1];
    Value row0 = forall.getInductionVars()[2];

    Value queryTile = extractTile(b, loc, op.getQuery(), batch, head, row0,
                                  b.getIndexAttr(0), tile, headDim);
    AffineMap identity2 = b.getMultiDimIdentityMap(2);
    AffineMap rows = projection(ctx, 2, {0});
    Value maxInit =
        filledTensor(b, loc, {b.getIndexAttr(tile)}, elementType, -INFINITY);
    Value sumInit =
        filledTensor(b, loc, {b.getIndexAttr(tile)}, elementType, 0.0);
    Value accInit =
        filledTensor(b, loc, {b.getIndexAttr(tile), b.getIndexAttr(headDim)},
                     elementType, 0.0);
    SmallVector<Value> carriedInit = {maxInit, sumInit, accInit};
    // CoPE: z[r, n] = q_r . E[:, n] for the tile's queries, and the running
    // sum of gates right of the current key tile.
    Value positionLogits;
    if (cope) {
      positionLogits = buildContraction(
          b, loc, 3, queryTile, {0, 2}, cope.getPosEmb(), {2, 1},
          filledTensor(b, loc,
                       {b.getIndexAttr(tile), b.getIndexAttr(positions)},
                       elementType, 0.0),
          {0, 1});
      carriedInit.push_back(
          filledTensor(b, loc, {b.getIndexAttr(tile)}, f64, 0.0));
    }
    // Causal: key tiles up to and including the diagonal tile; with CoPE
    // walked from the diagonal backwards (the online softmax takes any
    // order), so each tile's positions continue the gate sum of the last.
    Value keyEnd = arith::AddIOp::create(
        b, loc, row0, arith::ConstantIndexOp::create(b, loc, tile));
    auto keyLoop = scf::ForOp::create(
        b, loc, arith::ConstantIndexOp::create(b, loc, 0), keyEnd,
        arith::ConstantIndexOp::create(b, loc, tile), carriedInit,
        [&](OpBuilder &lb, Location l, Value step, ValueRange carried) {
          Value runningMax = carried[0], runningSum = carried[1],
                acc = carried[2];
          Value col0 =
              cope ? arith::SubIOp::create(lb, l, row0, step).getResult()
                   : step;
          // Scores of this tile: q K^T with K transposed once per tile so
          // the contraction reads it contiguously.
          Value keyTile = extractTile(lb, l, op.getKey(), batch, head, col0,
                                      lb.getIndexAttr(0), tile, headDim);
          Value keyTransposed =
              linalg::TransposeOp::create(
                  lb, l, keyTile,
                  emptyTensor(lb, l,
                              {lb.getIndexAttr(headDim), lb.getIndexAttr(tile)},
                              elementType),
                  ArrayRef<int64_t>{1, 0})
                  .getResult()[0];
          SmallVector<OpFoldResult> scoreSizes = {lb.getIndexAttr(tile),
                                                  lb.getIndexAttr(tile)};
          Value scores = buildContraction(
              lb, l, 3, queryTile, {0, 2}, keyTransposed, {2, 1},
              filledTensor(lb, l, scoreSizes, elementType, 0.0), {0, 1});
          auto visibleAt = [&](OpBuilder &eb, Location el) -> Value {
            Value row = arith::AddIOp::create(
                eb, el, row0, linalg::IndexOp::create(eb, el, 0));
            Value column = arith::AddIOp::create(
                eb, el, col0, linalg::IndexOp::create(eb, el, 1));
            return arith::CmpIOp::create(eb, el, arith::CmpIPredicate::ule,
                                         column, row);
          };
          SmallVector<Value> logitInputs = {scores};
          SmallVector<AffineMap> logitMaps = {identity2};
          Value newGateSum;
          if (cope) {
            Value gates = buildElementwise(
                lb, l, scores, {identity2}, emptyTensor(lb, l, scoreSizes, f64),
                [&](OpBuilder &eb, Location el, ValueRange args) -> Value {
                  Value logit = arith::MulFOp::create(
                      eb, el, args[0],
                      floatConstant(eb, el, elementType, scale));
                  Value gate = arith::ExtFOp::create(eb, el, f64,
                                                     sigmoid(eb, el, logit));
                  return arith::SelectOp::create(
                      eb, el, visibleAt(eb, el), gate,
                      floatConstant(eb, el, f64, 0.0));
                });
            // p[r, c] = carry[r] + sum_{t >= c} g[r, t].
            Value carriedGates = buildElementwise(
                lb, l, carried[3], {rows}, emptyTensor(lb, l, scoreSizes, f64),
                [](OpBuilder &, Location, ValueRange args) { return args[0]; });
            Value tilePositions =
                buildContraction(lb, l, 3, gates, {0, 2}, suffixOnes, {2, 1},
                                 carriedGates, {0, 1});
            newGateSum = reduceRows(
                lb, l, gates, carried[3],
                [](OpBuilder &eb, Location el, Value g, Value sum) -> Value {
                  return arith::AddFOp::create(eb, el, g, sum);
                });
            logitInputs.push_back(tilePositions);
            logitMaps.push_back(identity2);
          } else if (bias) {
            logitInputs.push_back(
                extractTile(lb, l, bias, batch, head, row0, col0, tile, tile));
            logitMaps.push_back(identity2);
          }
          Value logits = buildElementwise(
              lb, l, logitInputs, logitMaps,
              emptyTensor(lb, l, scoreSizes, elementType),
              [&](OpBuilder &eb, Location el, ValueRange args) -> Value {
                Value logit = arith::MulFOp::create(
                    eb, el, args[0], floatConstant(eb, el, elementType, scale));
                if (cope)
                  logit = arith::AddFOp::create(
                      eb, el, logit,
                      interpolateCopeBias(
                          eb, el, positionLogits,
                          linalg::IndexOp::create(eb, el, 0).getResult(),
                          args[1], positions));
                else if (bias)
                  logit = arith::AddFOp::create(eb, el, logit, args[1]);
                return arith::SelectOp::create(
                    eb, el, visibleAt(eb, el), logit,
                    floatConstant(eb, el, elementType, -INFINITY));
              });
          // Every carried value is updated in place (its init operand is
          // the loop-carried tensor, read last by its own update), so the
          // loop bufferizes without copies.
          SmallVector<OpFoldResult> rowSizes = {lb.getIndexAttr(tile)};
          AffineMap identity1 = lb.getMultiDimIdentityMap(1);
          Value tileMax = reduceRows(
              lb, l, logits,
              filledTensor(lb, l, rowSizes, elementType, -INFINITY),
              [](OpBuilder &eb, Location el, Value x, Value m) -> Value {
                return arith::MaximumFOp::create(eb, el, x, m);
              });
          // c = exp(m - max(m, tileMax)); the first tile always holds the
          // row's first key, so m is finite from the first step on.
          Value correction = buildElementwise(
              lb, l, {runningMax, tileMax}, {identity1, identity1},
              emptyTensor(lb, l, rowSizes, elementType),
              [](OpBuilder &eb, Location el, ValueRange args) -> Value {
                Value newMax =
                    arith::MaximumFOp::create(eb, el, args[0], args[1]);
                return expDifference(eb, el, args[0], newMax);
              });
          Value newMax = buildElementwise(
              lb, l, tileMax, {identity1}, runningMax,
              [](OpBuilder &eb, Location el, ValueRange args) -> Value {
                return arith::MaximumFOp::create(eb, el, args[0], args[1]);
              });
          Value probabilities = buildElementwise(
              lb, l, {logits, newMax}, {identity2, rows},
              emptyTensor(lb, l, scoreSizes, elementType),
              [](OpBuilder &eb, Location el, ValueRange args) -> Value {
                return expDifference(eb, el, args[0], args[1]);
              });
          // l' = l * c + sum_j p; acc' = acc * c + p V.
          auto rescale = [&](Value carriedValue, AffineMap correctionMap) {
            return buildElementwise(
                lb, l, correction, {correctionMap}, carriedValue,
                [](OpBuilder &eb, Location el, ValueRange args) -> Value {
                  return arith::MulFOp::create(eb, el, args[1], args[0]);
                });
          };
          Value newSum = reduceRows(
              lb, l, probabilities, rescale(runningSum, identity1),
              [](OpBuilder &eb, Location el, Value p, Value s) -> Value {
                return arith::AddFOp::create(eb, el, p, s);
              });
          Value scaledAcc = rescale(acc, rows);
          Value valueTile = extractTile(lb, l, op.getValue(), batch, head, col0,
                                        lb.getIndexAttr(0), tile, headDim);
          // Loops (r, d, c): acc[r, d] += p[r, c] v[c, d].
          Value newAcc = buildContraction(lb, l, 3, probabilities, {0, 2},
                                          valueTile, {2, 1}, scaledAcc, {0, 1});
          SmallVector<Value> yielded = {newMax, newSum, newAcc};
          if (cope)
            yielded.push_back(newGateSum);
          scf::YieldOp::create(lb, l, yielded);
        });

    Value normalized = buildElementwise(
        b, loc, {keyLoop.getResult(2), keyLoop.getResult(1)}, {identity2, rows},
        emptyTensor(b, loc, {b.getIndexAttr(tile), b.getIndexAttr(headDim)},
                    elementType),
        [](OpBuilder &eb, Location el, ValueRange args) -> Value {
          return arith::DivFOp::create(eb, el, args[0], args[1]);
        });
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    SmallVector<OpFoldResult> offsets = {batch, head, row0, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> tileSizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                           b.getIndexAttr(tile),
                                           b.getIndexAttr(headDim)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    tensor::ParallelInsertSliceOp::create(b, loc, normalized,
                                          forall.getRegionIterArgs()[0],
                                          offsets, tileSizes, strides);
    rewriter.replaceOp(op, forall.getResult(0));
    return success();
  }

  int64_t blockSize;
};

struct FuseAttentionPass
    : public infini::impl::FuseAttentionBase<FuseAttentionPass> {
  using FuseAttentionBase::FuseAttentionBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseAttentionPatterns(patterns, blockSize);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void infini::populateFuseAttentionPatterns(RewritePatternSet &patterns,
                                           int64_t blockSize) {
  patterns.add<FuseLocalAttention>(patterns.getContext(), blockSize);
}
