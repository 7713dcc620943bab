//===- VerifyHostCode.cpp - The infini-verify-host-code pass --------------===//
//
// The GPU pipeline hands the host function device pointers only. A host op
// left reading or writing a buffer would compile fine and crash (or read
// garbage) at run time, so this check turns that into a compile error.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace infini {
#define GEN_PASS_DEF_VERIFYHOSTCODE
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Why `op`, in host code, would touch device memory from the host; empty
/// when it does not.
static StringRef hostMemoryUse(Operation *op) {
  // Unregistered ops have no dialect and declare no effects.
  Dialect *dialect = op->getDialect();
  if (!dialect)
    return {};
  if (isa<linalg::LinalgDialect>(dialect))
    return "computes on buffers on the host";
  if (isa<memref::AllocOp, memref::AllocaOp>(op))
    return "allocates host memory where a device buffer is expected";
  if (isa<memref::DeallocOp>(op))
    return "frees a device buffer with the host allocator";
  if (isa<scf::ParallelOp, scf::ForallOp, gpu::LaunchOp>(op))
    return "is a loop that was not outlined into a kernel";
  // gpu ops (alloc, memcpy, launch_func) act on device memory by design.
  if (isa<gpu::GPUDialect>(dialect))
    return {};
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return {};
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  for (const MemoryEffects::EffectInstance &effect : instances)
    if (isa<MemoryEffects::Read, MemoryEffects::Write>(effect.getEffect()) &&
        effect.getValue() && isa<BaseMemRefType>(effect.getValue().getType()))
      return "reads or writes a device buffer on the host";
  return {};
}

namespace {
struct VerifyHostCodePass
    : public infini::impl::VerifyHostCodeBase<VerifyHostCodePass> {
  void runOnOperation() override {
    bool failed = false;
    getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::GPUModuleOp>(op))
        return WalkResult::skip();
      StringRef why = hostMemoryUse(op);
      if (!why.empty()) {
        auto func = op->getParentOfType<FunctionOpInterface>();
        op->emitError() << "infini-verify-host-code: '" << op->getName()
                        << "' in host function @"
                        << (func ? func.getName() : StringRef("?")) << " "
                        << why;
        failed = true;
        // One error per offending op, not one per op in its body.
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    if (failed)
      signalPassFailure();
  }
};
} // namespace
