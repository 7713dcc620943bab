//===- Session.cpp - Running a compiled step over a long input ------------===//
//
// Part of the Infini runtime; see Session.h. Inputs and outputs are reached
// through small source/sink interfaces so that the same segment loop serves
// .npy files (read and written by element ranges) and in-memory tensors.
//
//===----------------------------------------------------------------------===//

#include "runtime/Session.h"

#include "runtime/Npy.h"
#include "runtime/Npz.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>

using namespace infini::rt;

//===----------------------------------------------------------------------===//
// Sources and sinks
//===----------------------------------------------------------------------===//

namespace infini::rt::detail {
/// A [B, N] or [B, N, D] array read by flat element ranges.
class InputSource {
public:
  virtual ~InputSource() = default;
  /// The name errors use: the file path, or "input".
  virtual const std::string &name() const = 0;
  virtual DType dtype() const = 0;
  virtual const std::vector<int64_t> &shape() const = 0;
  virtual Status read(int64_t first, int64_t count, void *dst) = 0;
};

/// A float32 [B, N, Dout] array written by flat element ranges.
class OutputSink {
public:
  virtual ~OutputSink() = default;
  /// Called once the input is known to be valid.
  virtual Status open(const std::vector<int64_t> &shape) = 0;
  virtual Status write(int64_t first, int64_t count, const float *src) = 0;
  virtual Status commit() = 0;
};
} // namespace infini::rt::detail

using detail::InputSource;
using detail::OutputSink;

namespace {
class NpyInput : public InputSource {
public:
  explicit NpyInput(NpyReader reader) : reader(std::move(reader)) {}
  const std::string &name() const override { return reader.path(); }
  DType dtype() const override { return reader.dtype(); }
  const std::vector<int64_t> &shape() const override { return reader.shape(); }
  Status read(int64_t first, int64_t count, void *dst) override {
    return reader.read(first, count, dst);
  }

private:
  NpyReader reader;
};

class TensorInput : public InputSource {
public:
  explicit TensorInput(const Tensor &tensor) : tensor(tensor) {}
  const std::string &name() const override { return label; }
  DType dtype() const override { return tensor.dtype(); }
  const std::vector<int64_t> &shape() const override { return tensor.shape(); }
  Status read(int64_t first, int64_t count, void *dst) override {
    size_t itemSize = dtypeSize(tensor.dtype());
    std::memcpy(dst,
                static_cast<const char *>(tensor.data()) + first * itemSize,
                size_t(count) * itemSize);
    return Status::ok();
  }

private:
  const Tensor &tensor;
  std::string label = "input";
};

class NpyOutput : public OutputSink {
public:
  explicit NpyOutput(std::string path) : path(std::move(path)) {}
  Status open(const std::vector<int64_t> &shape) override {
    StatusOr<NpyWriter> created = NpyWriter::create(path, DType::F32, shape);
    if (!created)
      return created.status();
    writer = std::make_unique<NpyWriter>(std::move(*created));
    return Status::ok();
  }
  Status write(int64_t first, int64_t count, const float *src) override {
    return writer->write(first, count, src);
  }
  Status commit() override { return writer->commit(); }

private:
  std::string path;
  std::unique_ptr<NpyWriter> writer;
};

class TensorOutput : public OutputSink {
public:
  Status open(const std::vector<int64_t> &shape) override {
    StatusOr<Tensor> created = Tensor::zeros(DType::F32, shape);
    if (!created)
      return Status::error("output: " + created.status().message());
    tensor = std::move(*created);
    return Status::ok();
  }
  Status write(int64_t first, int64_t count, const float *src) override {
    std::memcpy(tensor.dataAs<float>() + first, src,
                size_t(count) * sizeof(float));
    return Status::ok();
  }
  Status commit() override { return Status::ok(); }

  Tensor tensor;
};
} // namespace

//===----------------------------------------------------------------------===//
// Creation
//===----------------------------------------------------------------------===//

static DType toDType(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return DType::F32;
  case ElementType::I32:
    return DType::I32;
  case ElementType::I64:
    return DType::I64;
  case ElementType::F16:
    return DType::F16;
  case ElementType::BF16:
    return DType::BF16;
  }
  return DType::F32;
}

static const char *roleName(ArgRole role) {
  switch (role) {
  case ArgRole::Input:
    return "input";
  case ArgRole::Position:
    return "position";
  case ArgRole::ValidLength:
    return "valid length";
  case ArgRole::Weight:
    return "weight";
  case ArgRole::StateIn:
    return "state input";
  case ArgRole::Output:
    return "output";
  case ArgRole::StateOut:
    return "state output";
  case ArgRole::Prepared:
    return "prepared tensor";
  case ArgRole::PreparedOut:
    return "prepared output";
  }
  return "?";
}

/// Whether arguments of `role` carry the batch dimension first.
static bool isBatched(ArgRole role) {
  return role == ArgRole::Input || role == ArgRole::Output ||
         role == ArgRole::StateIn || role == ArgRole::StateOut;
}

/// `spec.shape` with the batch dimension set to `batch`.
static std::vector<int64_t> concreteShape(const ArgSpec &spec, int64_t batch) {
  std::vector<int64_t> shape = spec.shape;
  if (isBatched(spec.role) && !shape.empty())
    shape[0] = batch;
  return shape;
}

/// Describes an argument for errors: "argument 3 (weight 'x', f32 [4, 4])".
static std::string describe(size_t index, const ArgSpec &spec) {
  return "argument " + std::to_string(index) + " (" + roleName(spec.role) +
         " '" + spec.name + "', " + dtypeName(toDType(spec.elementType)) + " " +
         formatShape(spec.shape) + ")";
}

StatusOr<Session> Session::create(StepFunction step, const WeightFile &weights,
                                  int64_t batchSize) {
  auto fail = [](const std::string &message) {
    return Status::error("step function: " + message);
  };
  if (!step.invoke)
    return fail("no entry point");
  if (batchSize < 1)
    return Status::error("batch size must be at least 1, got " +
                         std::to_string(batchSize));

  Session session;
  session.batch = batchSize;
  const ArgSpec *input = nullptr;
  const ArgSpec *output = nullptr;
  int scalarCounts[2] = {0, 0};
  std::map<std::string, size_t> stateIndex;
  std::map<std::string, const ArgSpec *> stateOuts;
  std::map<std::string, size_t> weightIndex;
  // The weight of each index of weightTensors: the step's, then those only
  // the prepare function reads.
  std::vector<const ArgSpec *> weightSpecs;
  std::map<std::string, size_t> preparedIndex;
  const ArgSpec *embed = nullptr;

  // Check every argument's shape and role before loading anything.
  for (size_t i = 0; i < step.args.size(); ++i) {
    const ArgSpec &arg = step.args[i];
    for (size_t d = 0; d < arg.shape.size(); ++d) {
      int64_t dim = arg.shape[d];
      if (dim == kDynamicDim && d == 0 && isBatched(arg.role))
        continue;
      if (dim < 0)
        return fail(describe(i, arg) +
                    " has a dynamic dimension other than the batch");
    }
    if (isBatched(arg.role)) {
      if (arg.shape.empty())
        return fail(describe(i, arg) + " needs a batch dimension");
      if (arg.shape[0] != kDynamicDim && arg.shape[0] != batchSize)
        return fail(describe(i, arg) + " is compiled for batch size " +
                    std::to_string(arg.shape[0]) + ", but the input has " +
                    std::to_string(batchSize));
    }
    Binding binding{arg.role};
    switch (arg.role) {
    case ArgRole::Input:
      if (input)
        return fail("more than one input argument");
      input = &arg;
      break;
    case ArgRole::Output:
      if (output)
        return fail("more than one output argument");
      output = &arg;
      break;
    case ArgRole::Position:
    case ArgRole::ValidLength:
      if (++scalarCounts[arg.role == ArgRole::Position ? 0 : 1] > 1)
        return fail(std::string("more than one ") + roleName(arg.role) +
                    " argument");
      if (!arg.shape.empty() || arg.elementType != ElementType::I64)
        return fail(describe(i, arg) + " must be an i64 scalar");
      break;
    case ArgRole::Weight:
      if (weightIndex.count(arg.name))
        return fail("weight '" + arg.name + "' appears twice");
      if (arg.elementType != ElementType::F32)
        return fail(describe(i, arg) + ": weights are passed as f32");
      if (arg.name == "embed.weight")
        embed = &arg;
      binding.index = weightSpecs.size();
      weightIndex[arg.name] = binding.index;
      weightSpecs.push_back(&arg);
      break;
    case ArgRole::Prepared:
      if (arg.elementType != ElementType::F32 &&
          arg.elementType != ElementType::F16 &&
          arg.elementType != ElementType::BF16)
        return fail(describe(i, arg) +
                    ": prepared tensors are f32, f16 or bf16");
      if (!preparedIndex.emplace(arg.name, session.preparedTensors.size())
               .second)
        return fail("prepared tensor '" + arg.name + "' appears twice");
      binding.index = session.preparedTensors.size();
      session.preparedTensors.emplace_back();
      break;
    case ArgRole::PreparedOut:
      return fail(describe(i, arg) + " belongs to the prepare function");
    case ArgRole::StateIn:
      // 'position' is the state file's own key.
      if (arg.name == "position")
        return fail("state tensor may not be named 'position'");
      if (stateIndex.count(arg.name))
        return fail("state '" + arg.name + "' is read twice");
      binding.index = session.state.size();
      stateIndex[arg.name] = binding.index;
      session.stateTensorNames.push_back(arg.name);
      session.state.emplace_back();
      session.nextState.emplace_back();
      break;
    case ArgRole::StateOut:
      if (!stateOuts.emplace(arg.name, &arg).second)
        return fail("state '" + arg.name + "' is written twice");
      break;
    }
    session.bindings.push_back(binding);
  }

  if (!input)
    return fail("no input argument");
  if (!output)
    return fail("no output argument");
  bool hidden =
      input->shape.size() == 3 && input->elementType == ElementType::F32;
  bool ids =
      input->shape.size() == 2 && (input->elementType == ElementType::I32 ||
                                   input->elementType == ElementType::I64);
  if (!hidden && !ids)
    return fail("input must be f32 [B, T, D] or i32/i64 [B, T], got " +
                std::string(dtypeName(toDType(input->elementType))) + " " +
                formatShape(input->shape));
  session.segmentLen = input->shape[1];
  if (session.segmentLen < 1)
    return fail("segment length must be at least 1, got " +
                std::to_string(session.segmentLen));
  if (output->shape.size() != 3 || output->elementType != ElementType::F32 ||
      output->shape[1] != session.segmentLen)
    return fail("output must be f32 [B, " + std::to_string(session.segmentLen) +
                ", Dout], got " + dtypeName(toDType(output->elementType)) +
                " " + formatShape(output->shape));
  session.tokenIds = ids;
  session.inWidth = hidden ? input->shape[2] : 0;
  session.outWidth = output->shape[2];
  if (ids) {
    if (!embed || embed->shape.size() != 2)
      return fail("a token-id input needs the weight 'embed.weight' [V, D] "
                  "to know the vocabulary size");
    session.vocab = embed->shape[0];
    if (session.vocab < 1)
      return fail("'embed.weight' has an empty vocabulary");
  }

  // Pair each state output with the state input of the same name.
  for (size_t i = 0; i < step.args.size(); ++i) {
    const ArgSpec &arg = step.args[i];
    if (arg.role == ArgRole::StateIn) {
      auto out = stateOuts.find(arg.name);
      if (out == stateOuts.end())
        return fail("state '" + arg.name + "' is read but never written");
      if (out->second->elementType != arg.elementType ||
          concreteShape(*out->second, batchSize) !=
              concreteShape(arg, batchSize))
        return fail("state '" + arg.name + "' is read as " +
                    dtypeName(toDType(arg.elementType)) + " " +
                    formatShape(arg.shape) + " but written as " +
                    dtypeName(toDType(out->second->elementType)) + " " +
                    formatShape(out->second->shape));
    } else if (arg.role == ArgRole::StateOut) {
      auto in = stateIndex.find(arg.name);
      if (in == stateIndex.end())
        return fail("state '" + arg.name + "' is written but never read");
      session.bindings[i].index = in->second;
    }
  }

  // Weights only the prepare function reads (those it packs for the step)
  // are loaded for it and released once it has run.
  size_t stepWeights = weightSpecs.size();
  for (const ArgSpec &arg : step.prepareArgs) {
    if (arg.role != ArgRole::Weight)
      continue;
    auto [known, added] = weightIndex.emplace(arg.name, weightSpecs.size());
    if (added) {
      if (arg.elementType != ElementType::F32)
        return Status::error("prepare function: weight '" + arg.name +
                             "' must be f32");
      weightSpecs.push_back(&arg);
    } else if (weightSpecs[known->second]->shape != arg.shape ||
               weightSpecs[known->second]->elementType != arg.elementType) {
      return Status::error("prepare function: weight '" + arg.name +
                           "' differs from the step's");
    }
  }

  // Load the weights, checking each against the step's expectations.
  const std::string &file = weights.path();
  session.weightTensors.resize(weightSpecs.size());
  for (size_t index = 0; index < weightSpecs.size(); ++index) {
    const ArgSpec &arg = *weightSpecs[index];
    const WeightInfo *info = weights.find(arg.name);
    if (!info)
      return Status::error(file + ": missing weight '" + arg.name +
                           "' (expected f32 " + formatShape(arg.shape) + ")");
    if (info->shape != arg.shape)
      return Status::error(file + ": weight '" + arg.name + "' has shape " +
                           formatShape(info->shape) + ", expected " +
                           formatShape(arg.shape));
    if (info->dtype != DType::F32 && info->dtype != DType::F16 &&
        info->dtype != DType::BF16)
      return Status::error(file + ": weight '" + arg.name + "' has dtype " +
                           info->dtypeName + ", expected F32, F16 or BF16");
    StatusOr<Tensor> tensor = weights.loadAsF32(arg.name);
    if (!tensor)
      return tensor.status();
    session.weightTensors[index] = std::move(*tensor);
  }

  // Buffers: state pairs zeroed, one input and one output segment.
  for (size_t i = 0; i < step.args.size(); ++i) {
    const ArgSpec &arg = step.args[i];
    if (arg.role != ArgRole::StateIn)
      continue;
    size_t index = session.bindings[i].index;
    for (std::vector<Tensor> *buffers : {&session.state, &session.nextState}) {
      StatusOr<Tensor> tensor = Tensor::zeros(toDType(arg.elementType),
                                              concreteShape(arg, batchSize));
      if (!tensor)
        return Status::error("state '" + arg.name +
                             "': " + tensor.status().message());
      (*buffers)[index] = std::move(*tensor);
    }
  }
  StatusOr<Tensor> inputBuffer = Tensor::zeros(
      toDType(input->elementType), concreteShape(*input, batchSize));
  if (!inputBuffer)
    return Status::error("input buffer: " + inputBuffer.status().message());
  session.inputBuffer = std::move(*inputBuffer);
  StatusOr<Tensor> outputBuffer =
      Tensor::zeros(DType::F32, concreteShape(*output, batchSize));
  if (!outputBuffer)
    return Status::error("output buffer: " + outputBuffer.status().message());
  session.outputBuffer = std::move(*outputBuffer);
  session.step = std::move(step);
  INFINI_RETURN_IF_ERROR(session.placeOnDevice());
  INFINI_RETURN_IF_ERROR(
      session.runPrepare(session.step, weightIndex, preparedIndex));
  for (size_t index = stepWeights; index < weightSpecs.size(); ++index) {
    session.weightTensors[index] = Tensor();
    if (index < session.deviceWeights.size())
      session.deviceWeights[index] = DeviceBuffer();
  }
  return session;
}

Status Session::placeOnDevice() {
  const std::shared_ptr<DeviceMemory> &device = step.device;
  if (!device)
    return Status::ok();
  auto place = [&](Tensor &tensor, DeviceBuffer &buffer,
                   const std::string &what) -> Status {
    StatusOr<DeviceBuffer> allocated =
        DeviceBuffer::allocate(device, tensor.byteSize());
    if (!allocated)
      return Status::error(what + ": " + allocated.status().message());
    buffer = std::move(*allocated);
    return buffer.upload(tensor.data());
  };
  deviceWeights.resize(weightTensors.size());
  for (size_t i = 0; i < weightTensors.size(); ++i) {
    INFINI_RETURN_IF_ERROR(
        place(weightTensors[i], deviceWeights[i], "uploading a weight"));
    // The device copy is the only one the step reads.
    weightTensors[i] = Tensor();
  }
  deviceState.resize(state.size());
  deviceNextState.resize(state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    std::string what = "state '" + stateTensorNames[i] + "'";
    INFINI_RETURN_IF_ERROR(place(state[i], deviceState[i], what));
    INFINI_RETURN_IF_ERROR(place(nextState[i], deviceNextState[i], what));
  }
  // Host nextState is never read when the state lives on the device.
  nextState.clear();
  INFINI_RETURN_IF_ERROR(place(inputBuffer, deviceInput, "input buffer"));
  return place(outputBuffer, deviceOutput, "output buffer");
}

Status Session::uploadState() {
  for (size_t i = 0; i < deviceState.size(); ++i)
    INFINI_RETURN_IF_ERROR(deviceState[i].upload(state[i].data()));
  return Status::ok();
}

std::vector<std::string> Session::stateNames() const {
  return stateTensorNames;
}

Status Session::resetState() {
  for (Tensor &tensor : state)
    std::memset(tensor.data(), 0, tensor.byteSize());
  currentPosition = 0;
  return uploadState();
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

Status Session::run(const std::string &inputPath,
                    const std::string &outputPath) {
  StatusOr<NpyReader> reader = NpyReader::open(inputPath);
  if (!reader)
    return reader.status();
  NpyInput input(std::move(*reader));
  NpyOutput output(outputPath);
  return runStream(input, output);
}

StatusOr<Tensor> Session::run(const Tensor &input) {
  TensorInput source(input);
  TensorOutput sink;
  INFINI_RETURN_IF_ERROR(runStream(source, sink));
  return std::move(sink.tensor);
}

Status Session::checkInput(const InputSource &input, int64_t &tokens) const {
  const std::vector<int64_t> &shape = input.shape();
  std::string got =
      std::string(numpyDtypeName(input.dtype())) + " " + formatShape(shape);
  if (tokenIds) {
    if (shape.size() != 2 ||
        (input.dtype() != DType::I32 && input.dtype() != DType::I64))
      return Status::error(input.name() +
                           ": expected int32 or int64 token ids [B, N], got " +
                           got);
  } else if (shape.size() != 3 || shape[2] != inWidth ||
             (input.dtype() != DType::F32 && input.dtype() != DType::F64)) {
    return Status::error(input.name() +
                         ": expected float32 hidden states [B, N, " +
                         std::to_string(inWidth) + "], got " + got);
  }
  if (shape[0] != batch)
    return Status::error(input.name() + ": batch size " +
                         std::to_string(shape[0]) +
                         " does not match the session's batch size " +
                         std::to_string(batch) + " (got " + got + ")");
  tokens = shape[1];
  if (tokens == 0)
    return Status::error(input.name() + ": input has no tokens (N = 0 in " +
                         got + ")");
  return Status::ok();
}

/// Reads id `index` of a buffer of int32 or int64 ids as int64.
static int64_t idAt(const std::vector<unsigned char> &buffer, DType dtype,
                    int64_t index) {
  if (dtype == DType::I32) {
    int32_t id;
    std::memcpy(&id, buffer.data() + index * 4, 4);
    return id;
  }
  int64_t id;
  std::memcpy(&id, buffer.data() + index * 8, 8);
  return id;
}

Status Session::checkTokenIds(InputSource &input, int64_t tokens) const {
  // A separate pass, so a bad id fails the run before any step changes the
  // state; ids are small next to what a step computes per token.
  constexpr int64_t kChunk = 1 << 16;
  int64_t total = batch * tokens;
  size_t itemSize = dtypeSize(input.dtype());
  std::vector<unsigned char> buffer(size_t(std::min(kChunk, total)) * itemSize);
  for (int64_t first = 0; first < total; first += kChunk) {
    int64_t count = std::min(kChunk, total - first);
    INFINI_RETURN_IF_ERROR(input.read(first, count, buffer.data()));
    for (int64_t i = 0; i < count; ++i) {
      int64_t id = idAt(buffer, input.dtype(), i);
      if (id < 0 || id >= vocab) {
        int64_t flat = first + i;
        return Status::error(input.name() + ": token id " + std::to_string(id) +
                             " at [" + std::to_string(flat / tokens) + ", " +
                             std::to_string(flat % tokens) +
                             "] is out of range [0, " + std::to_string(vocab) +
                             ")");
      }
    }
  }
  return Status::ok();
}

Status Session::fillSegment(InputSource &input, int64_t tokens, int64_t start,
                            int64_t valid,
                            std::vector<unsigned char> &staging) {
  int64_t rowElements = tokenIds ? 1 : inWidth;
  int64_t segmentElements = segmentLen * rowElements;
  size_t bufferItem = dtypeSize(inputBuffer.dtype());
  bool direct = input.dtype() == inputBuffer.dtype();
  // Padding rows stay zero: hidden state 0.0 or token id 0.
  std::memset(inputBuffer.data(), 0, inputBuffer.byteSize());
  for (int64_t b = 0; b < batch; ++b) {
    int64_t first = (b * tokens + start) * rowElements;
    int64_t count = valid * rowElements;
    char *dst = static_cast<char *>(inputBuffer.data()) +
                size_t(b * segmentElements) * bufferItem;
    if (direct) {
      INFINI_RETURN_IF_ERROR(input.read(first, count, dst));
      continue;
    }
    INFINI_RETURN_IF_ERROR(input.read(first, count, staging.data()));
    if (input.dtype() == DType::F64) {
      float *out = reinterpret_cast<float *>(dst);
      for (int64_t i = 0; i < count; ++i) {
        double value;
        std::memcpy(&value, staging.data() + i * 8, 8);
        out[i] = float(value);
      }
    } else if (inputBuffer.dtype() == DType::I32) {
      int32_t *out = reinterpret_cast<int32_t *>(dst);
      for (int64_t i = 0; i < count; ++i)
        out[i] = int32_t(idAt(staging, input.dtype(), i));
    } else {
      int64_t *out = reinterpret_cast<int64_t *>(dst);
      for (int64_t i = 0; i < count; ++i)
        out[i] = idAt(staging, input.dtype(), i);
    }
  }
  return Status::ok();
}

namespace {
/// The `void **` argument array of one call of a compiled function, laid
/// out as StepFunction.h specifies: a tensor's entry points at a `void *`
/// that points at its memref descriptor; a scalar's entry points at it.
class PackedArguments {
public:
  explicit PackedArguments(size_t count) : slots(count), packed(count) {
    descriptors.reserve(count); // Keeps descriptor addresses stable.
  }
  void setTensor(size_t index, void *data, const std::vector<int64_t> &shape) {
    descriptors.emplace_back(data, shape);
    slots[index] = descriptors.back().get();
    packed[index] = &slots[index];
  }
  void setScalar(size_t index, int64_t *value) { packed[index] = value; }
  void **data() { return packed.data(); }

private:
  std::vector<MemRefDescriptor> descriptors;
  std::vector<void *> slots;
  std::vector<void *> packed;
};
} // namespace

Status Session::runPrepare(const StepFunction &step,
                           const std::map<std::string, size_t> &weightIndex,
                           const std::map<std::string, size_t> &preparedIndex) {
  auto fail = [](const std::string &message) {
    return Status::error("prepare function: " + message);
  };
  if (preparedIndex.empty())
    return Status::ok();
  if (!step.prepare)
    return fail("the step reads prepared tensors but there is none");
  size_t count = step.prepareArgs.size();
  PackedArguments packed(count);
  std::set<std::string> produced;
  // What prepare writes into each prepared tensor.
  std::vector<const ArgSpec *> preparedOuts(preparedIndex.size());
  if (step.device)
    devicePrepared.resize(preparedIndex.size());
  for (size_t i = 0; i < count; ++i) {
    const ArgSpec &arg = step.prepareArgs[i];
    void *data = nullptr;
    if (arg.role == ArgRole::Weight) {
      size_t weight = weightIndex.at(arg.name);
      data = step.device ? deviceWeights[weight].data()
                         : weightTensors[weight].data();
    } else if (arg.role == ArgRole::PreparedOut) {
      auto prepared = preparedIndex.find(arg.name);
      if (prepared == preparedIndex.end() || !produced.insert(arg.name).second)
        return fail("writes '" + arg.name +
                    "', which the step does not read once");
      size_t index = prepared->second;
      preparedOuts[index] = &arg;
      StatusOr<Tensor> buffer =
          Tensor::zeros(toDType(arg.elementType), arg.shape);
      if (!buffer)
        return fail("'" + arg.name + "': " + buffer.status().message());
      if (step.device) {
        StatusOr<DeviceBuffer> onDevice =
            DeviceBuffer::allocate(step.device, buffer->byteSize());
        if (!onDevice)
          return fail("'" + arg.name + "': " + onDevice.status().message());
        devicePrepared[index] = std::move(*onDevice);
        data = devicePrepared[index].data();
      } else {
        preparedTensors[index] = std::move(*buffer);
        data = preparedTensors[index].data();
      }
    } else {
      return fail(describe(i, arg) + " is neither a weight nor an output");
    }
    packed.setTensor(i, data, arg.shape);
  }
  if (produced.size() != preparedIndex.size())
    return fail("does not write every prepared tensor the step reads");
  // A Prepared argument must be what prepare writes.
  for (size_t i = 0; i < step.args.size(); ++i) {
    if (step.args[i].role != ArgRole::Prepared)
      continue;
    const ArgSpec &written = *preparedOuts[bindings[i].index];
    if (written.shape != step.args[i].shape ||
        written.elementType != step.args[i].elementType)
      return fail(describe(i, step.args[i]) + " does not match its output");
  }
  step.prepare(packed.data());
  if (step.device)
    if (Status status = step.device->finish(); !status)
      return fail(status.message());
  return Status::ok();
}

Status Session::invokeStep(int64_t position, int64_t valid) {
  bool onDevice = step.device != nullptr;
  if (onDevice)
    INFINI_RETURN_IF_ERROR(deviceInput.upload(inputBuffer.data()));
  size_t count = step.args.size();
  PackedArguments packed(count);
  int64_t positionValue = position;
  int64_t validValue = valid;
  for (size_t i = 0; i < count; ++i) {
    const Binding &binding = bindings[i];
    size_t k = binding.index;
    void *data = nullptr;
    switch (binding.role) {
    case ArgRole::Position:
      packed.setScalar(i, &positionValue);
      continue;
    case ArgRole::ValidLength:
      packed.setScalar(i, &validValue);
      continue;
    case ArgRole::Input:
      data = onDevice ? deviceInput.data() : inputBuffer.data();
      break;
    case ArgRole::Output:
      data = onDevice ? deviceOutput.data() : outputBuffer.data();
      break;
    case ArgRole::Weight:
      data = onDevice ? deviceWeights[k].data() : weightTensors[k].data();
      break;
    case ArgRole::StateIn:
      data = onDevice ? deviceState[k].data() : state[k].data();
      break;
    case ArgRole::StateOut:
      data = onDevice ? deviceNextState[k].data() : nextState[k].data();
      break;
    case ArgRole::Prepared:
      data = onDevice ? devicePrepared[k].data() : preparedTensors[k].data();
      break;
    case ArgRole::PreparedOut: // Rejected by create().
      continue;
    }
    packed.setTensor(i, data, concreteShape(step.args[i], batch));
  }
  step.invoke(packed.data());
  // The update becomes the state the next step reads.
  if (!onDevice) {
    std::swap(state, nextState);
    return Status::ok();
  }
  std::swap(deviceState, deviceNextState);
  INFINI_RETURN_IF_ERROR(step.device->finish());
  return deviceOutput.download(outputBuffer.data());
}

Status Session::runStream(InputSource &input, OutputSink &output) {
  auto runStart = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  INFINI_RETURN_IF_ERROR(checkInput(input, tokens));
  if (tokenIds)
    INFINI_RETURN_IF_ERROR(checkTokenIds(input, tokens));
  INFINI_RETURN_IF_ERROR(output.open({batch, tokens, outWidth}));

  RunStats runStats;
  runStats.tokens = tokens;
  std::vector<unsigned char> staging(
      size_t(segmentLen * (tokenIds ? 1 : inWidth)) * dtypeSize(input.dtype()));
  const float *segmentOutput = outputBuffer.dataAs<float>();
  for (int64_t start = 0; start < tokens; start += segmentLen) {
    int64_t valid = std::min(segmentLen, tokens - start);
    INFINI_RETURN_IF_ERROR(fillSegment(input, tokens, start, valid, staging));

    auto invokeStart = std::chrono::steady_clock::now();
    INFINI_RETURN_IF_ERROR(invokeStep(currentPosition + start, valid));
    runStats.invokeSeconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                      invokeStart)
            .count();
    ++runStats.segments;

    // Only the real tokens of each row reach the output.
    for (int64_t b = 0; b < batch; ++b)
      INFINI_RETURN_IF_ERROR(
          output.write((b * tokens + start) * outWidth, valid * outWidth,
                       segmentOutput + b * segmentLen * outWidth));
  }
  INFINI_RETURN_IF_ERROR(output.commit());
  currentPosition += tokens;
  runStats.totalSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - runStart)
          .count();
  stats = runStats;
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// State files
//===----------------------------------------------------------------------===//

Status Session::saveState(const std::string &path) const {
  StatusOr<Tensor> position = Tensor::zeros(DType::I64, {});
  if (!position)
    return position.status();
  *position->dataAs<int64_t>() = currentPosition;
  std::vector<NpzEntry> entries;
  // A device's state is copied back only now.
  std::vector<Tensor> downloaded(deviceState.size());
  for (size_t i = 0; i < deviceState.size(); ++i) {
    StatusOr<Tensor> copy = Tensor::zeros(state[i].dtype(), state[i].shape());
    if (!copy)
      return copy.status();
    INFINI_RETURN_IF_ERROR(deviceState[i].download(copy->data()));
    downloaded[i] = std::move(*copy);
  }
  for (size_t i = 0; i < state.size(); ++i)
    entries.push_back(
        {stateTensorNames[i], step.device ? &downloaded[i] : &state[i]});
  entries.push_back({"position", &*position});
  return writeNpz(path, entries);
}

Status Session::loadState(const std::string &path) {
  StatusOr<std::map<std::string, Tensor>> loaded = readNpz(path);
  if (!loaded)
    return loaded.status();
  std::map<std::string, Tensor> &arrays = *loaded;

  // Validate everything first so a bad file leaves the session untouched.
  for (size_t i = 0; i < state.size(); ++i) {
    const std::string &key = stateTensorNames[i];
    const Tensor &expected = state[i];
    std::string expectedText = std::string(numpyDtypeName(expected.dtype())) +
                               " " + formatShape(expected.shape());
    auto it = arrays.find(key);
    if (it == arrays.end())
      return Status::error(path + ": missing '" + key + "' (expected " +
                           expectedText + ")");
    const Tensor &got = it->second;
    if (got.shape() != expected.shape()) {
      std::string message = path + ": '" + key + "' has shape " +
                            formatShape(got.shape()) + ", expected " +
                            formatShape(expected.shape());
      if (!got.shape().empty() && got.rank() == expected.rank() &&
          got.shape()[0] != batch)
        message += " (saved with batch size " + std::to_string(got.shape()[0]) +
                   ", but this session's batch size is " +
                   std::to_string(batch) + ")";
      return Status::error(message);
    }
    if (got.dtype() != expected.dtype())
      return Status::error(path + ": '" + key + "' has dtype " +
                           numpyDtypeName(got.dtype()) + ", expected " +
                           numpyDtypeName(expected.dtype()));
  }
  auto positionIt = arrays.find("position");
  if (positionIt == arrays.end())
    return Status::error(path + ": missing 'position' (expected int64 scalar)");
  const Tensor &position = positionIt->second;
  if (position.dtype() != DType::I64 || position.rank() != 0)
    return Status::error(path + ": 'position' is " +
                         numpyDtypeName(position.dtype()) + " " +
                         formatShape(position.shape()) +
                         ", expected an int64 scalar (shape [])");
  int64_t newPosition = *position.dataAs<int64_t>();
  if (newPosition < 0)
    return Status::error(path + ": 'position' is negative (" +
                         std::to_string(newPosition) + ")");
  if (arrays.size() != state.size() + 1) {
    for (const auto &entry : arrays)
      if (entry.first != "position" &&
          std::find(stateTensorNames.begin(), stateTensorNames.end(),
                    entry.first) == stateTensorNames.end())
        return Status::error(path + ": unexpected key '" + entry.first +
                             "' (this model's state has " +
                             std::to_string(state.size()) +
                             " tensors plus 'position')");
  }

  for (size_t i = 0; i < state.size(); ++i)
    state[i] = std::move(arrays[stateTensorNames[i]]);
  currentPosition = newPosition;
  return uploadState();
}
