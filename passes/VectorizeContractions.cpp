//===- VectorizeContractions.cpp - Register-tile and vectorize matmuls ----===//
//
// Every matrix product of the lowered model (projections, attention's value
// contraction, memory reads and writes) is a linalg contraction. Each is
// tiled so one tile is a register block (rows x columns of the output, a
// slice of the reduction) and vectorized into a vector.contract. Batch-like
// loops get tile 1, which also makes a dynamic batch harmless.
//
//===----------------------------------------------------------------------===//

#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_VECTORIZECONTRACTIONS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using infini::lowering::largestDivisorAtMost;

namespace {

/// The largest multiple of `unit` that divides `size` and is at most
/// `target`, so a parallel block holds whole register tiles; `size` itself
/// when there is none.
int64_t blockSizeFor(int64_t size, int64_t unit, int64_t target) {
  for (int64_t candidate = target - target % unit; candidate >= unit;
       candidate -= unit)
    if (size % candidate == 0)
      return candidate;
  return size;
}

/// Whether the column loop `n` is the innermost, contiguous dimension of the
/// output and of the operand that carries it, so a tile's columns are one
/// vector load/store rather than a gather.
bool columnsAreContiguous(linalg::LinalgOp op, unsigned n) {
  auto isInnermost = [&](OpOperand &operand) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    return map.getNumResults() > 0 &&
           map.getResults().back() == getAffineDimExpr(n, op.getContext());
  };
  if (!isInnermost(op.getDpsInitsMutable()[0]))
    return false;
  return llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *operand) {
    return isInnermost(*operand);
  });
}

struct VectorizeContractionsPass
    : public infini::impl::VectorizeContractionsBase<
          VectorizeContractionsPass> {
  using VectorizeContractionsBase::VectorizeContractionsBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> contractions;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && op.getNumDpsInits() == 1 &&
          linalg::isaContractionOpInterface(op))
        contractions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : contractions)
      if (failed(tileAndVectorize(rewriter, op)))
        return signalPassFailure();
  }

  LogicalResult tileAndVectorize(IRRewriter &rewriter, linalg::LinalgOp op) {
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (failed(dims) || dims->m.empty() || dims->n.empty())
      return success();
    unsigned row = dims->m.back(), column = dims->n.back();
    if (!columnsAreContiguous(op, column))
      return success();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    // Only the register block's loops need static sizes; every other loop
    // is tiled by 1.
    for (unsigned loop : {row, column})
      if (ShapedType::isDynamic(ranges[loop]))
        return success();
    Operation *target = op;
    // Level 1 (optional): an scf.forall over blocks of the output, which the
    // pipeline turns into an OpenMP parallel loop. Reductions stay inside.
    // Contractions already inside a parallel loop (fused attention) get no
    // nested one.
    if (parallelRows > 0 && !op->getParentOfType<scf::ForallOp>()) {
      // Reductions stay whole (0); other parallel loops get blocks of 1.
      SmallVector<int64_t> blockSizes(ranges.size(), 0);
      for (unsigned loop :
           llvm::concat<const unsigned>(dims->batch, dims->m, dims->n))
        blockSizes[loop] = 1;
      blockSizes[row] =
          blockSizeFor(ranges[row], largestDivisorAtMost(ranges[row], rowTile),
                       parallelRows);
      blockSizes[column] = blockSizeFor(
          ranges[column], largestDivisorAtMost(ranges[column], columnTile),
          parallelColumns);
      scf::SCFTilingOptions blockOptions;
      blockOptions.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      blockOptions.setTileSizes(
          getAsIndexOpFoldResult(&getContext(), blockSizes));
      // The zero fill of the output moves into the blocks: each block zeroes
      // its own tile while it is about to be used, and a fill that CSE shared
      // between contractions no longer needs a copy per contraction.
      scf::SCFTileAndFuseOptions fuseOptions;
      fuseOptions.setTilingOptions(blockOptions);
      fuseOptions.setFusionControlFn(
          [](tensor::ExtractSliceOp, OpResult producer, bool)
              -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            if (isa<linalg::FillOp>(producer.getOwner()))
              return scf::SCFTileAndFuseOptions::ControlFnResult{};
            return std::nullopt;
          });
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTileAndFuseResult> blocked =
          scf::tileConsumerAndFuseProducersUsingSCF(
              rewriter, cast<TilingInterface>(op.getOperation()), fuseOptions);
      if (failed(blocked))
        return op.emitError("failed to tile contraction into parallel blocks");
      for (OpResult result : op->getResults())
        rewriter.replaceAllUsesWith(result, blocked->replacements[result]);
      rewriter.eraseOp(op);
      target = blocked->tiledAndFusedOps.front();
      ranges = cast<linalg::LinalgOp>(target).getStaticLoopRanges();
    }

    // Level 2: register tiles, each vectorized into one vector.contract.
    SmallVector<int64_t> tileSizes(ranges.size(), 1);
    tileSizes[row] = largestDivisorAtMost(ranges[row], rowTile);
    tileSizes[column] = largestDivisorAtMost(ranges[column], columnTile);
    for (unsigned loop : dims->k)
      if (!ShapedType::isDynamic(ranges[loop]))
        tileSizes[loop] = largestDivisorAtMost(ranges[loop], reductionTile);

    scf::SCFTilingOptions options;
    options.setTileSizes(getAsIndexOpFoldResult(&getContext(), tileSizes));
    rewriter.setInsertionPoint(target);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, cast<TilingInterface>(target), options);
    if (failed(tiled))
      return op.emitError("failed to tile contraction");
    rewriter.replaceOp(target, tiled->replacements);

    Operation *tile = tiled->tiledOps.back();
    rewriter.setInsertionPoint(tile);
    FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(
        rewriter, tile, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
        /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
        /*assumeDynamicDimsMatchVecSizes=*/false,
        /*createNamedContraction=*/true);
    if (failed(vectorized))
      return success(); // The tile stays a (scalar) linalg op.
    rewriter.replaceOp(tile, vectorized->replacements);
    return success();
  }
};

} // namespace
