//===- WarpReductions.cpp - Row reductions by whole warps -----------------===//
//
// Converted to loops as they are, the model's row reductions (RMSNorm's sum
// of squares, softmax's maximum and sum, ...) run one GPU thread per row:
// a serial loop over the row, and neighbouring threads reading addresses a
// row apart. infini-gpu-warp-reductions gives each row to a warp instead:
// lane l reads elements l, l + 32, ... (coalesced), folds them into a
// partial result, and a `gpu.subgroup_reduce` combines the lanes' partials;
// one lane then folds the total into the output. The rows of a block go to
// its warps through a warp-level loop (see infini-parallel-loops-to-gpu):
// blocks of 8 rows for a reduction of its own, all the rows for one in a
// block's loop (the fused attention's row maximum and sum).
//
// The lane count is min(32, the block's size), so the host emulation's
// one-thread blocks are warps of one lane, whose subgroup reduction is the
// identity. infini-gpu-subgroup-reduce-to-shuffles lowers the reductions to
// butterfly shuffles in stage 3.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace infini {
#define GEN_PASS_DEF_GPUWARPREDUCTIONS
#define GEN_PASS_DEF_GPUSUBGROUPREDUCETOSHUFFLES
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Rows each block reduces: one per warp of a 256-thread block.
static constexpr int64_t kRowsPerBlock = 8;
/// Rows shorter than a warp gain nothing from one.
static constexpr int64_t kMinimumRowLength = infini::kWarpSize;

namespace {
/// A row reduction this pass handles: its combining op (whose first or
/// second operand is the output's block argument) and that op's kind.
struct RowReduction {
  Operation *combiner;
  gpu::AllReduceOperation kind;
  TypedAttr identity;
};
} // namespace

/// The row reduction `op` is, if any: on buffers, outside parallel loops or
/// directly in a block's loop, one f32 output, projected-permutation maps, one
/// reduction loop that is the innermost, and a payload that folds a value
/// computed from the inputs into the output with an associative floating-point
/// op.
static std::optional<RowReduction> matchRowReduction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1 || op.getNumLoops() < 2 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction ||
      infini::countEnclosingParallelLoops(op) > 1)
    return std::nullopt;
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return std::nullopt;
  // Lanes read neighbouring elements only where the row runs along each
  // input's last dimension; otherwise one thread per row reads coalesced.
  unsigned rowDim = op.getNumLoops() - 1;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (map.isFunctionOfDim(rowDim) &&
        map.getResults().back() != getAffineDimExpr(rowDim, op->getContext()))
      return std::nullopt;
  }
  OpOperand &init = op.getDpsInitsMutable()[0];
  if (!getElementTypeOrSelf(init.get().getType()).isF32())
    return std::nullopt;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (!ShapedType::isDynamic(bounds.back()) &&
      bounds.back() < kMinimumRowLength)
    return std::nullopt;

  Block &body = op->getRegion(0).front();
  BlockArgument accumulator = body.getArgument(init.getOperandNumber());
  Operation *combiner = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != &body ||
      combiner->getNumOperands() != 2 ||
      llvm::count(combiner->getOperands(), accumulator) != 1)
    return std::nullopt;
  // The accumulator feeds the combiner alone, so the rest is the value.
  if (!accumulator.hasOneUse())
    return std::nullopt;
  MLIRContext *context = op->getContext();
  Type f32 = Float32Type::get(context);
  auto constant = [&](double value) -> TypedAttr {
    return FloatAttr::get(f32, value);
  };
  double infinity = std::numeric_limits<double>::infinity();
  if (isa<arith::AddFOp>(combiner))
    return RowReduction{combiner, gpu::AllReduceOperation::ADD, constant(0)};
  if (isa<arith::MaximumFOp>(combiner))
    return RowReduction{combiner, gpu::AllReduceOperation::MAXIMUMF,
                        constant(-infinity)};
  if (isa<arith::MaxNumFOp>(combiner))
    return RowReduction{combiner, gpu::AllReduceOperation::MAXNUMF,
                        constant(-infinity)};
  if (isa<arith::MinimumFOp>(combiner))
    return RowReduction{combiner, gpu::AllReduceOperation::MINIMUMF,
                        constant(infinity)};
  if (isa<arith::MinNumFOp>(combiner))
    return RowReduction{combiner, gpu::AllReduceOperation::MINNUMF,
                        constant(infinity)};
  return std::nullopt;
}

/// Replaces `op` by a warp-level loop over its rows (inside a loop over
/// blocks of rows when `op` is not in a block's loop already), each row
/// reduced by the lanes of one warp.
static void rewriteRowReduction(IRRewriter &rewriter, linalg::LinalgOp op,
                                const RowReduction &reduction) {
  Location loc = op.getLoc();
  // A fill of the output right before the reduction becomes the value each
  // row's total is folded into, when every output element is a row of its
  // own (written once).
  Value initialValue;
  OpOperand &output = op.getDpsInitsMutable()[0];
  if (linalg::FillOp fill = infini::fillRightBefore(op))
    if (op.getMatchingIndexingMap(&output).getNumResults() ==
        op.getNumLoops() - 1) {
      initialValue = fill.getInputs()[0];
      rewriter.eraseOp(fill);
    }
  rewriter.setInsertionPoint(op);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  SmallVector<Value> sizes;
  for (Range range : op.createLoopRanges(rewriter, loc))
    sizes.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, range.size));
  Value rowLength = sizes.pop_back_val();
  Value rows = index(1);
  for (Value size : sizes)
    rows = rewriter.createOrFold<arith::MulIOp>(loc, rows, size);
  Value zero = index(0), one = index(1);

  // In a block's loop (the fused attention's tiles) the block's warps share
  // the rows; outside, blocks of kRowsPerBlock rows are launched.
  Value firstRow = zero, warpRows = rows;
  if (infini::countEnclosingParallelLoops(op) == 0) {
    auto blocks = scf::ParallelOp::create(
        rewriter, loc, ValueRange{zero},
        ValueRange{rewriter.createOrFold<arith::CeilDivUIOp>(
            loc, rows, index(kRowsPerBlock))},
        ValueRange{one});
    rewriter.setInsertionPoint(blocks.getBody()->getTerminator());
    // Computed outside the inner loop, which keeps canonicalization from
    // merging the two loops (and losing the warp-level one).
    firstRow = arith::MulIOp::create(
        rewriter, loc, blocks.getInductionVars()[0], index(kRowsPerBlock));
    warpRows = index(kRowsPerBlock);
  }
  auto warps = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                       ValueRange{warpRows}, ValueRange{one});
  warps->setAttr(infini::kWarpLevelAttrName, rewriter.getUnitAttr());
  rewriter.setInsertionPoint(warps.getBody()->getTerminator());
  Value row = rewriter.createOrFold<arith::AddIOp>(loc, firstRow,
                                                   warps.getInductionVars()[0]);
  Value inRange = arith::CmpIOp::create(rewriter, loc,
                                        arith::CmpIPredicate::ult, row, rows);
  auto guard = scf::IfOp::create(rewriter, loc, inRange, false);
  rewriter.setInsertionPoint(guard.thenBlock()->getTerminator());

  // The row's point in the parallel loops, innermost fastest.
  SmallVector<Value> point(sizes.size() + 1);
  Value rest = row;
  for (unsigned d = sizes.size(); d-- > 0;) {
    point[d] =
        d == 0
            ? rest
            : arith::RemUIOp::create(rewriter, loc, rest, sizes[d]).getResult();
    if (d != 0)
      rest = arith::DivUIOp::create(rewriter, loc, rest, sizes[d]);
  }
  Value lanes = arith::MinUIOp::create(
      rewriter, loc, index(infini::kWarpSize),
      gpu::BlockDimOp::create(rewriter, loc, gpu::Dimension::x));
  Value lane = arith::RemUIOp::create(
      rewriter, loc, gpu::ThreadIdOp::create(rewriter, loc, gpu::Dimension::x),
      lanes);

  auto indices = [&](OpOperand &operand, Value k) {
    SmallVector<Value> values(point.begin(), point.end());
    values.back() = k;
    return infini::operandIndices(op, operand, values);
  };
  Block &payload = op->getRegion(0).front();
  OpOperand &init = op.getDpsInitsMutable()[0];
  Value identity = arith::ConstantOp::create(rewriter, loc, reduction.identity);
  auto partial = scf::ForOp::create(
      rewriter, loc, lane, rowLength, lanes, ValueRange{identity},
      [&](OpBuilder &builder, Location loc, Value k, ValueRange iterArgs) {
        IRMapping mapping;
        for (OpOperand *input : op.getDpsInputOperands())
          mapping.map(payload.getArgument(input->getOperandNumber()),
                      memref::LoadOp::create(builder, loc, input->get(),
                                             indices(*input, k)));
        mapping.map(payload.getArgument(init.getOperandNumber()), iterArgs[0]);
        for (Operation &bodyOp : payload.without_terminator()) {
          if (isa<linalg::IndexOp>(bodyOp)) {
            unsigned dim = cast<linalg::IndexOp>(bodyOp).getDim();
            mapping.map(bodyOp.getResult(0),
                        dim == point.size() - 1 ? k : point[dim]);
            continue;
          }
          builder.clone(bodyOp, mapping);
        }
        scf::YieldOp::create(
            builder, loc,
            mapping.lookup(payload.getTerminator()->getOperand(0)));
      });
  Value total = gpu::SubgroupReduceOp::create(
      rewriter, loc, partial.getResult(0), reduction.kind, /*uniform=*/true);
  Value first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                      lane, zero);
  auto store = scf::IfOp::create(rewriter, loc, first, false);
  rewriter.setInsertionPoint(store.thenBlock()->getTerminator());
  SmallVector<Value> outIndices = indices(init, zero);
  Value old = initialValue ? initialValue
                           : memref::LoadOp::create(rewriter, loc, init.get(),
                                                    outIndices)
                                 .getResult();
  Operation *combined = rewriter.clone(*reduction.combiner);
  combined->setOperands({old, total});
  memref::StoreOp::create(rewriter, loc, combined->getResult(0), init.get(),
                          outIndices);
  rewriter.eraseOp(op);
}

namespace {
struct GPUWarpReductionsPass
    : public infini::impl::GPUWarpReductionsBase<GPUWarpReductionsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::LinalgOp, RowReduction>> reductions;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<RowReduction> reduction = matchRowReduction(op))
        reductions.push_back({op, *reduction});
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, reduction] : reductions)
      rewriteRowReduction(rewriter, op, reduction);
  }
};

struct GPUSubgroupReduceToShufflesPass
    : public infini::impl::GPUSubgroupReduceToShufflesBase<
          GPUSubgroupReduceToShufflesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateGpuLowerSubgroupReduceToShufflePatterns(patterns,
                                                    infini::kWarpSize);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
