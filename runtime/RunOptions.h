//===- RunOptions.h - infini-run's command line -----------------*- C++ -*-===//
//
// infini-run is a runtime-only program (it must run artifacts on machines
// without LLVM), so its command line is parsed here rather than by LLVM's
// cl library. Flags follow the LLVM tools' conventions: `--flag=value` or
// `--flag value`, `--bool` or `--bool=false`.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_RUNOPTIONS_H
#define INFINI_RUNTIME_RUNOPTIONS_H

#include "runtime/ModelLoader.h"
#include "runtime/Status.h"

#include <string>
#include <vector>

namespace infini::rt {

/// Everything infini-run is asked to do.
struct RunOptions {
  /// The model (MODEL.json, MODEL.mlir or MODEL.infini) and, for .json and
  /// .mlir models, how to compile it.
  JitRequest model;
  std::string weightsPath;
  std::string inputPath;
  std::string outputPath;
  std::string stateInPath;
  std::string stateOutPath;
  /// Print compile and run times.
  bool printTiming = false;
  /// Time each GPU kernel and print the times (CUDA models only).
  bool profileKernels = false;
  /// Submit a step's launches as one CUDA graph where it can (CUDA models).
  bool cudaGraphs = true;
  /// Threads of the compiled CPU code; 0 means all cores.
  unsigned threadCount = 0;
  /// --help was given: print usageText() and do nothing else.
  bool showHelp = false;
};

/// Parses infini-run's arguments (argv[1..]). Errors are one line naming the
/// flag and what it expects.
StatusOr<RunOptions> parseRunOptions(const std::vector<std::string> &args);

/// The --help text.
std::string usageText();

} // namespace infini::rt

#endif // INFINI_RUNTIME_RUNOPTIONS_H
