//===- MergeIndependentLoops.cpp - infini-gpu-merge-independent-loops -----===//
//
// Every outermost parallel loop becomes a kernel launch. Element-wise loops
// next to one another that touch different buffers (RoPE of the queries and
// of the keys; the copies of the output and of each state into the step's
// out-parameters) can share one launch: a loop over the sum of their
// iteration counts, each iteration running the body of the loop its index
// falls in. Consecutive iterations stay consecutive elements of one loop, so
// accesses coalesce as before.
//
//===----------------------------------------------------------------------===//

#include "passes/GPU/FusedOperands.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace infini {
#define GEN_PASS_DEF_GPUMERGEINDEPENDENTLOOPS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
/// The buffers a loop reads and writes.
struct Accesses {
  SmallVector<Value> reads, writes;
};
} // namespace

/// Whether `loop` may share a launch: a loop of threads alone (no nested
/// parallel loop) from zero in steps of one, without reductions, whose
/// memory accesses are all known (returned in `accesses`).
static bool isMergeable(scf::ParallelOp loop, Accesses &accesses) {
  if (loop.getNumReductions() != 0 ||
      !llvm::all_of(loop.getLowerBound(),
                    [](Value bound) { return isZeroInteger(bound); }) ||
      !llvm::all_of(loop.getStep(),
                    [](Value step) { return isOneInteger(step); }))
    return false;
  bool nested = false;
  loop.getBody()->walk([&](scf::ParallelOp) { nested = true; });
  return !nested && infini::forEachMemoryEffect(
                        loop, [&](Operation *,
                                  const MemoryEffects::EffectInstance &effect) {
                          if (isa<MemoryEffects::Allocate>(effect.getEffect()))
                            return false;
                          if (isa<MemoryEffects::Read>(effect.getEffect()))
                            accesses.reads.push_back(effect.getValue());
                          else
                            accesses.writes.push_back(effect.getValue());
                          return true;
                        });
}

/// Whether neither of two loops writes a buffer that the other accesses.
static bool independent(const Accesses &a, const Accesses &b) {
  auto conflicts = [](ArrayRef<Value> writes, const Accesses &other) {
    return llvm::any_of(writes, [&](Value written) {
      return llvm::any_of(llvm::concat<const Value>(other.reads, other.writes),
                          [&](Value accessed) {
                            return infini::buffersMayAlias(written, accessed);
                          });
    });
  };
  return !conflicts(a.writes, b) && !conflicts(b.writes, a);
}

/// The merged loop's location: the loops' common kind (kernelKindLoc), or
/// none, for infini-parallel-loops-to-gpu to tell from the body.
static Location mergedLocation(MutableArrayRef<scf::ParallelOp> loops) {
  Location first = loops.front().getLoc();
  auto name = dyn_cast<NameLoc>(first);
  if (name && llvm::all_of(loops, [&](scf::ParallelOp loop) {
        auto other = dyn_cast<NameLoc>(loop.getLoc());
        return other && other.getName() == name.getName();
      }))
    return first;
  return name ? name.getChildLoc() : first;
}

/// Replaces `loops` (consecutive, independent, mergeable) by one loop over
/// the sum of their iteration counts.
static void mergeLoops(IRRewriter &rewriter,
                       MutableArrayRef<scf::ParallelOp> loops) {
  scf::ParallelOp first = loops.front();
  Location loc = first.getLoc();
  rewriter.setInsertionPoint(first);
  // Where each loop's iterations start in the merged index space.
  SmallVector<Value> starts;
  Value total = arith::ConstantIndexOp::create(rewriter, loc, 0);
  for (scf::ParallelOp loop : loops) {
    starts.push_back(total);
    Value count = arith::ConstantIndexOp::create(rewriter, loc, 1);
    for (Value bound : loop.getUpperBound())
      count = rewriter.createOrFold<arith::MulIOp>(loc, count, bound);
    total = rewriter.createOrFold<arith::AddIOp>(loc, total, count);
  }
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto merged =
      scf::ParallelOp::create(rewriter, mergedLocation(loops), ValueRange{zero},
                              ValueRange{total}, ValueRange{one});
  Value index = merged.getInductionVars()[0];
  rewriter.setInsertionPoint(merged.getBody()->getTerminator());
  // if (index < end of loop 0) body 0 else if (index < end of loop 1) ...
  for (auto [k, loop] : llvm::enumerate(loops)) {
    bool last = k + 1 == loops.size();
    scf::IfOp branch;
    if (!last) {
      Value end = k + 1 < starts.size() ? starts[k + 1] : total;
      Value inside = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, index, end);
      branch = scf::IfOp::create(rewriter, loc, inside, /*withElse=*/true);
      rewriter.setInsertionPoint(branch.thenBlock()->getTerminator());
    }
    // The loop's own induction variables, innermost fastest.
    Value rest = rewriter.createOrFold<arith::SubIOp>(loc, index, starts[k]);
    SmallVector<Value> upper(loop.getUpperBound());
    IRMapping mapping;
    for (unsigned d = upper.size(); d-- > 0;) {
      Value iv = rest;
      if (d != 0) {
        iv = arith::RemUIOp::create(rewriter, loc, rest, upper[d]);
        rest = arith::DivUIOp::create(rewriter, loc, rest, upper[d]);
      }
      mapping.map(loop.getInductionVars()[d], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      rewriter.clone(op, mapping);
    if (!last)
      rewriter.setInsertionPoint(branch.elseBlock()->getTerminator());
  }
  for (scf::ParallelOp loop : loops)
    rewriter.eraseOp(loop);
}

namespace {
struct GPUMergeIndependentLoopsPass
    : public infini::impl::GPUMergeIndependentLoopsBase<
          GPUMergeIndependentLoopsPass> {
  void runOnOperation() override {
    // Groups of outermost loops of the function's body that can merge:
    // between two of them only ops free of memory effects (moved before the
    // group), allocations (moved before) and deallocations (moved after).
    Block &body = getOperation().getBody().front();
    SmallVector<SmallVector<scf::ParallelOp>> groups;
    SmallVector<scf::ParallelOp> group;
    SmallVector<Accesses> groupAccesses;
    SmallVector<Operation *> before, after;
    SmallVector<std::pair<SmallVector<Operation *>, SmallVector<Operation *>>>
        moves;
    auto close = [&]() {
      if (group.size() > 1) {
        groups.push_back(group);
        moves.push_back({before, after});
      }
      group.clear();
      groupAccesses.clear();
      before.clear();
      after.clear();
    };
    SmallVector<Operation *> pendingBefore, pendingAfter;
    for (Operation &op : body) {
      auto loop = dyn_cast<scf::ParallelOp>(op);
      Accesses accesses;
      if (loop && isMergeable(loop, accesses) &&
          llvm::all_of(groupAccesses, [&](const Accesses &other) {
            return independent(accesses, other);
          })) {
        if (group.empty()) {
          pendingBefore.clear();
          pendingAfter.clear();
        }
        llvm::append_range(before, pendingBefore);
        llvm::append_range(after, pendingAfter);
        pendingBefore.clear();
        pendingAfter.clear();
        group.push_back(loop);
        groupAccesses.push_back(accesses);
        continue;
      }
      if (loop && isMergeable(loop, accesses)) {
        // Depends on the group: it starts a new one.
        close();
        pendingBefore.clear();
        pendingAfter.clear();
        group.push_back(loop);
        groupAccesses.push_back(accesses);
        continue;
      }
      if (!group.empty() && isMemoryEffectFree(&op) &&
          op.getNumRegions() == 0) {
        pendingBefore.push_back(&op);
        continue;
      }
      if (!group.empty() && isa<memref::AllocOp>(op)) {
        pendingBefore.push_back(&op);
        continue;
      }
      if (!group.empty() && isa<memref::DeallocOp>(op)) {
        pendingAfter.push_back(&op);
        continue;
      }
      close();
    }
    close();

    IRRewriter rewriter(&getContext());
    for (auto [loops, move] : llvm::zip(groups, moves)) {
      for (Operation *op : move.first)
        op->moveBefore(loops.front());
      for (Operation *op : llvm::reverse(move.second))
        op->moveAfter(loops.back());
      mergeLoops(rewriter, loops);
    }
  }
};
} // namespace
