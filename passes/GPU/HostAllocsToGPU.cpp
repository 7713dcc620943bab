//===- HostAllocsToGPU.cpp - The infini-host-allocs-to-gpu pass -----------===//
//
// Once every access to memory runs in a kernel, a host function's buffers
// are only handed to kernels, so its temporaries belong in device memory.
// MLIR has no upstream rewrite from `memref.alloc` to `gpu.alloc`; this is
// it, for functions outside `gpu.module`s.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_HOSTALLOCSTOGPU
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
struct HostAllocsToGPUPass
    : public infini::impl::HostAllocsToGPUBase<HostAllocsToGPUPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func->getParentOfType<gpu::GPUModuleOp>())
      return;
    IRRewriter rewriter(&getContext());
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp>(op))
        ops.push_back(op);
    });
    SmallVector<Value> scoped;
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        rewriter.replaceOpWithNewOp<gpu::DeallocOp>(
            dealloc, /*asyncToken=*/Type(), ValueRange{}, dealloc.getMemref());
        continue;
      }
      auto type = cast<MemRefType>(op->getResult(0).getType());
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        rewriter.replaceOpWithNewOp<gpu::AllocOp>(
            alloc, type, /*asyncToken=*/Type(), ValueRange{},
            alloc.getDynamicSizes(), alloc.getSymbolOperands());
        continue;
      }
      // An alloca lives until its function returns; only one directly in
      // the function body has that lifetime without a dealloc of its own.
      auto alloca = cast<memref::AllocaOp>(op);
      if (alloca->getParentOp() != func) {
        alloca.emitOpError()
            << "nested in host control flow cannot move to device memory";
        return signalPassFailure();
      }
      scoped.push_back(rewriter
                           .replaceOpWithNewOp<gpu::AllocOp>(
                               alloca, type, /*asyncToken=*/Type(),
                               ValueRange{}, alloca.getDynamicSizes(),
                               alloca.getSymbolOperands())
                           .getMemref());
    }
    if (scoped.empty())
      return;
    func.walk([&](func::ReturnOp ret) {
      rewriter.setInsertionPoint(ret);
      for (Value buffer : scoped)
        gpu::DeallocOp::create(rewriter, ret.getLoc(), /*asyncToken=*/Type(),
                               ValueRange{}, buffer);
    });
  }
};
} // namespace
