//===- ParallelLoopsToGPU.cpp - The infini-parallel-loops-to-gpu pass -----===//
//
// After bufferization and the conversion of linalg ops to loops, a step is a
// sequence of `scf.parallel` nests (element-wise and contraction loops, whose
// reductions are serial `scf.for`s inside the parallel dimensions) plus a
// little host code. On the GPU every buffer is device memory, so each
// outermost parallel loop becomes one `gpu.launch` and whatever still
// touches memory outside of them runs in a one-thread launch.
//
// A loop without nested parallel loops is linearized with the innermost
// dimension fastest, so the threads of a warp read and write consecutive
// elements of the row-major buffers, and a one-dimensional grid of
// fixed-size blocks covers it, one thread per iteration. A loop with nested
// parallel loops (the fused attention's and CoPE's loops over batch and
// heads, whose bodies are sequences of tile-sized loops) gets one block per
// iteration instead, its threads sharing each nested loop and meeting at a
// barrier between them; its temporaries, too large for registers, live in
// shared memory while they fit, else in a global scratch buffer (cached in
// L1/L2) with one slice per block.
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
/// Trip counts of `loop`'s dimensions (empty ranges count zero) and their
/// product, folded to constants where the bounds are.
static Value tripCounts(IRRewriter &rewriter, Location loc,
                        scf::ParallelOp loop, SmallVectorImpl<Value> &trips) {
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value total = arith::ConstantIndexOp::create(rewriter, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value extent = rewriter.createOrFold<arith::SubIOp>(loc, ub, lb);
    Value trip = rewriter.createOrFold<arith::CeilDivSIOp>(loc, extent, step);
    trip = rewriter.createOrFold<arith::MaxSIOp>(loc, trip, zero);
    trips.push_back(trip);
    total = rewriter.createOrFold<arith::MulIOp>(loc, total, trip);
  }
  return total;
}

/// Moves the body of `loop` to the insertion point, its induction variables
/// the point of `linear` in the linearized iteration space (innermost
/// dimension fastest), and erases the loop.
static void inlineAtLinearIndex(IRRewriter &rewriter, scf::ParallelOp loop,
                                ArrayRef<Value> trips, Value linear) {
  Location loc = loop.getLoc();
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
  rewriter.inlineBlockBefore(loop.getBody(), rewriter.getInsertionBlock(),
                             rewriter.getInsertionPoint(), ivs);
  rewriter.eraseOp(reduce);
  rewriter.eraseOp(loop);
}

/// A launch of `blocks` x `threads` named `kernel` in gpu.module `module`,
/// with the insertion point set in its body.
static gpu::LaunchOp createLaunch(IRRewriter &rewriter, Location loc,
                                  Value blocks, Value threads, StringRef module,
                                  StringRef kernel,
                                  TypeRange workgroupBuffers = {},
                                  Value dynamicSharedMemorySize = nullptr) {
  MLIRContext *context = rewriter.getContext();
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto launch =
      gpu::LaunchOp::create(rewriter, loc, blocks, one, one, threads, one, one,
                            dynamicSharedMemorySize, /*asyncTokenType=*/nullptr,
                            /*asyncDependencies=*/{}, workgroupBuffers,
                            /*privateAttributions=*/{}, nullptr, nullptr,
                            nullptr, FlatSymbolRefAttr::get(context, module),
                            FlatSymbolRefAttr::get(context, kernel));
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToEnd(&body);
  auto terminator = gpu::TerminatorOp::create(rewriter, loc);
  rewriter.setInsertionPoint(terminator);
  return launch;
}

/// Checks the temporaries allocated in `region` and erases its
/// deallocations: the temporaries get storage per thread or per block.
static LogicalResult collectTemporaries(IRRewriter &rewriter, Region &region,
                                        SmallVectorImpl<memref::AllocOp> &out) {
  WalkResult walk = region.walk([&](Operation *op) {
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
    out.push_back(alloc);
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

/// Launches `loop`, whose body holds no parallel loop, with one thread per
/// iteration.
static LogicalResult launchFlat(IRRewriter &rewriter, scf::ParallelOp loop,
                                int64_t blockSize, StringRef module,
                                StringRef kernel) {
  SmallVector<memref::AllocOp> allocs;
  if (failed(collectTemporaries(rewriter, loop.getRegion(), allocs)))
    return failure();

  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  SmallVector<Value> trips;
  Value total = tripCounts(rewriter, loc, loop, trips);
  // Small constant spaces (one-thread host work) get one small block.
  int64_t blockThreads = blockSize;
  if (std::optional<int64_t> known = getConstantIntValue(total))
    blockThreads = std::clamp<int64_t>(*known, 1, blockSize);
  Value threads = arith::ConstantIndexOp::create(rewriter, loc, blockThreads);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  // At least one block: a grid of zero blocks is a launch error.
  Value blocks = rewriter.createOrFold<arith::CeilDivSIOp>(loc, total, threads);
  blocks = rewriter.createOrFold<arith::MaxSIOp>(loc, blocks, one);

  gpu::LaunchOp launch =
      createLaunch(rewriter, loc, blocks, threads, module, kernel);
  // Temporaries are thread-private, allocated once at the kernel's top.
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
  inlineAtLinearIndex(rewriter, loop, trips, linear);
  return success();
}

/// Whether `op` or an op nested in it writes or frees memory, or has
/// effects it does not declare.
static bool writesMemory(Operation *op) {
  WalkResult walk = op->walk([](Operation *nested) {
    if (auto effects = dyn_cast<MemoryEffectOpInterface>(nested)) {
      if (effects.hasEffect<MemoryEffects::Write>() ||
          effects.hasEffect<MemoryEffects::Free>())
        return WalkResult::interrupt();
      return WalkResult::advance();
    }
    if (nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>() ||
        nested->hasTrait<OpTrait::IsTerminator>())
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return walk.wasInterrupted();
}

/// A barrier at the insertion point unless the op before it is one.
static void barrier(IRRewriter &rewriter, Location loc) {
  Block::iterator point = rewriter.getInsertionPoint();
  Block *block = rewriter.getInsertionBlock();
  if (point != block->begin() && isa<gpu::BarrierOp>(*std::prev(point)))
    return;
  gpu::BarrierOp::create(rewriter, loc);
}

/// Whether `op` holds an `scf.parallel`.
static bool holdsParallelLoop(Operation *op) {
  bool holds = false;
  op->walk([&](scf::ParallelOp nested) {
    holds = nested != op;
    return holds ? WalkResult::interrupt() : WalkResult::advance();
  });
  return holds;
}

namespace {
/// Memory a phase of a block accesses: one of the block's workgroup
/// buffers, a byte range of its dynamic shared memory, shared memory not
/// told apart, or other (global) memory, whose buffers may alias.
struct Buffer {
  enum Kind { Workgroup, DynamicShared, AnyShared, Global } kind;
  /// The workgroup buffer.
  Value root;
  /// The byte range of dynamic shared memory.
  int64_t begin = 0, end = 0;
};

/// The buffers a phase reads and writes, and whether it accesses memory in
/// ways not listed.
struct PhaseAccesses {
  SmallVector<Buffer> reads, writes;
  bool unknown = false;
};
} // namespace

static bool isSharedMemory(Value buffer) {
  auto type = dyn_cast<MemRefType>(buffer.getType());
  return type &&
         gpu::GPUDialect::isWorkgroupMemoryAddressSpace(type.getMemorySpace());
}

/// The memory `value` views, through view-like ops: a view of dynamic
/// shared memory at a constant shift is its byte range.
static Buffer bufferOf(Value value) {
  while (Operation *definition = value.getDefiningOp()) {
    auto view = dyn_cast<memref::ViewOp>(definition);
    if (view && view.getSource().getDefiningOp<gpu::DynamicSharedMemoryOp>()) {
      std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
      MemRefType type = view.getType();
      if (!shift || !type.hasStaticShape())
        return {Buffer::AnyShared, {}};
      return {Buffer::DynamicShared,
              {},
              *shift,
              *shift +
                  type.getNumElements() * type.getElementTypeBitWidth() / 8};
    }
    auto viewLike = dyn_cast<ViewLikeOpInterface>(definition);
    if (!viewLike)
      break;
    value = viewLike.getViewSource();
  }
  if (!isSharedMemory(value))
    return {Buffer::Global, {}};
  if (isa<BlockArgument>(value))
    return {Buffer::Workgroup, value};
  return {Buffer::AnyShared, {}};
}

static bool mayOverlap(const Buffer &a, const Buffer &b) {
  if (a.kind == Buffer::Global || b.kind == Buffer::Global)
    return a.kind == b.kind;
  if (a.kind == Buffer::AnyShared || b.kind == Buffer::AnyShared)
    return true;
  if (a.kind != b.kind)
    return false;
  if (a.kind == Buffer::Workgroup)
    return a.root == b.root;
  return a.begin < b.end && b.begin < a.end;
}

/// The buffer `op` loads from or stores to, and whether it stores, for the
/// plain loads and stores of scalars and vectors; none for other ops.
static std::optional<std::pair<Value, bool>> plainAccess(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return std::make_pair(load.getMemRef(), false);
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return std::make_pair(store.getMemRef(), true);
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return std::make_pair(load.getBase(), false);
  if (auto store = dyn_cast<vector::StoreOp>(op))
    return std::make_pair(store.getBase(), true);
  if (auto read = dyn_cast<vector::TransferReadOp>(op))
    return std::make_pair(read.getBase(), false);
  if (auto write = dyn_cast<vector::TransferWriteOp>(op))
    return std::make_pair(write.getBase(), true);
  if (auto gather = dyn_cast<vector::GatherOp>(op))
    return std::make_pair(gather.getBase(), false);
  return std::nullopt;
}

/// Whether `buffer` is only loaded and stored, directly or through reshaped
/// views of it.
static bool onlyAccessed(Value buffer) {
  return llvm::all_of(buffer.getUsers(), [](Operation *user) {
    if (isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(user))
      return onlyAccessed(user->getResult(0));
    return plainAccess(user).has_value();
  });
}

/// Gives the reshaped views of `buffer`, now in shared memory, its memory
/// space.
static void reshapeViewsInto(Value buffer) {
  for (Operation *user : buffer.getUsers()) {
    if (!isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(user))
      continue;
    infini::takeSourceMemorySpace(user);
    reshapeViewsInto(user->getResult(0));
  }
}

static PhaseAccesses accessesOf(Operation *phase) {
  PhaseAccesses accesses;
  phase->walk([&](Operation *op) {
    if (std::optional<std::pair<Value, bool>> access = plainAccess(op))
      (access->second ? accesses.writes : accesses.reads)
          .push_back(bufferOf(access->first));
    else if (!isMemoryEffectFree(op) &&
             !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      accesses.unknown = true;
  });
  return accesses;
}

/// Whether phase `b` may run while threads still run phase `a`: neither
/// writes memory the other accesses.
static bool independentPhases(const PhaseAccesses &a, const PhaseAccesses &b) {
  if (a.unknown || b.unknown)
    return false;
  auto conflicts = [](const PhaseAccesses &writer, const PhaseAccesses &other) {
    for (const Buffer &written : writer.writes)
      for (const auto *set : {&other.reads, &other.writes})
        for (const Buffer &accessed : *set)
          if (mayOverlap(written, accessed))
            return true;
    return false;
  };
  return !conflicts(a, b) && !conflicts(b, a);
}

/// Erases the barriers of `block` that separate independent phases (a tile
/// product's two staging phases). A barrier orders everything since the
/// last barrier kept before it against what follows, so the phase after it
/// must be independent of every phase in that stretch, not only of its
/// neighbour.
static void eraseNeedlessBarriers(IRRewriter &rewriter, Block &block) {
  // The accesses of each phase since the last barrier kept, each phase
  // walked once.
  SmallVector<PhaseAccesses> sinceKept;
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (!isa<gpu::BarrierOp>(op)) {
      if (!isMemoryEffectFree(&op) && !op.hasTrait<OpTrait::IsTerminator>())
        sinceKept.push_back(accessesOf(&op));
      continue;
    }
    Operation *next = op.getNextNode();
    while (next && isMemoryEffectFree(next))
      next = next->getNextNode();
    bool needless = false;
    if (!sinceKept.empty() && next && !isa<gpu::BarrierOp>(next) &&
        !next->hasTrait<OpTrait::IsTerminator>()) {
      PhaseAccesses following = accessesOf(next);
      needless = llvm::all_of(sinceKept, [&](const PhaseAccesses &phase) {
        return independentPhases(phase, following);
      });
    }
    if (needless)
      rewriter.eraseOp(&op);
    else
      sinceKept.clear();
  }
}

/// Distributes the work of `block`, run by every thread of a GPU block of
/// `blockSize` threads, over those threads: each parallel loop's iterations
/// are strided over them, writes outside parallel loops run in thread 0
/// alone, and barriers separate each such phase from what comes before and
/// after it. Regions holding parallel loops (serial loops, conditionals)
/// run in every thread with the same, uniform, control flow. Warp-level
/// regions run in every thread of their warp.
///
/// A warp-level loop holding parallel loops (a warp's accumulators carried
/// in registers across the block's staging phases) must have one iteration
/// per warp: each warp then runs its iteration, and all the block's threads
/// meet at the phases' barriers inside it.
static LogicalResult distribute(IRRewriter &rewriter, Block &block, Value tid,
                                Value threads, int64_t blockSize) {
  for (Operation &op : llvm::make_early_inc_range(block)) {
    Location loc = op.getLoc();
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      rewriter.setInsertionPoint(loop);
      barrier(rewriter, loc);
      SmallVector<Value> trips;
      Value total = tripCounts(rewriter, loc, loop, trips);
      bool warpLevel = loop->hasAttr(infini::kWarpLevelAttrName);
      bool holdsPhases = holdsParallelLoop(loop);
      int64_t warps = llvm::divideCeil(blockSize, infini::kWarpSize);
      if (holdsPhases && (!warpLevel || getConstantIntValue(total) != warps))
        return loop.emitOpError()
               << "holds parallel loops; in a GPU block of " << blockSize
               << " threads it must be a warp-level loop of " << warps
               << " iterations";
      // A warp-level loop's iterations go to whole warps, which run its
      // body together; a block of fewer than 32 threads (the emulation's
      // one) counts as one warp.
      Value worker = tid, workers = threads;
      if (warpLevel) {
        Value warpSize =
            arith::ConstantIndexOp::create(rewriter, loc, infini::kWarpSize);
        worker = arith::DivUIOp::create(rewriter, loc, tid, warpSize);
        workers = arith::CeilDivUIOp::create(rewriter, loc, threads, warpSize);
      }
      auto strided = scf::ForOp::create(rewriter, loc, worker, total, workers);
      rewriter.setInsertionPointAfter(strided);
      barrier(rewriter, loc);
      rewriter.setInsertionPoint(strided.getBody()->getTerminator());
      inlineAtLinearIndex(rewriter, loop, trips, strided.getInductionVar());
      if (holdsPhases && failed(distribute(rewriter, *strided.getBody(), tid,
                                           threads, blockSize)))
        return failure();
      continue;
    }
    if (holdsParallelLoop(&op)) {
      if (!isa<scf::ForOp, scf::IfOp>(op))
        return op.emitOpError()
               << "holds a parallel loop; only scf.for and scf.if can "
                  "around one in a GPU block";
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          if (failed(distribute(rewriter, inner, tid, threads, blockSize)))
            return failure();
      continue;
    }
    if (op.hasTrait<OpTrait::IsTerminator>() ||
        op.hasAttr(infini::kWarpLevelAttrName) || !writesMemory(&op))
      continue;
    if (op.getNumResults() != 0)
      return op.emitOpError() << "writes memory and returns values; it cannot "
                                 "run in one thread of a GPU block";
    rewriter.setInsertionPoint(&op);
    barrier(rewriter, loc);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                        tid, zero);
    auto single = scf::IfOp::create(rewriter, loc, first, false);
    rewriter.moveOpBefore(&op, single.thenBlock()->getTerminator());
    rewriter.setInsertionPointAfter(single);
    barrier(rewriter, loc);
  }
  eraseNeedlessBarriers(rewriter, block);
  return success();
}

/// Static shared memory a block may use without opting in to more.
static constexpr int64_t kStaticSharedMemoryBytes = 48 * 1024;

/// The threads of `loop`'s cooperative blocks: one warp per iteration of a
/// warp-level loop in its body that holds block phases (its warps carry
/// registers across them, and the pass that made it chose their number),
/// else `blockSize`.
static int64_t cooperativeBlockSize(scf::ParallelOp loop, int64_t blockSize) {
  for (auto inner : loop.getBody()->getOps<scf::ParallelOp>()) {
    if (!inner->hasAttr(infini::kWarpLevelAttrName) ||
        !holdsParallelLoop(inner))
      continue;
    std::optional<int64_t> lower =
        getConstantIntValue(inner.getLowerBound()[0]);
    std::optional<int64_t> upper =
        getConstantIntValue(inner.getUpperBound()[0]);
    if (inner.getNumLoops() == 1 && lower == 0 && upper &&
        getConstantIntValue(inner.getStep()[0]) == 1)
      return *upper * infini::kWarpSize;
  }
  return blockSize;
}

/// Launches `loop`, whose body holds parallel loops (the fused attention's
/// tiles), with one GPU block per iteration whose threads share the nested
/// loops' iterations. The body's temporaries live in shared memory or, past
/// its size, in a device scratch buffer with one slice per block.
static LogicalResult launchCooperative(IRRewriter &rewriter,
                                       scf::ParallelOp loop, int64_t blockSize,
                                       StringRef module, StringRef kernel) {
  // Parallel loops nested in nested ones run sequentially in their thread,
  // except in warp-level loops, which hold block phases (see distribute).
  SmallVector<scf::ParallelOp> deep;
  loop.getBody()->walk([&](scf::ParallelOp inner) {
    auto parent = inner->getParentOfType<scf::ParallelOp>();
    while (parent != loop && parent->hasAttr(infini::kWarpLevelAttrName))
      parent = parent->getParentOfType<scf::ParallelOp>();
    if (parent != loop)
      deep.push_back(inner);
  });
  for (scf::ParallelOp inner : deep)
    sequentialize(rewriter, inner);
  SmallVector<memref::AllocOp> allocs;
  if (failed(collectTemporaries(rewriter, loop.getRegion(), allocs)))
    return failure();
  blockSize = cooperativeBlockSize(loop, blockSize);

  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  SmallVector<Value> trips;
  Value total = tripCounts(rewriter, loc, loop, trips);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value blocks = rewriter.createOrFold<arith::MaxSIOp>(loc, total, one);

  // Temporaries only loaded and stored go to shared memory while they fit
  // kSharedMemoryBytes: static workgroup buffers up to the 48 KiB a block
  // gets without opting in, views of the launch's dynamic shared memory
  // beyond (the runtime opts the kernel in). The others go to one global
  // byte buffer with a slice per block, 64-byte aligned.
  Attribute workgroup = gpu::AddressSpaceAttr::get(
      rewriter.getContext(), gpu::AddressSpace::Workgroup);
  SmallVector<memref::AllocOp> shared, global;
  SmallVector<Type> sharedTypes;
  SmallVector<int64_t> offsets, sharedOffsets;
  int64_t sharedBytes = 0, perBlock = 0;
  for (memref::AllocOp alloc : allocs) {
    MemRefType type = alloc.getType();
    int64_t bytes = type.getNumElements() * type.getElementTypeBitWidth() / 8;
    int64_t sharedOffset =
        llvm::alignTo(sharedBytes, infini::kSharedBufferAlignment);
    if (onlyAccessed(alloc) &&
        sharedOffset + bytes <= infini::kSharedMemoryBytes) {
      sharedOffsets.push_back(sharedOffset);
      sharedBytes = sharedOffset + bytes;
      shared.push_back(alloc);
      sharedTypes.push_back(
          MemRefType::get(type.getShape(), type.getElementType(),
                          MemRefLayoutAttrInterface(), workgroup));
      continue;
    }
    global.push_back(alloc);
    offsets.push_back(perBlock);
    perBlock += llvm::alignTo(bytes, 64);
  }
  Value scratch;
  if (!global.empty()) {
    Value size = arith::MulIOp::create(
        rewriter, loc, blocks,
        arith::ConstantIndexOp::create(rewriter, loc, perBlock));
    scratch = memref::AllocOp::create(
        rewriter, loc,
        MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type()), size);
    rewriter.setInsertionPointAfter(loop);
    memref::DeallocOp::create(rewriter, loc, scratch);
    rewriter.setInsertionPoint(loop);
  }

  bool dynamicShared = sharedBytes > kStaticSharedMemoryBytes;
  Value dynamicSharedBytes =
      dynamicShared ? arith::ConstantIntOp::create(rewriter, loc, sharedBytes,
                                                   /*width=*/32)
                          .getResult()
                    : Value();
  gpu::LaunchOp launch = createLaunch(
      rewriter, loc, blocks,
      arith::ConstantIndexOp::create(rewriter, loc, blockSize), module, kernel,
      dynamicShared ? TypeRange{} : TypeRange(sharedTypes), dynamicSharedBytes);
  Value bid = launch.getBlockIds().x;
  Value threads = gpu::BlockDimOp::create(rewriter, loc, gpu::Dimension::x);
  // Loads and stores take a buffer of any memory space as it is.
  if (dynamicShared) {
    Value bytes = gpu::DynamicSharedMemoryOp::create(
        rewriter, loc,
        MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type(),
                        MemRefLayoutAttrInterface(), workgroup));
    for (auto [alloc, type, offset] :
         llvm::zip(shared, sharedTypes, sharedOffsets)) {
      auto view = rewriter.replaceOpWithNewOp<memref::ViewOp>(
          alloc, type, bytes,
          arith::ConstantIndexOp::create(rewriter, loc, offset), ValueRange{});
      reshapeViewsInto(view);
    }
  } else {
    for (auto [alloc, buffer] :
         llvm::zip(shared, launch.getWorkgroupAttributions())) {
      rewriter.replaceAllUsesWith(alloc.getResult(), buffer);
      rewriter.eraseOp(alloc);
      reshapeViewsInto(buffer);
    }
  }
  Value base = arith::MulIOp::create(
      rewriter, loc, bid,
      arith::ConstantIndexOp::create(rewriter, loc, perBlock));
  for (auto [alloc, offset] : llvm::zip(global, offsets)) {
    Value shift = arith::AddIOp::create(
        rewriter, loc, base,
        arith::ConstantIndexOp::create(rewriter, loc, offset));
    rewriter.replaceOpWithNewOp<memref::ViewOp>(alloc, alloc.getType(), scratch,
                                                shift, ValueRange{});
  }
  Value inRange = arith::CmpIOp::create(rewriter, loc,
                                        arith::CmpIPredicate::ult, bid, total);
  auto guard = scf::IfOp::create(rewriter, loc, inRange, false);
  rewriter.setInsertionPoint(guard.thenBlock()->getTerminator());
  Block *body = guard.thenBlock();
  inlineAtLinearIndex(rewriter, loop, trips, bid);
  // Threads stride by the block size read in the kernel (gpu.block_dim,
  // not the launch's constant): the result does not depend on it, and
  // infini-emulate-gpu runs such kernels with one thread per block.
  return distribute(rewriter, *body, launch.getThreadIds().x, threads,
                    blockSize);
}

/// Launches the outermost parallel loop `loop` as kernel `kernel` of
/// gpu.module `module`.
static LogicalResult launchLoop(IRRewriter &rewriter, scf::ParallelOp loop,
                                int64_t blockSize, StringRef module,
                                StringRef kernel) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError() << "with reductions cannot be launched on the "
                                 "GPU; expected linalg-style loops";
  WalkResult walk = loop.getBody()->walk([&](scf::ParallelOp inner) {
    if (inner.getNumResults() != 0) {
      inner.emitOpError() << "with reductions is not supported inside a GPU "
                             "kernel";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (infini::hasNestedParallelLoop(loop))
    return launchCooperative(rewriter, loop, blockSize, module, kernel);
  return launchFlat(rewriter, loop, blockSize, module, kernel);
}

/// The kind of kernel `loop` becomes: what the pass that made it named its
/// location (kernelKindLoc); else, for a loop of threads alone (from a
/// linalg op), `reduction` where a thread runs a serial loop and
/// `elementwise` where not; else none.
static std::optional<StringRef> kernelKind(scf::ParallelOp loop) {
  if (auto name = dyn_cast<NameLoc>(loop.getLoc())) {
    StringRef kind = name.getName().getValue();
    if (kind.consume_front(infini::kKernelKindPrefix))
      return kind;
  }
  if (infini::hasNestedParallelLoop(loop))
    return std::nullopt;
  bool serial = loop.getBody()
                    ->walk([](scf::ForOp) { return WalkResult::interrupt(); })
                    .wasInterrupted();
  return StringRef(serial ? "reduction" : "elementwise");
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
    for (auto [i, loop] : llvm::enumerate(outermost)) {
      std::string kernel = (func.getName() + "_kernel_" + Twine(i)).str();
      if (std::optional<StringRef> kind = kernelKind(loop))
        kernel += ("_" + *kind).str();
      if (failed(launchLoop(rewriter, loop, blockSize, moduleName, kernel)))
        return signalPassFailure();
    }
  }
};
} // namespace
