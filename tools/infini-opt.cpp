//===- infini-opt.cpp - The infini optimizer driver -----------------------===//
//
// Usage: infini-opt [options] <input.mlir>
// opt-style: every upstream dialect and pass plus the infini dialect, its
// passes and the `infini-to-cpu` pipeline (and its stages), with the usual
// flags such as --mlir-print-ir-after-all and --verify-diagnostics.
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  infini::registerAllDialects(registry);
  infini::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "infini optimizer driver\n", registry));
}
