//===- RunOptions.cpp - infini-run's command line -------------------------===//
//
// Part of the Infini runtime; see RunOptions.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/RunOptions.h"

#include <cstdlib>

using namespace infini::rt;

namespace {
enum class FlagKind { Path, Bool, Count, Choice };

struct Flag {
  const char *name;
  FlagKind kind;
  const char *valueName;
  const char *help;
};
} // namespace

static const Flag kFlags[] = {
    {"weights", FlagKind::Path, "file", "Weights (.safetensors)"},
    {"input", FlagKind::Path, "file",
     "Input .npy: token ids [B, N] or hidden states [B, N, D]"},
    {"output", FlagKind::Path, "file", "Output .npy (float32)"},
    {"state-in", FlagKind::Path, "file", "Memory state to start from (.npz)"},
    {"state-out", FlagKind::Path, "file",
     "Where to save the final state (.npz)"},
    {"dump-ir-dir", FlagKind::Path, "dir",
     "Write the IR after every compilation stage here (.json/.mlir models)"},
    {"time", FlagKind::Bool, nullptr, "Print compile and run times"},
    {"profile-kernels", FlagKind::Bool, nullptr,
     "CUDA: time every kernel on the device and print the time per kernel "
     "and per kind (matmul, attention, ...)"},
    {"cuda-graphs", FlagKind::Bool, nullptr,
     "CUDA: submit a step's kernels as one CUDA graph once the same "
     "launches come again (default true)"},
    {"num-threads", FlagKind::Count, "n",
     "Threads for the compiled CPU code (default: all cores)"},
    {"fuse-attention", FlagKind::Bool, nullptr,
     "Fused online-softmax attention over key tiles (default true)"},
    {"fuse-swiglu", FlagKind::Bool, nullptr,
     "SwiGLU's gate and up projections as one product (default true)"},
    {"fuse-rope", FlagKind::Bool, nullptr,
     "RoPE in the Q/K projections' epilogue (default true)"},
    {"vectorize", FlagKind::Bool, nullptr,
     "Tile and vectorize matrix products (default true)"},
    {"target", FlagKind::Choice, "cpu|cuda",
     "Where a .json/.mlir model runs (an artifact knows its own target)"},
    {"chip", FlagKind::Path, "sm_XX",
     "NVIDIA chip for --target=cuda (default sm_80)"},
    {"tensor-cores", FlagKind::Path, "none|f16|bf16|tf32x3",
     "--target=cuda: matrix products on tensor cores with f16 or bf16 "
     "operands, or f32 ones as three TF32 products (tf32x3, f32 accuracy), "
     "and f32 accumulation (default none: f32 on CUDA cores)"},
    {"emulate-gpu", FlagKind::Bool, nullptr,
     "--target=cuda: run the GPU kernels on the host instead (a test aid "
     "for machines without a GPU)"},
    {"help", FlagKind::Bool, nullptr, "Show this help"},
};

std::string infini::rt::usageText() {
  std::string text =
      "OVERVIEW: infini model runner\n\n"
      "Runs a model over a long input, segment by segment, carrying each "
      "layer's\ncompressive memory. A .json or .mlir model is compiled for "
      "this machine first\n(the compiler is loaded on demand); an .infini "
      "artifact from infini-compile\nruns with no compiler at all.\n\n"
      "USAGE: infini-run [options] <model.json|model.mlir|model.infini>\n\n"
      "OPTIONS:\n";
  for (const Flag &flag : kFlags) {
    std::string left = std::string("  --") + flag.name;
    if (flag.valueName)
      left += std::string("=<") + flag.valueName + ">";
    if (left.size() < 28)
      left.resize(28, ' ');
    else
      left += "  ";
    text += left + "- " + flag.help + "\n";
  }
  return text;
}

static bool parseBool(const std::string &text, bool &value) {
  if (text == "true" || text == "1") {
    value = true;
    return true;
  }
  if (text == "false" || text == "0") {
    value = false;
    return true;
  }
  return false;
}

StatusOr<RunOptions>
infini::rt::parseRunOptions(const std::vector<std::string> &args) {
  RunOptions options;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body;
    std::string value;
    bool hasValue = false;
    if (size_t equals = body.find('='); equals != std::string::npos) {
      name = body.substr(0, equals);
      value = body.substr(equals + 1);
      hasValue = true;
    }
    const Flag *flag = nullptr;
    for (const Flag &candidate : kFlags)
      if (name == candidate.name)
        flag = &candidate;
    if (!flag)
      return Status::error("unknown option '" + arg +
                           "' (see infini-run --help)");
    std::string where = "--" + name;
    if (flag->kind == FlagKind::Bool) {
      bool enabled = true;
      if (hasValue && !parseBool(value, enabled))
        return Status::error(where + " expects true or false, got '" + value +
                             "'");
      if (name == "time")
        options.printTiming = enabled;
      else if (name == "profile-kernels")
        options.profileKernels = enabled;
      else if (name == "cuda-graphs")
        options.cudaGraphs = enabled;
      else if (name == "fuse-attention")
        options.model.fuseAttention = enabled;
      else if (name == "fuse-swiglu")
        options.model.fuseSwiGLU = enabled;
      else if (name == "fuse-rope")
        options.model.fuseRope = enabled;
      else if (name == "vectorize")
        options.model.vectorize = enabled;
      else if (name == "emulate-gpu")
        options.model.emulateGPU = enabled;
      else
        options.showHelp = enabled;
      continue;
    }
    if (!hasValue) {
      if (i + 1 == args.size())
        return Status::error(where + " expects a value (" + flag->valueName +
                             ")");
      value = args[++i];
    }
    if (flag->kind == FlagKind::Count) {
      char *end = nullptr;
      unsigned long count = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || value[0] == '-' || count > 4096)
        return Status::error(where +
                             " expects a thread count in 0..4096, "
                             "got '" +
                             value + "'");
      options.threadCount = unsigned(count);
    } else if (flag->kind == FlagKind::Choice) {
      if (value == "cpu")
        options.model.target = Target::Cpu;
      else if (value == "cuda")
        options.model.target = Target::Cuda;
      else
        return Status::error(where + " expects cpu or cuda, got '" + value +
                             "'");
    } else if (value.empty()) {
      return Status::error(where + " expects a non-empty " +
                           std::string(flag->valueName));
    } else if (name == "weights") {
      options.weightsPath = value;
    } else if (name == "input") {
      options.inputPath = value;
    } else if (name == "output") {
      options.outputPath = value;
    } else if (name == "state-in") {
      options.stateInPath = value;
    } else if (name == "state-out") {
      options.stateOutPath = value;
    } else if (name == "dump-ir-dir") {
      options.model.dumpDirectory = value;
    } else if (name == "chip") {
      options.model.chip = value;
    } else if (name == "tensor-cores") {
      if (value != "none" && value != "f16" && value != "bf16" &&
          value != "tf32x3")
        return Status::error(
            where + " expects none, f16, bf16 or tf32x3, got '" + value + "'");
      options.model.tensorCores = value;
    }
  }
  if (options.showHelp)
    return options;
  if (positional.size() != 1)
    return Status::error(
        positional.empty()
            ? "expected a model (.json, .mlir or .infini); see --help"
            : "expected one model, got '" + positional[0] + "' and '" +
                  positional[1] + "'");
  options.model.modelPath = positional[0];
  if (options.model.target != Target::Cuda) {
    if (options.model.emulateGPU)
      return Status::error("--emulate-gpu needs --target=cuda");
    if (options.model.tensorCores != "none")
      return Status::error("--tensor-cores needs --target=cuda");
  }
  for (auto [path, flag] : {std::pair{&options.weightsPath, "--weights"},
                            std::pair{&options.inputPath, "--input"},
                            std::pair{&options.outputPath, "--output"}})
    if (path->empty())
      return Status::error(std::string("missing ") + flag + "=<file>");
  return options;
}
