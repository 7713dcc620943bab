//===- ExportStep.cpp - The infini-export-step pass -----------------------===//

#include "dialect/InfiniOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace infini {
#define GEN_PASS_DEF_EXPORTSTEP
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;

namespace {
struct ExportStepPass : public infini::impl::ExportStepBase<ExportStepPass> {
  void runOnOperation() override {
    getOperation().walk([](func::FuncOp func) {
      if (isModelStep(func))
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                      UnitAttr::get(func.getContext()));
    });
  }
};
} // namespace
