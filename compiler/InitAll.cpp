//===- InitAll.cpp - Register everything the infini tools use -------------===//

#include "compiler/InitAll.h"

#include "dialect/InfiniDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"

void infini::registerAllDialects(mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // registerAllExtensions attaches #nvvm.target's serialization interface;
  // registering it again is harmless and keeps gpu-module-to-binary
  // working should that ever change.
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  // gpu-module-to-binary translates each gpu.module to LLVM IR through the
  // context's translations, so the dialects need them before passes run.
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<infini::InfiniDialect>();
}

void infini::registerAllPasses() {
  mlir::registerAllPasses();
  infini::registerInfiniPassesAndPipelines();
}

void infini::registerLLVMTranslations(mlir::MLIRContext &context) {
  mlir::registerBuiltinDialectTranslation(context);
  mlir::registerLLVMDialectTranslation(context);
  mlir::registerOpenMPDialectTranslation(context);
  // GPU host code: gpu.binary becomes an embedded global and launch_func
  // calls of the mgpu* wrappers (the offloading interface of
  // #gpu.select_object); NVVM for any remaining NVVM ops and attributes.
  mlir::DialectRegistry registry;
  mlir::registerGPUDialectTranslation(registry);
  mlir::registerNVVMDialectTranslation(registry);
  mlir::gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  context.appendDialectRegistry(registry);
}
