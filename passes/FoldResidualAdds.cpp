//===- FoldResidualAdds.cpp - The infini-fold-residual-adds pass ----------===//
//
// A transformer block adds the output projection, and later the FFN's down
// projection, to its residual stream: `x + P` where P is a product started
// from zero. Lowered as such, the add is a kernel of its own on the GPU
// that reads x and P and writes the sum. A contraction adds its products to
// its initial value, so starting P from x instead gives the sum directly.
// With tensor cores, where each block adds its register sums to the output
// at the end, the result is even bitwise that of the separate add.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_FOLDRESIDUALADDS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Whether `op` is `out = in0 + in1`, element by element, on same-shaped
/// tensors.
static bool isElementwiseAdd(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  Block &body = op.getRegion().front();
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != &body || &body.front() != add)
    return false;
  Value lhs = add.getLhs(), rhs = add.getRhs();
  return (lhs == body.getArgument(0) && rhs == body.getArgument(1)) ||
         (lhs == body.getArgument(1) && rhs == body.getArgument(0));
}

namespace {
/// The product term of an add: a contraction whose one result, started
/// from a zero fill, reaches the add alone (directly or through one
/// collapse_shape).
struct ProductTerm {
  linalg::LinalgOp product;
  linalg::FillOp fill;
  tensor::CollapseShapeOp collapse;
};
} // namespace

static std::optional<ProductTerm> matchProductTerm(Value term) {
  ProductTerm match{};
  if (auto collapse = term.getDefiningOp<tensor::CollapseShapeOp>()) {
    if (!collapse->hasOneUse())
      return std::nullopt;
    match.collapse = collapse;
    term = collapse.getSrc();
  }
  auto product = term.getDefiningOp<linalg::LinalgOp>();
  if (!product || !term.hasOneUse() || product->getNumResults() != 1 ||
      product.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(product))
    return std::nullopt;
  auto fill =
      product.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
  if (!fill || !fill->hasOneUse() ||
      !matchPattern(fill.getInputs()[0], m_PosZeroFloat()))
    return std::nullopt;
  match.product = product;
  match.fill = fill;
  return match;
}

namespace {
struct FoldResidualAddsPass
    : public infini::impl::FoldResidualAddsBase<FoldResidualAddsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> adds;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isElementwiseAdd(op))
        adds.push_back(op);
    });
    DominanceInfo dominance(getOperation());
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp add : adds) {
      for (unsigned term = 0; term < 2; ++term) {
        std::optional<ProductTerm> match =
            matchProductTerm(add.getDpsInputOperand(term)->get());
        Value residual = add.getDpsInputOperand(1 - term)->get();
        if (!match || residual.getType() != add->getResult(0).getType() ||
            !dominance.properlyDominates(residual, match->product))
          continue;
        // The product starts from the residual, in its own shape.
        rewriter.setInsertionPoint(match->product);
        Value start = residual;
        if (match->collapse)
          start = tensor::ExpandShapeOp::create(
              rewriter, add.getLoc(), match->collapse.getSrcType(), residual,
              match->collapse.getReassociationIndices());
        rewriter.modifyOpInPlace(match->product, [&] {
          match->product.getDpsInitOperand(0)->set(start);
        });
        rewriter.eraseOp(match->fill);
        Value sum = match->product->getResult(0);
        if (match->collapse)
          sum = match->collapse.getResult();
        rewriter.replaceOp(add, sum);
        break;
      }
    }
  }
};
} // namespace
