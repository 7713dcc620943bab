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
// and sign = (-1, +1): `(a cos - b sin, b cos + a sin)`. The same epilogue
// serves every other user of the heads: the unrotated heads as a second
// result, and for Infini-attention's memory (which reads keys and queries
// without RoPE unless memory_uses_rope) their feature map elu(x) + 1, with
// the memory op lowered on it here, so the memory update and retrieval make
// no pass of their own over K and Q to map them.
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

/// One result of the epilogue: rotated or unrotated heads, or their feature
/// map s(x) = elu(x) + 1 (0 past `validLength` when set) for a memory op.
struct EpilogueOutput {
  bool rotated;
  bool mapped;
  Value validLength;
  bool operator==(const EpilogueOutput &other) const {
    return rotated == other.rotated && mapped == other.mapped &&
           validLength == other.validLength;
  }
};

/// What `use` of the rotated (or unrotated) heads reads: the queries of a
/// memory read and the keys of a memory write read their feature map.
EpilogueOutput outputForUse(OpOperand &use, bool rotated) {
  Operation *user = use.getOwner();
  if (auto retrieve = dyn_cast<MemoryRetrieveOp>(user))
    if (use.get() == retrieve.getQuery())
      return {rotated, true, Value()};
  if (auto update = dyn_cast<MemoryUpdateOp>(user))
    if (use.get() == update.getKey() && use.get() != update.getValue())
      return {rotated, true, update.getValidLength()};
  return {rotated, false, Value()};
}

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

    // The epilogue replaces the rope op where it stands: every other user
    // of the heads, and every valid length it masks with, must be placed
    // accordingly.
    auto after = [&](Operation *user) {
      return user->getBlock() == op->getBlock() && op->isBeforeInBlock(user);
    };
    for (Value value : {op.getResult(), split.getResult()})
      for (Operation *user : value.getUsers()) {
        if (user == op.getOperation())
          continue;
        if (!after(user))
          return rewriter.notifyMatchFailure(op, "a user precedes the rope");
        // A valid length from another block encloses this one.
        if (auto update = dyn_cast<MemoryUpdateOp>(user))
          if (Value valid = update.getValidLength())
            if (Operation *def = valid.getDefiningOp(); def && after(def))
              return rewriter.notifyMatchFailure(op,
                                                 "valid length comes later");
      }

    // What the epilogue writes, from the uses of the rotated and unrotated
    // heads: the heads themselves for plain users, their feature map for
    // memory reads and writes.
    SmallVector<EpilogueOutput> outputs;
    auto outputFor = [&](EpilogueOutput wanted) -> unsigned {
      auto *found = llvm::find(outputs, wanted);
      if (found == outputs.end())
        found = outputs.insert(outputs.end(), wanted);
      return found - outputs.begin();
    };
    SmallVector<std::pair<OpOperand *, unsigned>> uses;
    for (auto [value, rotated] :
         {std::pair<Value, bool>(op.getResult(), true),
          std::pair<Value, bool>(split.getResult(), false)})
      for (OpOperand &use : value.getUses())
        if (use.getOwner() != op.getOperation())
          uses.push_back({&use, outputFor(outputForUse(use, rotated))});
    if (outputs.empty())
      return rewriter.notifyMatchFailure(op, "the heads are unused");

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
    SmallVector<Value> inits;
    for (size_t k = 0; k < outputs.size(); ++k)
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
          SmallVector<Value> results;
          for (const EpilogueOutput &output : outputs) {
            Value result = output.rotated ? rotated : mine;
            if (output.mapped)
              result = maskedFeatureMap(nb, l, result,
                                        linalg::IndexOp::create(nb, l, 2),
                                        output.validLength);
            results.push_back(result);
          }
          linalg::YieldOp::create(nb, l, results);
        });

    SmallVector<Value> results;
    for (Value result : epilogue.getResults())
      results.push_back(tensor::CollapseShapeOp::create(
          rewriter, loc, headsType, result,
          ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}}));
    // Plain uses first: a memory op is replaced, with its operands, when
    // its mapped input is.
    for (auto [use, output] : uses)
      if (!outputs[output].mapped)
        rewriter.modifyOpInPlace(use->getOwner(),
                                 [&] { use->set(results[output]); });
    for (auto [use, output] : uses) {
      if (!outputs[output].mapped)
        continue;
      Operation *user = use->getOwner();
      rewriter.setInsertionPoint(user);
      if (auto retrieve = dyn_cast<MemoryRetrieveOp>(user)) {
        rewriter.replaceOp(
            retrieve, lowerMemoryRetrieve(rewriter, retrieve, results[output]));
      } else {
        auto update = cast<MemoryUpdateOp>(user);
        auto [memory, norm] =
            lowerMemoryUpdate(rewriter, update, results[output]);
        rewriter.replaceOp(update, ValueRange{memory, norm});
      }
    }
    rewriter.eraseOp(op);
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
