//===- TileContractions.cpp - The infini-gpu-tile-contractions pass -------===//
//
// Converted to loops as they are, the matrix products of a model run one
// GPU thread per output element: two loads per multiply-add. This pass
// turns each bufferized contraction into a parallel loop whose iteration
// computes a register tile of `tile-rows` x `tile-columns` outputs, so that
// each loaded element of the left operand feeds `tile-columns` FMAs and each
// of the right operand `tile-rows`. The accumulators are the tile's values,
// carried in registers through the serial reduction loop in the output's
// element type (f32 for the model's products).
//
// The columns of one tile are strided by the number of column tiles, not
// contiguous: threads of a warp, which take consecutive column tiles (see
// infini-parallel-loops-to-gpu), then load consecutive elements of the
// right operand and store consecutive outputs (coalesced accesses), while
// they share the left operand's rows (a broadcast). Tile positions past the
// end of a dimension load a clamped, valid element and store nothing.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_GPUTILECONTRACTIONS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
/// The dimensions a register tile spans.
struct TileDims {
  unsigned m, n, k;
};
} // namespace

/// The dimensions to tile when `op` is a contraction this pass handles: on
/// buffers, projected-permutation maps, one reduction dimension, and a
/// multiply-accumulate payload (checked by the contraction interface).
static std::optional<TileDims> matchContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.size() != 1 || dims->m.empty() || dims->n.empty())
    return std::nullopt;
  // The innermost row and column dimensions; the others stay plain
  // parallel dimensions of the loop.
  return TileDims{dims->m.back(), dims->n.back(), dims->k.front()};
}

/// The indices into `operand` at the iteration point `point`.
static SmallVector<Value>
operandIndices(linalg::LinalgOp op, OpOperand &operand, ArrayRef<Value> point) {
  SmallVector<Value> indices;
  for (AffineExpr expr : op.getMatchingIndexingMap(&operand).getResults())
    indices.push_back(point[cast<AffineDimExpr>(expr).getPosition()]);
  return indices;
}

/// Whether `operand`'s indices depend on loop dimension `dim`.
static bool usesDim(linalg::LinalgOp op, OpOperand &operand, unsigned dim) {
  return op.getMatchingIndexingMap(&operand).isFunctionOfDim(dim);
}

static void tileContraction(IRRewriter &rewriter, linalg::LinalgOp op,
                            TileDims dims, int64_t rowTile,
                            int64_t columnTile) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> sizes;
  for (Range range : op.createLoopRanges(rewriter, loc))
    sizes.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, range.size));
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  // A tile no larger than a static dimension.
  if (std::optional<int64_t> rows = getConstantIntValue(sizes[dims.m]))
    rowTile = std::max<int64_t>(1, std::min(rowTile, *rows));
  if (std::optional<int64_t> columns = getConstantIntValue(sizes[dims.n]))
    columnTile = std::max<int64_t>(1, std::min(columnTile, *columns));
  Value zero = index(0), one = index(1);
  Value rowTiles = rewriter.createOrFold<arith::CeilDivUIOp>(loc, sizes[dims.m],
                                                             index(rowTile));
  Value columnTiles = rewriter.createOrFold<arith::CeilDivUIOp>(
      loc, sizes[dims.n], index(columnTile));

  // Loop dimensions: every parallel one but m and n, then row and column
  // tiles (columns innermost, the fastest across threads).
  SmallVector<unsigned> outer;
  for (unsigned d = 0; d < numLoops; ++d)
    if (d != dims.m && d != dims.n && d != dims.k)
      outer.push_back(d);
  SmallVector<Value> upper;
  for (unsigned d : outer)
    upper.push_back(sizes[d]);
  upper.push_back(rowTiles);
  upper.push_back(columnTiles);
  auto loop = scf::ParallelOp::create(
      rewriter, loc, SmallVector<Value>(upper.size(), zero), upper,
      SmallVector<Value>(upper.size(), one));
  rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  SmallVector<Value> ivs = loop.getInductionVars();

  // Rows and columns of the tile, and their clamped (always valid) forms.
  Value lastRow = arith::SubIOp::create(rewriter, loc, sizes[dims.m], one);
  Value lastColumn = arith::SubIOp::create(rewriter, loc, sizes[dims.n], one);
  Value rowBase =
      arith::MulIOp::create(rewriter, loc, ivs[outer.size()], index(rowTile));
  SmallVector<Value> rows, columns, clampedRows, clampedColumns;
  for (int64_t i = 0; i < rowTile; ++i) {
    rows.push_back(
        rewriter.createOrFold<arith::AddIOp>(loc, rowBase, index(i)));
    clampedRows.push_back(
        arith::MinUIOp::create(rewriter, loc, rows.back(), lastRow));
  }
  for (int64_t j = 0; j < columnTile; ++j) {
    Value offset =
        rewriter.createOrFold<arith::MulIOp>(loc, columnTiles, index(j));
    columns.push_back(rewriter.createOrFold<arith::AddIOp>(
        loc, ivs[outer.size() + 1], offset));
    clampedColumns.push_back(
        arith::MinUIOp::create(rewriter, loc, columns.back(), lastColumn));
  }
  // The iteration point of tile element (i, j) at reduction index `k`.
  auto point = [&](int64_t i, int64_t j, Value k) {
    SmallVector<Value> values(numLoops);
    for (auto [d, iv] : llvm::zip(outer, ivs))
      values[d] = iv;
    values[dims.m] = clampedRows[i];
    values[dims.n] = clampedColumns[j];
    values[dims.k] = k;
    return values;
  };

  OpOperand &init = op.getDpsInitsMutable()[0];
  Value output = init.get();
  SmallVector<Value> accumulators;
  for (int64_t i = 0; i < rowTile; ++i)
    for (int64_t j = 0; j < columnTile; ++j)
      accumulators.push_back(memref::LoadOp::create(
          rewriter, loc, output, operandIndices(op, init, point(i, j, zero))));

  // The reduction: each input element is loaded once per tile position it
  // depends on, then every tile element runs the op's payload.
  Block &payload = op->getRegion(0).front();
  auto reduction = scf::ForOp::create(
      rewriter, loc, zero, sizes[dims.k], one, accumulators,
      [&](OpBuilder &builder, Location loc, Value k, ValueRange iterArgs) {
        SmallVector<DenseMap<std::pair<int64_t, int64_t>, Value>> loads(
            op.getNumDpsInputs());
        SmallVector<Value> next;
        for (int64_t i = 0; i < rowTile; ++i) {
          for (int64_t j = 0; j < columnTile; ++j) {
            IRMapping mapping;
            for (OpOperand *input : op.getDpsInputOperands()) {
              unsigned n = input->getOperandNumber();
              std::pair<int64_t, int64_t> key = {
                  usesDim(op, *input, dims.m) ? i : 0,
                  usesDim(op, *input, dims.n) ? j : 0};
              Value &value = loads[n][key];
              if (!value)
                value = memref::LoadOp::create(
                    builder, loc, input->get(),
                    operandIndices(op, *input, point(i, j, k)));
              mapping.map(payload.getArgument(n), value);
            }
            Value accumulator = iterArgs[i * columnTile + j];
            mapping.map(payload.getArgument(op.getNumDpsInputs()), accumulator);
            for (Operation &bodyOp : payload.without_terminator())
              builder.clone(bodyOp, mapping);
            next.push_back(
                mapping.lookup(payload.getTerminator()->getOperand(0)));
          }
        }
        scf::YieldOp::create(builder, loc, next);
      });

  // Tile elements past the end of a dimension are not stored.
  for (int64_t i = 0; i < rowTile; ++i) {
    for (int64_t j = 0; j < columnTile; ++j) {
      Value inRows = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, rows[i], sizes[dims.m]);
      Value inColumns = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, columns[j], sizes[dims.n]);
      Value inside = arith::AndIOp::create(rewriter, loc, inRows, inColumns);
      auto guard = scf::IfOp::create(rewriter, loc, inside, false);
      OpBuilder::InsertionGuard insertionGuard(rewriter);
      rewriter.setInsertionPoint(guard.thenBlock()->getTerminator());
      memref::StoreOp::create(rewriter, loc,
                              reduction.getResult(i * columnTile + j), output,
                              operandIndices(op, init, point(i, j, zero)));
    }
  }
  rewriter.eraseOp(op);
}

namespace {
struct GPUTileContractionsPass
    : public infini::impl::GPUTileContractionsBase<GPUTileContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (rowTile < 1 || columnTile < 1) {
      getOperation().emitError() << "tile sizes must be positive";
      return signalPassFailure();
    }
    // Products inside a parallel loop (the fused attention's tiles) run in
    // one thread anyway; only the outermost ones get a loop of their own.
    SmallVector<std::pair<linalg::LinalgOp, TileDims>> contractions;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<scf::ParallelOp>() ||
          op->getParentOfType<scf::ForallOp>())
        return;
      if (std::optional<TileDims> dims = matchContraction(op))
        contractions.push_back({op, *dims});
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, dims] : contractions)
      tileContraction(rewriter, op, dims, rowTile, columnTile);
  }
};
} // namespace
