//===- MergeIndependentLoops.cpp - infini-gpu-merge-independent-loops -----===//
//
// Every outermost parallel loop becomes a kernel launch. Element-wise loops
// that touch different buffers (RoPE of the queries and of the keys, and the
// memory's feature maps of both, which need not wait for the attention
// kernel between them; the copies of the output and of each state into the
// step's out-parameters) can share one launch: a loop over the sum of their
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
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

#include <vector>

namespace infini {
#define GEN_PASS_DEF_GPUMERGEINDEPENDENTLOOPS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
/// The buffers a loop (or another op) reads and writes.
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
  return !infini::hasNestedParallelLoop(loop) &&
         infini::forEachMemoryEffect(
             loop,
             [&](Operation *, const MemoryEffects::EffectInstance &effect) {
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

/// Replaces `loops` (mergeable, independent, all they use available at the
/// first) by one loop over the sum of their iteration counts, at the first's
/// place.
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
      Value inside = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, index, starts[k + 1]);
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

/// Whether `value` is available before `first`, or computed by ops after it
/// that may move before it (free of memory effects or allocations, without
/// regions, themselves only on such values), which `hoisted` collects.
static bool availableBefore(Value value, Operation *first,
                            llvm::SetVector<Operation *> &hoisted) {
  Operation *definition = value.getDefiningOp();
  if (!definition || definition->getBlock() != first->getBlock() ||
      definition->isBeforeInBlock(first) || hoisted.contains(definition))
    return true;
  if (definition->getNumRegions() != 0 ||
      !(isa<memref::AllocOp>(definition) || isMemoryEffectFree(definition)))
    return false;
  for (Value operand : definition->getOperands())
    if (!availableBefore(operand, first, hoisted))
      return false;
  hoisted.insert(definition);
  return true;
}

namespace {
/// Loops that merge into the first's place, and what lies between them.
struct Group {
  SmallVector<scf::ParallelOp> loops;
  SmallVector<Accesses> loopAccesses;
  /// The accesses of the other ops since the first loop, which stay after
  /// the merged loop: a later loop joins only if independent of them.
  SmallVector<Accesses> others;
  /// Ops computing values the loops use, to move before the first loop.
  llvm::SetVector<Operation *> hoisted;
};

struct GPUMergeIndependentLoopsPass
    : public infini::impl::GPUMergeIndependentLoopsBase<
          GPUMergeIndependentLoopsPass> {
  void runOnOperation() override {
    // A loop joins the open group when it is independent of the group's
    // loops and of every op since the group's first loop, and the values it
    // uses are available at the first loop (or can be computed there);
    // otherwise it starts a new group. An op whose memory effects are
    // unknown closes the group.
    Block &body = getOperation().getBody().front();
    std::vector<Group> groups;
    Group open;
    auto close = [&]() {
      if (open.loops.size() > 1)
        groups.push_back(std::move(open));
      open = Group();
    };
    for (Operation &op : body) {
      auto loop = dyn_cast<scf::ParallelOp>(op);
      Accesses accesses;
      if (loop && isMergeable(loop, accesses)) {
        bool joins = !open.loops.empty();
        llvm::SetVector<Operation *> hoisted = open.hoisted;
        if (joins) {
          auto isIndependent = [&](const Accesses &other) {
            return independent(accesses, other);
          };
          llvm::SetVector<Value> used(loop->getOperands().begin(),
                                      loop->getOperands().end());
          getUsedValuesDefinedAbove(loop.getRegion(), used);
          joins = llvm::all_of(open.loopAccesses, isIndependent) &&
                  llvm::all_of(open.others, isIndependent) &&
                  llvm::all_of(used, [&](Value value) {
                    return availableBefore(value, open.loops.front(), hoisted);
                  });
        }
        if (!joins)
          close();
        open.loops.push_back(loop);
        open.loopAccesses.push_back(accesses);
        if (joins)
          open.hoisted = std::move(hoisted);
        continue;
      }
      if (open.loops.empty())
        continue;
      // Another op after the group's first loop: it stays where it is.
      Accesses others;
      bool known = infini::forEachMemoryEffect(
          &op, [&](Operation *, const MemoryEffects::EffectInstance &effect) {
            if (isa<MemoryEffects::Read>(effect.getEffect()))
              others.reads.push_back(effect.getValue());
            else if (!isa<MemoryEffects::Allocate>(effect.getEffect()))
              others.writes.push_back(effect.getValue());
            return true;
          });
      if (!known) {
        close();
        continue;
      }
      open.others.push_back(std::move(others));
    }
    close();

    IRRewriter rewriter(&getContext());
    for (Group &group : groups) {
      // In block order, so that each moved op follows its operands.
      SmallVector<Operation *> hoisted(group.hoisted.begin(),
                                       group.hoisted.end());
      llvm::sort(hoisted, [](Operation *a, Operation *b) {
        return a->isBeforeInBlock(b);
      });
      for (Operation *op : hoisted)
        op->moveBefore(group.loops.front());
      mergeLoops(rewriter, group.loops);
    }
  }
};
} // namespace
