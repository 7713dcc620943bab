//===- Session.h - Running a compiled step over a long input ----*- C++ -*-===//
//
// A Session owns what a compiled step needs between calls: the weights,
// loaded once, and the memory state of every layer, double-buffered so that
// each step reads one copy and writes the other. run() streams an input
// through the step one segment of T tokens at a time; its peak memory
// depends on B and T, never on the input length N.
//
// Typical use, as in infini-run:
//   StatusOr<WeightFile> weights = WeightFile::open("model.safetensors");
//   StatusOr<Session> session = Session::create(step, *weights, batch);
//   session->loadState("state.npz");          // optional
//   session->run("in.npy", "out.npy");
//   session->saveState("state.npz");          // optional
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_SESSION_H
#define INFINI_RUNTIME_SESSION_H

#include "runtime/Safetensors.h"
#include "runtime/Status.h"
#include "runtime/StepFunction.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace infini::rt {

namespace detail {
/// Where run() reads its input and writes its output (Session.cpp).
class InputSource;
class OutputSink;
} // namespace detail

/// What the last run() did, for a --time report.
struct RunStats {
  /// Tokens per batch row in the input (N).
  int64_t tokens = 0;
  /// Calls of the compiled step.
  int64_t segments = 0;
  /// Wall time spent inside the compiled step.
  double invokeSeconds = 0;
  /// Wall time of the whole run, input and output included.
  double totalSeconds = 0;
};

/// A compiled step bound to its weights, a batch size and memory state.
class Session {
public:
  /// Checks the step's argument list, then loads every weight the step or
  /// its prepare function reads from `weights` (exact shape; F32, or
  /// F16/BF16 converted to F32), runs the prepare function, releases the
  /// weights only it reads, and zeroes the state for `batchSize` rows.
  /// Errors name the weight file and tensor.
  static StatusOr<Session> create(StepFunction step, const WeightFile &weights,
                                  int64_t batchSize);

  Session(Session &&) noexcept = default;
  Session &operator=(Session &&) noexcept = default;
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Batch rows per call (B).
  int64_t batchSize() const { return batch; }
  /// Tokens per segment (T).
  int64_t segmentLength() const { return segmentLen; }
  /// Whether the input is token ids [B, N] (else hidden states [B, N, D]).
  bool takesTokenIds() const { return tokenIds; }
  /// Vocabulary size V of a token-id model; 0 for a hidden-state model.
  int64_t vocabSize() const { return vocab; }
  /// D of a hidden-state input; 0 for a token-id model.
  int64_t inputWidth() const { return inWidth; }
  /// Last dimension of the output: D, or V for logits.
  int64_t outputWidth() const { return outWidth; }
  /// Tokens consumed so far; the first position of the next run.
  int64_t position() const { return currentPosition; }
  /// Names of the state tensors, in argument order ("layers.0.memory", ...).
  std::vector<std::string> stateNames() const;

  /// Streams the .npy at `inputPath` (float32, or float64 converted, hidden
  /// states [B, N, D]; or int32/int64 token ids [B, N], each in [0, V))
  /// through the step and writes float32 [B, N, Dout] to `outputPath`,
  /// created atomically. Positions continue from position(), which then
  /// advances by N. Input errors are found before any step runs; after a
  /// failure in a later step or write, the state is unspecified (reload or
  /// reset it) and no output file is left behind.
  Status run(const std::string &inputPath, const std::string &outputPath);

  /// The same on an in-memory input, returning the output tensor.
  StatusOr<Tensor> run(const Tensor &input);

  /// Replaces the state and position with those saved in the .npz at
  /// `path`: exactly the state names, each with this session's shape and
  /// dtype, and an int64 scalar 'position'. Nothing changes on error.
  Status loadState(const std::string &path);

  /// Writes the state and position to `path` as .npz, atomically.
  Status saveState(const std::string &path) const;

  /// Zeroes the state and sets the position to 0.
  Status resetState();

  /// Statistics of the last successful run().
  const RunStats &lastRunStats() const { return stats; }

private:
  Session() = default;

  /// Where each step argument's data lives.
  struct Binding {
    ArgRole role;
    /// Index into weights, state or prepared tensors for Weight, StateIn,
    /// StateOut and Prepared.
    size_t index = 0;
  };

  Status runStream(detail::InputSource &input, detail::OutputSink &output);
  Status checkInput(const detail::InputSource &input, int64_t &tokens) const;
  Status checkTokenIds(detail::InputSource &input, int64_t tokens) const;
  Status fillSegment(detail::InputSource &input, int64_t tokens, int64_t start,
                     int64_t valid, std::vector<unsigned char> &staging);
  Status invokeStep(int64_t position, int64_t valid);
  /// Moves weights, prepared tensors, state and segment buffers to the
  /// step's device (nothing to do for host memory).
  Status placeOnDevice();
  /// Copies the host state to the device state.
  Status uploadState();
  /// Checks the prepare function's arguments against the step's Prepared
  /// ones and runs it once, filling preparedTensors.
  Status runPrepare(const StepFunction &step,
                    const std::map<std::string, size_t> &weightIndex,
                    const std::map<std::string, size_t> &preparedIndex);

  StepFunction step;
  std::vector<Binding> bindings;
  int64_t batch = 0;
  int64_t segmentLen = 0;
  bool tokenIds = false;
  int64_t vocab = 0;
  int64_t inWidth = 0;
  int64_t outWidth = 0;
  int64_t currentPosition = 0;

  Tensor inputBuffer;
  Tensor outputBuffer;
  std::vector<Tensor> weightTensors;
  /// Outputs of the prepare function, in Prepared binding order.
  std::vector<Tensor> preparedTensors;
  std::vector<std::string> stateTensorNames;
  /// state[i] is read by the next step; nextState[i] receives its update.
  std::vector<Tensor> state;
  std::vector<Tensor> nextState;
  RunStats stats;

  /// For a step on a device (StepFunction::device): the tensors the step
  /// reads and writes live here, in the order of the host vectors above.
  /// Host `state` then only stages loadState() and resetState().
  std::vector<DeviceBuffer> deviceWeights;
  std::vector<DeviceBuffer> devicePrepared;
  std::vector<DeviceBuffer> deviceState;
  std::vector<DeviceBuffer> deviceNextState;
  DeviceBuffer deviceInput;
  DeviceBuffer deviceOutput;
};

} // namespace infini::rt

#endif // INFINI_RUNTIME_SESSION_H
