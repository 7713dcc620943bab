//===- EmulateGPU.cpp - The infini-emulate-gpu pass -----------------------===//
//
// A test aid for machines without a GPU: it turns the output of stage 2 of
// infini-to-gpu back into host code, so the CPU stage 3 can compile it and
// the numerical tests can hold the GPU mapping (launch geometry, the
// linearized thread indices, thread-private temporaries, the buffers the
// host allocates and passes to kernels) against the CPU pipeline. Each
// gpu.launch_func becomes loops over its blocks and threads running an
// inlined copy of the kernel; device allocation becomes host allocation;
// stream tokens and waits go, since the emulation runs in program order.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_EMULATEGPU
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// The value of dimension `dim` of a (block, thread, size) triple.
static Value pick(const gpu::KernelDim3 &values, gpu::Dimension dim) {
  switch (dim) {
  case gpu::Dimension::x:
    return values.x;
  case gpu::Dimension::y:
    return values.y;
  case gpu::Dimension::z:
    return values.z;
  }
  llvm_unreachable("unknown dimension");
}

/// Replaces `launch` by loops over its grid and blocks around a copy of the
/// kernel's body.
static LogicalResult emulateLaunch(IRRewriter &rewriter,
                                   gpu::LaunchFuncOp launch,
                                   SymbolTableCollection &symbols) {
  auto kernel = symbols.lookupNearestSymbolFrom<gpu::GPUFuncOp>(
      launch, launch.getKernel());
  if (!kernel || !kernel.getBody().hasOneBlock())
    return launch.emitOpError()
           << "needs a single-block gpu.func to emulate on the host";

  Location loc = launch.getLoc();
  // Thread-private allocas at the top of the kernel are made once, at the
  // top of the host function: their contents start undefined on the GPU
  // too, and an alloca in a host loop would grow the stack every iteration.
  IRMapping mapping;
  Block &kernelBody = kernel.getBody().front();
  mapping.map(
      kernelBody.getArguments().take_front(launch.getKernelOperands().size()),
      launch.getKernelOperands());
  auto func = launch->getParentOfType<FunctionOpInterface>();
  rewriter.setInsertionPointToStart(&func.getFunctionBody().front());
  // Shared memory becomes host memory too (emulated blocks run one at a
  // time); loads and stores take it as it is.
  for (BlockArgument buffer : kernel.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(buffer.getType());
    mapping.map(buffer,
                memref::AllocaOp::create(
                    rewriter, loc,
                    MemRefType::get(type.getShape(), type.getElementType())));
  }
  for (Operation &op : kernelBody)
    if (isa<memref::AllocaOp>(op) && op.getNumOperands() == 0)
      rewriter.clone(op, mapping);
  // Dynamic shared memory too, of the launch's (constant) size; its typed
  // views become views of that host memory, outside any memory space.
  for (Operation &op : kernelBody) {
    auto dynamicShared = dyn_cast<gpu::DynamicSharedMemoryOp>(op);
    if (!dynamicShared)
      continue;
    std::optional<int64_t> bytes =
        launch.getDynamicSharedMemorySize()
            ? getConstantIntValue(launch.getDynamicSharedMemorySize())
            : std::nullopt;
    if (!bytes)
      return launch.emitOpError()
             << "needs a constant dynamic shared memory size to emulate";
    Value host = memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({*bytes}, rewriter.getI8Type()));
    mapping.map(dynamicShared.getResult(),
                memref::CastOp::create(rewriter, loc,
                                       MemRefType::get({ShapedType::kDynamic},
                                                       rewriter.getI8Type()),
                                       host));
  }

  rewriter.setInsertionPoint(launch);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  // A kernel with barriers or warp reductions shares work among a block's
  // threads in a way that does not depend on their number
  // (infini-parallel-loops-to-gpu's cooperative launches): one thread per
  // block emulates it exactly.
  bool cooperative = false;
  kernel.walk([&](Operation *op) {
    if (isa<gpu::BarrierOp, gpu::SubgroupReduceOp>(op))
      cooperative = true;
  });
  if (cooperative)
    block = {one, one, one};
  SmallVector<Value> upper = {grid.z,  grid.y,  grid.x,
                              block.z, block.y, block.x};
  scf::LoopNest nest =
      scf::buildLoopNest(rewriter, loc, SmallVector<Value>(6, zero), upper,
                         SmallVector<Value>(6, one));
  auto iv = [&](unsigned i) { return nest.loops[i].getInductionVar(); };
  gpu::KernelDim3 blockIds = {iv(2), iv(1), iv(0)};
  gpu::KernelDim3 threadIds = {iv(5), iv(4), iv(3)};
  rewriter.setInsertionPoint(nest.loops.back().getBody()->getTerminator());

  // The host value of a GPU op of the kernel (its operands those of the
  // host code), or null when it has none.
  auto emulated = [&](Operation *op) -> Value {
    if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      return pick(blockIds, id.getDimension());
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      return pick(threadIds, id.getDimension());
    if (auto dim = dyn_cast<gpu::BlockDimOp>(op))
      return pick(block, dim.getDimension());
    if (auto dim = dyn_cast<gpu::GridDimOp>(op))
      return pick(grid, dim.getDimension());
    // Cooperative kernels count lanes from the block size, so their
    // emulated warps have one lane (see infini-gpu-warp-reductions).
    if (auto reduce = dyn_cast<gpu::SubgroupReduceOp>(op))
      return cooperative ? reduce.getValue() : Value();
    return Value();
  };
  for (Operation &op : kernelBody) {
    if (mapping.contains(&op))
      continue;
    if (isa<gpu::ReturnOp>(op))
      break;
    if (isa<gpu::DynamicSharedMemoryOp>(op))
      continue;
    if (auto view = dyn_cast<memref::ViewOp>(op);
        view && view.getSource().getDefiningOp<gpu::DynamicSharedMemoryOp>()) {
      Value shift = mapping.lookupOrNull(view.getByteShift());
      if (!shift || !view.getSizes().empty())
        return view.emitOpError()
               << "needs a static view at a shift computed before it";
      MemRefType type = view.getType();
      mapping.map(view.getResult(),
                  memref::ViewOp::create(
                      rewriter, loc,
                      MemRefType::get(type.getShape(), type.getElementType()),
                      mapping.lookup(view.getSource()), shift, ValueRange{}));
      continue;
    }
    if (isa<gpu::GPUDialect>(op.getDialect())) {
      Value replacement = emulated(&op);
      if (!replacement)
        return op.emitOpError() << "cannot be emulated on the host";
      mapping.map(op.getResult(0), replacement);
      continue;
    }
    Operation *clone = rewriter.clone(op, mapping);
    // Reshaped views of shared memory are now views of host memory.
    clone->walk([](Operation *inner) {
      if (isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(inner))
        infini::takeSourceMemorySpace(inner);
    });
    SmallVector<Operation *> nested;
    clone->walk([&](Operation *inner) {
      if (isa<gpu::GPUDialect>(inner->getDialect()))
        nested.push_back(inner);
    });
    for (Operation *inner : nested) {
      if (isa<gpu::BarrierOp>(inner)) {
        rewriter.eraseOp(inner);
        continue;
      }
      Value replacement = emulated(inner);
      if (!replacement)
        return inner->emitOpError() << "cannot be emulated on the host";
      rewriter.replaceOp(inner, replacement);
    }
  }
  return success();
}

namespace {
struct EmulateGPUPass : public infini::impl::EmulateGPUBase<EmulateGPUPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    SymbolTableCollection symbols;
    SmallVector<Operation *> gpuOps;
    module.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::GPUModuleOp>(op))
        return WalkResult::skip();
      if (isa<gpu::LaunchFuncOp, gpu::AllocOp, gpu::DeallocOp, gpu::WaitOp>(op))
        gpuOps.push_back(op);
      return WalkResult::advance();
    });
    for (Operation *op : gpuOps) {
      rewriter.setInsertionPoint(op);
      // Stream tokens carry no data; their users are all erased here.
      if (auto async = dyn_cast<gpu::AsyncOpInterface>(op))
        if (Value token = async.getAsyncToken())
          token.replaceAllUsesWith(
              ub::PoisonOp::create(rewriter, op->getLoc(), token.getType()));
      if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
        if (failed(emulateLaunch(rewriter, launch, symbols)))
          return signalPassFailure();
      } else if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
        alloc.getMemref().replaceAllUsesWith(memref::AllocOp::create(
            rewriter, op->getLoc(), alloc.getType(), alloc.getDynamicSizes(),
            alloc.getSymbolOperands()));
      } else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op)) {
        memref::DeallocOp::create(rewriter, op->getLoc(), dealloc.getMemref());
      }
    }
    for (Operation *op : llvm::reverse(gpuOps))
      rewriter.eraseOp(op);
    module.walk([&](ub::PoisonOp poison) {
      if (poison.use_empty())
        rewriter.eraseOp(poison);
    });
    for (auto gpuModule :
         llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>()))
      rewriter.eraseOp(gpuModule);
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};
} // namespace
