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

#include "runtime/Status.h"
#include "runtime/StepFunction.h"

#include <string>
#include <vector>

namespace infini::rt {

/// Everything infini-run is asked to do.
struct RunOptions {
  /// MODEL.json, MODEL.mlir or MODEL.infini.
  std::string modelPath;
  std::string weightsPath;
  std::string inputPath;
  std::string outputPath;
  std::string stateInPath;
  std::string stateOutPath;
  /// Compiler options, for .json and .mlir models only.
  std::string dumpDirectory;
  bool fuseAttention = true;
  bool fuseSwiGLU = false;
  bool vectorize = true;
  Target target = Target::Cpu;
  std::string chip = "sm_80";
  /// Print compile and run times.
  bool printTiming = false;
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
