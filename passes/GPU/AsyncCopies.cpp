//===- AsyncCopies.cpp - The infini-gpu-async-copies pass -----------------===//
//
// A block stages a tile by loading it from global memory into registers and
// storing it to shared memory: each thread waits for its loads before it
// can store, and holds the values in registers meanwhile. Where the tile is
// copied unconverted (16-bit operands in global memory), cp.async copies
// global to shared memory directly and the thread goes on at once. The
// copies must then be complete before the block's threads read the tile:
// every barrier of a kernel with copies first waits for the thread's own.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/Matchers.h"

namespace infini {
#define GEN_PASS_DEF_GPUASYNCCOPIES
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Whether `type` is in global memory: the default memory space of kernel
/// arguments, or the global one.
static bool isGlobalMemory(MemRefType type) {
  Attribute space = type.getMemorySpace();
  if (!space)
    return true;
  auto gpuSpace = dyn_cast<gpu::AddressSpaceAttr>(space);
  return gpuSpace && gpuSpace.getValue() == gpu::AddressSpace::Global;
}

/// Whether `value` is a constant vector of zeros (what cp.async fills in).
static bool isZeros(Value value) {
  return matchPattern(value, m_PosZeroFloat()) || matchPattern(value, m_Zero());
}

/// Whether nothing between `first` and `last`, in one block, writes memory.
static bool noWriteBetween(Operation *first, Operation *last) {
  for (Operation *op = first->getNextNode(); op && op != last;
       op = op->getNextNode())
    if (!isMemoryEffectFree(op))
      return false;
  return true;
}

/// Rewrites `store` into an `nvgpu.device_async_copy` where it stores into
/// shared memory a vector of 4, 8 or 16 bytes loaded from global memory,
/// as it is or selected against zeros by a scalar condition (which becomes
/// the copy's source size); returns whether it did.
static bool rewriteAsCopy(IRRewriter &rewriter, vector::StoreOp store) {
  auto vectorType = cast<VectorType>(store.getValueToStore().getType());
  MemRefType dstType = store.getMemRefType();
  int64_t bytes =
      vectorType.getNumElements() * vectorType.getElementTypeBitWidth() / 8;
  if (vectorType.getRank() != 1 || (bytes != 4 && bytes != 8 && bytes != 16) ||
      !nvgpu::NVGPUDialect::hasSharedMemoryAddressSpace(dstType))
    return false;
  Value stored = store.getValueToStore();
  auto select = stored.getDefiningOp<arith::SelectOp>();
  if (select) {
    if (!select.getCondition().getType().isInteger(1) ||
        !isZeros(select.getFalseValue()) || !stored.hasOneUse())
      return false;
    stored = select.getTrueValue();
  }
  auto load = stored.getDefiningOp<vector::LoadOp>();
  if (!load || !stored.hasOneUse() || load.getVectorType() != vectorType ||
      !isGlobalMemory(load.getMemRefType()) ||
      load->getBlock() != store->getBlock() || !noWriteBetween(load, store))
    return false;

  Location loc = store.getLoc();
  rewriter.setInsertionPoint(store);
  int64_t elements = vectorType.getNumElements();
  Value sourceElements;
  if (select)
    sourceElements = arith::SelectOp::create(
        rewriter, loc, select.getCondition(),
        arith::ConstantIndexOp::create(rewriter, loc, elements),
        arith::ConstantIndexOp::create(rewriter, loc, 0));
  nvgpu::DeviceAsyncCopyOp::create(
      rewriter, loc, nvgpu::DeviceAsyncTokenType::get(rewriter.getContext()),
      store.getBase(), store.getIndices(), load.getBase(), load.getIndices(),
      rewriter.getIndexAttr(elements), sourceElements,
      bytes == 16 ? rewriter.getUnitAttr() : UnitAttr());
  rewriter.eraseOp(store);
  if (select)
    rewriter.eraseOp(select);
  rewriter.eraseOp(load);
  return true;
}

namespace {
struct GPUAsyncCopiesPass
    : public infini::impl::GPUAsyncCopiesBase<GPUAsyncCopiesPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      SmallVector<vector::StoreOp> stores;
      kernel.walk([&](vector::StoreOp store) { stores.push_back(store); });
      bool copies = false;
      for (vector::StoreOp store : stores)
        copies |= rewriteAsCopy(rewriter, store);
      if (!copies)
        return;
      // Each thread's copies complete before the block meets (and before
      // the kernel ends): commit them as a group and wait for all groups.
      kernel.walk([&](Operation *op) {
        if (!isa<gpu::BarrierOp, gpu::ReturnOp>(op))
          return;
        rewriter.setInsertionPoint(op);
        NVVM::CpAsyncCommitGroupOp::create(rewriter, op->getLoc());
        NVVM::CpAsyncWaitGroupOp::create(rewriter, op->getLoc(), 0);
      });
    });
  }
};
} // namespace
