//===- ConfigImporter.h - Model config JSON to infini IR --------*- C++ -*-===//
//
// Turns a model config (SPEC.md's JSON, keys as in Hugging Face configs) into
// a module holding the model's segment-step function in the infini dialect,
// which users can then read, edit and compile like any other model.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_COMPILER_CONFIGIMPORTER_H
#define INFINI_COMPILER_CONFIGIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace infini {

/// A parsed and validated model config.
struct ModelConfig {
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numHeads = 0;
  int64_t headDim = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t segmentLen = 0;
  double normEps = 1e-5;
  double swishBeta = 1.0;
  struct Rope {
    double theta = 10000.0;
    bool interleaved = false;
    int64_t rotaryDim = 0;
    double factor = 1.0;
  };
  std::optional<Rope> rope;
  /// CoPE positions P, when CoPE is on.
  std::optional<int64_t> copePositions;
  struct Memory {
    bool delta = false;
    double eps = 1e-6;
  };
  std::optional<Memory> memory;
  bool memoryUsesRope = false;
};

/// Parses `json` (the contents of `filename`, used in messages) into a
/// config; the error names the file and the offending key.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef json,
                                             llvm::StringRef filename);

/// Builds the module holding `@step` for `config`.
mlir::OwningOpRef<mlir::ModuleOp> buildModelModule(const ModelConfig &config,
                                                   mlir::MLIRContext *context);

/// parseModelConfig then buildModelModule.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importModelConfig(llvm::StringRef json, llvm::StringRef filename,
                  mlir::MLIRContext *context);

} // namespace infini

#endif // INFINI_COMPILER_CONFIGIMPORTER_H
