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
// An element-wise op that reads each row's result right after (RMSNorm's
// scaling) is computed by the same warp, from the result in a register,
// instead of by a kernel of its own.
//
// The lane count is min(32, the block's size), so the host emulation's
// one-thread blocks are warps of one lane, whose subgroup reduction is the
// identity. infini-gpu-subgroup-reduce-to-shuffles lowers the reductions to
// butterfly shuffles in stage 3.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
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

/// The element-wise op after the row reduction `op` (outside parallel
/// loops) that reads the reduction's result per row and writes a buffer of
/// rows as long as `op`'s, which the warp that reduced a row can compute
/// next: RMSNorm's scaling, the memory read's division. Only allocations
/// and ops free of memory effects may come in between; they are returned
/// in `between`, to be moved before `op`. Null otherwise.
static linalg::GenericOp rowConsumer(linalg::LinalgOp op,
                                     SmallVector<Operation *> &between,
                                     DominanceInfo &dominance) {
  Operation *next = op->getNextNode();
  for (; next && (isMemoryEffectFree(next) || isa<memref::AllocOp>(next));
       next = next->getNextNode())
    between.push_back(next);
  auto consumer = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!consumer || infini::countEnclosingParallelLoops(op) != 0 ||
      !consumer.hasPureBufferSemantics() || consumer.getNumDpsInits() != 1 ||
      consumer.getNumLoops() != op.getNumLoops() ||
      consumer.getNumParallelLoops() != consumer.getNumLoops() ||
      !llvm::all_of(consumer.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return nullptr;
  // The rows are the same: the reduction's output is read through the
  // reduction's own map, and the rows are as long, statically.
  OpOperand &reduced = op.getDpsInitsMutable()[0];
  Value result = reduced.get();
  AffineMap rowMap = op.getMatchingIndexingMap(&reduced);
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  SmallVector<int64_t> consumerBounds = consumer.getStaticLoopRanges();
  if (ShapedType::isDynamic(bounds.back()) ||
      consumerBounds.back() != bounds.back() ||
      rowMap.getNumResults() != op.getNumLoops() - 1)
    return nullptr;
  int readsOfResult = 0;
  for (OpOperand *input : consumer.getDpsInputOperands())
    if (input->get() == result) {
      if (consumer.getMatchingIndexingMap(input) != rowMap)
        return nullptr;
      ++readsOfResult;
    }
  // What the consumer writes is none of what the reduction reads or writes,
  // and it reads it, if at all, only at the element it writes (an update in
  // place). Its operands and captured values exist where the fused loop
  // goes.
  OpOperand *written = consumer.getDpsInitOperand(0);
  AffineMap writtenMap = consumer.getMatchingIndexingMap(written);
  if (readsOfResult == 0 ||
      llvm::is_contained(op->getOperands(), written->get()) ||
      llvm::any_of(consumer.getDpsInputOperands(), [&](OpOperand *input) {
        return input->get() == written->get() &&
               consumer.getMatchingIndexingMap(input) != writtenMap;
      }))
    return nullptr;
  bool capturesLater = false;
  consumer->walk([&](Operation *nested) {
    for (Value value : nested->getOperands())
      if (!consumer->isAncestor(value.getParentBlock()->getParentOp()) &&
          !dominance.properlyDominates(value, op) &&
          !llvm::is_contained(between, value.getDefiningOp()))
        capturesLater = true;
  });
  return capturesLater ? nullptr : consumer;
}

/// Replaces `op` by a warp-level loop over its rows (inside a loop over
/// blocks of rows when `op` is not in a block's loop already), each row
/// reduced by the lanes of one warp.
static void rewriteRowReduction(IRRewriter &rewriter, linalg::LinalgOp op,
                                const RowReduction &reduction,
                                DominanceInfo &dominance) {
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
  SmallVector<Operation *> between;
  linalg::GenericOp consumer = rowConsumer(op, between, dominance);
  if (consumer)
    for (Operation *moved : between)
      moved->moveBefore(op);
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
        rewriter, infini::kernelKindLoc(loc, "reduction"), ValueRange{zero},
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
  // Every lane folds the (uniform) total into the output's value; lane 0
  // stores it. The value is read before the lanes meet in the reduction, so
  // that no lane reads it after lane 0 stored.
  SmallVector<Value> outIndices = indices(init, zero);
  Value old = initialValue ? initialValue
                           : memref::LoadOp::create(rewriter, loc, init.get(),
                                                    outIndices)
                                 .getResult();
  Value total = gpu::SubgroupReduceOp::create(
      rewriter, loc, partial.getResult(0), reduction.kind, /*uniform=*/true);
  Value first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                      lane, zero);
  Operation *combined = rewriter.clone(*reduction.combiner);
  combined->setOperands({old, total});
  Value rowResult = combined->getResult(0);
  {
    OpBuilder::InsertionGuard insertionGuard(rewriter);
    auto store = scf::IfOp::create(rewriter, loc, first, false);
    rewriter.setInsertionPoint(store.thenBlock()->getTerminator());
    memref::StoreOp::create(rewriter, loc, rowResult, init.get(), outIndices);
  }
  if (consumer) {
    // The consumer's elements of this row, strided over the lanes like the
    // reduction's reads, taking the row's result from the register.
    Block &consumerBody = consumer.getRegion().front();
    scf::ForOp::create(
        rewriter, loc, lane, rowLength, lanes, ValueRange{},
        [&](OpBuilder &builder, Location loc, Value k, ValueRange) {
          SmallVector<Value> consumerPoint(point.begin(), point.end());
          consumerPoint.back() = k;
          IRMapping mapping;
          for (OpOperand &operand : consumer->getOpOperands()) {
            BlockArgument argument =
                consumerBody.getArgument(operand.getOperandNumber());
            if (operand.get() == init.get()) {
              mapping.map(argument, rowResult);
              continue;
            }
            if (argument.use_empty())
              continue;
            mapping.map(argument, memref::LoadOp::create(
                                      builder, loc, operand.get(),
                                      infini::operandIndices(consumer, operand,
                                                             consumerPoint)));
          }
          for (Operation &bodyOp : consumerBody.without_terminator()) {
            if (auto indexOp = dyn_cast<linalg::IndexOp>(bodyOp)) {
              mapping.map(indexOp.getResult(), consumerPoint[indexOp.getDim()]);
              continue;
            }
            builder.clone(bodyOp, mapping);
          }
          OpOperand *written = consumer.getDpsInitOperand(0);
          memref::StoreOp::create(
              builder, loc,
              mapping.lookup(consumerBody.getTerminator()->getOperand(0)),
              written->get(),
              infini::operandIndices(consumer, *written, consumerPoint));
          scf::YieldOp::create(builder, loc);
        });
    rewriter.eraseOp(consumer);
  }
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
    DominanceInfo dominance(getOperation());
    for (auto [op, reduction] : reductions)
      rewriteRowReduction(rewriter, op, reduction, dominance);
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
