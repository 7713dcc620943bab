//===- infini-translate.cpp - Translations into the infini dialect --------===//
//
// Usage: infini-translate --import-config model.json [-o model.mlir]
// Turns a SPEC model config into the model's step function in the infini
// dialect, for users to read, edit and compile with infini-opt/infini-run.
//
//===----------------------------------------------------------------------===//

#include "compiler/ConfigImporter.h"
#include "compiler/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

int main(int argc, char **argv) {
  mlir::TranslateToMLIRRegistration importConfig(
      "import-config", "import a SPEC model config (JSON) as infini IR",
      [](llvm::SourceMgr &sourceMgr,
         mlir::MLIRContext *context) -> mlir::OwningOpRef<mlir::Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        auto module = infini::importModelConfig(
            buffer->getBuffer(), buffer->getBufferIdentifier(), context);
        if (!module) {
          mlir::emitError(mlir::UnknownLoc::get(context))
              << llvm::toString(module.takeError());
          return nullptr;
        }
        return mlir::OwningOpRef<mlir::Operation *>(module->release());
      },
      [](mlir::DialectRegistry &registry) {
        infini::registerAllDialects(registry);
      });
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "infini translation tool"));
}
