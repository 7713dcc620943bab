//===- InitAll.h - Register everything the infini tools use -----*- C++ -*-===//
//
// The one place that registers dialects, passes and translations, so the
// heavy upstream registration headers are compiled in one translation unit.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_COMPILER_INITALL_H
#define INFINI_COMPILER_INITALL_H

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace infini {

/// Adds every upstream dialect, its interface extensions (including the NVVM
/// target attribute's), the translations gpu-module-to-binary uses and the
/// infini dialect to `registry`.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers every upstream pass and every infini pass and pipeline.
void registerAllPasses();

/// Registers the translations from the builtin, LLVM and OpenMP dialects to
/// LLVM IR in `context` (what the JIT needs), and those of GPU host code:
/// the GPU dialect (gpu.binary embedding, kernel launches) and NVVM.
void registerLLVMTranslations(mlir::MLIRContext &context);

} // namespace infini

#endif // INFINI_COMPILER_INITALL_H
