//===- ParallelLoopsToGPU.cpp - The infini-parallel-loops-to-gpu pass -----===//
//
// After bufferization and the conversion of linalg ops to loops, a step is a
// sequence of `scf.parallel` nests (element-wise and contraction loops, whose
// reductions are serial `scf.for`s inside the parallel dimensions) plus a
// little host code. On the GPU every buffer is device memory, so each
// outermost parallel loop becomes one `gpu.launch` and whatever still
// touches memory outside of them runs in a one-thread launch.
//
// The mapping is deliberately simple and independent of the loop's rank:
// the iteration space is linearized with the innermost dimension fastest, so
// the threads of a warp read and write consecutive elements of the
// row-major buffers, and a one-dimensional grid of fixed-size blocks covers
// it. Loops nested in a body (the tile loops of the fused attention or of
// CoPE) run sequentially in their thread.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>

namespace infini {
#define GEN_PASS_DEF_PARALLELLOOPSTOGPU
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Whether `op` sits inside an `scf.parallel` below `root`.
static bool isInParallelLoop(Operation *op, Operation *root) {
  for (Operation *parent = op->getParentOp(); parent && parent != root;
       parent = parent->getParentOp())
    if (isa<scf::ParallelOp>(parent))
      return true;
  return false;
}

/// Whether `op` reads or writes a buffer (not just its descriptor).
static bool accessesMemory(Operation *op) {
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return false;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::any_of(instances, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()) &&
           e.getValue() && isa<BaseMemRefType>(e.getValue().getType());
  });
}

/// Moves host ops that access memory outside of any parallel loop into
/// single-iteration parallel loops, so that they are launched like the rest.
/// The op moved is the outermost one around the access that contains no
/// parallel loop, e.g. a whole serial loop nest.
static LogicalResult wrapHostMemoryAccesses(func::FuncOp func) {
  SmallVector<Operation *> accesses;
  func.walk([&](Operation *op) {
    if (accessesMemory(op) && !isInParallelLoop(op, func))
      accesses.push_back(op);
  });
  for (Operation *access : accesses) {
    // An earlier wrap may already have covered this access.
    if (isInParallelLoop(access, func))
      continue;
    Operation *outer = access;
    while (outer->getParentOp() != func) {
      Operation *parent = outer->getParentOp();
      bool hasLoop = false;
      parent->walk([&](scf::ParallelOp) {
        hasLoop = true;
        return WalkResult::interrupt();
      });
      if (hasLoop)
        break;
      outer = parent;
    }
    if (outer->getNumResults() != 0)
      return outer->emitOpError()
             << "reads device memory into a value the host needs; it cannot "
                "run in a kernel";
    OpBuilder builder(outer);
    Location loc = outer->getLoc();
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    auto loop = scf::ParallelOp::create(builder, loc, ValueRange{zero},
                                        ValueRange{one}, ValueRange{one});
    outer->moveBefore(loop.getBody()->getTerminator());
  }
  return success();
}

/// Replaces a parallel loop nested in a kernel body by a nest of `scf.for`s.
static void sequentialize(IRRewriter &rewriter, scf::ParallelOp loop) {
  rewriter.setInsertionPoint(loop);
  scf::LoopNest nest =
      scf::buildLoopNest(rewriter, loop.getLoc(), loop.getLowerBound(),
                         loop.getUpperBound(), loop.getStep());
  SmallVector<Value> ivs;
  for (scf::ForOp forOp : nest.loops)
    ivs.push_back(forOp.getInductionVar());
  Block *innermost = nest.loops.back().getBody();
  Operation *reduce = loop.getBody()->getTerminator();
  rewriter.inlineBlockBefore(loop.getBody(), innermost->getTerminator(), ivs);
  rewriter.eraseOp(reduce);
  rewriter.eraseOp(loop);
}

/// Whether the buffer `value` (or a view of it) is carried out of the block
/// that defines it, e.g. yielded by a loop: then one allocation per kernel
/// would alias buffers of different iterations.
static bool escapesBlock(Value value) {
  for (Operation *user : value.getUsers()) {
    if (user->hasTrait<OpTrait::IsTerminator>())
      return true;
    if (isa<ViewLikeOpInterface>(user))
      for (Value result : user->getResults())
        if (escapesBlock(result))
          return true;
  }
  return false;
}

/// Turns the outermost parallel loop `loop` into a one-dimensional launch of
/// `blockSize`-thread blocks, one thread per iteration.
/// The kernel is named `kernel` in the one `gpu.module` @`module`.
static LogicalResult launchLoop(IRRewriter &rewriter, scf::ParallelOp loop,
                                int64_t blockSize, StringRef module,
                                StringRef kernel) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError() << "with reductions cannot be launched on the "
                                 "GPU; expected linalg-style loops";

  // Nested loops run sequentially in the thread, inner ones first.
  SmallVector<scf::ParallelOp> nested;
  loop.getBody()->walk([&](scf::ParallelOp inner) { nested.push_back(inner); });
  for (scf::ParallelOp inner : nested) {
    if (inner.getNumResults() != 0)
      return inner.emitOpError() << "with reductions is not supported inside "
                                    "a GPU kernel";
    sequentialize(rewriter, inner);
  }

  // Temporaries of the body become thread-private; the bufferization's
  // deallocations inside the body only ever free those.
  SmallVector<memref::AllocOp> allocs;
  WalkResult walk = loop.getBody()->walk([&](Operation *op) {
    if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      rewriter.eraseOp(dealloc);
      return WalkResult::advance();
    }
    auto alloc = dyn_cast<memref::AllocOp>(op);
    if (!alloc)
      return WalkResult::advance();
    if (!alloc.getType().hasStaticShape() || escapesBlock(alloc)) {
      alloc.emitOpError() << "inside a parallel loop needs a static shape "
                             "and must not leave its block to run on the GPU";
      return WalkResult::interrupt();
    }
    allocs.push_back(alloc);
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  Value zero = index(0), one = index(1);

  // Trip counts (empty ranges count zero) and their product, folded to
  // constants where the bounds are.
  SmallVector<Value> trips;
  Value total = one;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value extent = rewriter.createOrFold<arith::SubIOp>(loc, ub, lb);
    Value trip = rewriter.createOrFold<arith::CeilDivSIOp>(loc, extent, step);
    trip = rewriter.createOrFold<arith::MaxSIOp>(loc, trip, zero);
    trips.push_back(trip);
    total = rewriter.createOrFold<arith::MulIOp>(loc, total, trip);
  }
  // Small constant spaces (one-thread host work) get one small block.
  int64_t blockThreads = blockSize;
  if (std::optional<int64_t> known = getConstantIntValue(total))
    blockThreads = std::clamp<int64_t>(*known, 1, blockSize);
  Value threads = index(blockThreads);
  // At least one block: a grid of zero blocks is a launch error.
  Value blocks = rewriter.createOrFold<arith::CeilDivSIOp>(loc, total, threads);
  blocks = rewriter.createOrFold<arith::MaxSIOp>(loc, blocks, one);

  MLIRContext *context = rewriter.getContext();
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, blocks, one, one, threads, one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, /*workgroupAttributions=*/{},
      /*privateAttributions=*/{}, nullptr, nullptr, nullptr,
      FlatSymbolRefAttr::get(context, module),
      FlatSymbolRefAttr::get(context, kernel));
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToEnd(&body);
  auto terminator = gpu::TerminatorOp::create(rewriter, loc);
  rewriter.setInsertionPoint(terminator);
  for (memref::AllocOp alloc : allocs)
    rewriter.replaceOpWithNewOp<memref::AllocaOp>(
        alloc, alloc.getType(), ValueRange{}, alloc.getAlignmentAttr());

  Value linear = rewriter.createOrFold<arith::AddIOp>(
      loc,
      rewriter.createOrFold<arith::MulIOp>(loc, launch.getBlockIds().x,
                                           threads),
      launch.getThreadIds().x);
  Value inRange = arith::CmpIOp::create(
      rewriter, loc, arith::CmpIPredicate::ult, linear, total);
  auto guard = scf::IfOp::create(rewriter, loc, inRange, false);
  rewriter.setInsertionPoint(guard.thenBlock()->getTerminator());

  // Innermost dimension fastest.
  unsigned rank = trips.size();
  SmallVector<Value> ivs(rank);
  Value rest = linear;
  for (unsigned d = rank; d-- > 0;) {
    Value position = rest;
    if (d != 0) {
      position = arith::RemUIOp::create(rewriter, loc, rest, trips[d]);
      rest = arith::DivUIOp::create(rewriter, loc, rest, trips[d]);
    }
    Value offset =
        arith::MulIOp::create(rewriter, loc, position, loop.getStep()[d]);
    ivs[d] =
        arith::AddIOp::create(rewriter, loc, loop.getLowerBound()[d], offset);
  }
  Operation *reduce = loop.getBody()->getTerminator();
  rewriter.inlineBlockBefore(loop.getBody(), guard.thenBlock()->getTerminator(),
                             ivs);
  rewriter.eraseOp(reduce);
  rewriter.eraseOp(loop);
  return success();
}

namespace {
struct ParallelLoopsToGPUPass
    : public infini::impl::ParallelLoopsToGPUBase<ParallelLoopsToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (blockSize <= 0 || blockSize > 1024) {
      func.emitError() << "block-size must be in [1, 1024], got " << blockSize;
      return signalPassFailure();
    }
    if (failed(wrapHostMemoryAccesses(func)))
      return signalPassFailure();

    SmallVector<scf::ParallelOp> outermost;
    func.walk([&](scf::ParallelOp loop) {
      if (!isInParallelLoop(loop, func))
        outermost.push_back(loop);
    });
    // All kernels go to one gpu.module, hence one binary for the runtime to
    // load, and one ptxas run.
    IRRewriter rewriter(&getContext());
    for (auto [i, loop] : llvm::enumerate(outermost))
      if (failed(launchLoop(rewriter, loop, blockSize, moduleName,
                            (func.getName() + "_kernel_" + Twine(i)).str())))
        return signalPassFailure();
  }
};
} // namespace
