//===- SessionTest.cpp - Tests of running a step over a long input --------===//
//
// The step functions here are hand-written C++ behind the same packed calling
// convention compiled code uses. The hidden-state step computes
//   out[b, t, d] = in[b, t, d] * w[d] + (position + t) + sum[b, 0, d]
//   sum[b, 0, d] += sum over the valid tokens t of in[b, t, d]
// so outputs reveal the position, the padding and the carried state.
//
//===----------------------------------------------------------------------===//

#include "runtime/Session.h"
#include "runtime/Npy.h"
#include "runtime/Npz.h"

#include "TestUtil.h"

using namespace infini::rt;
using namespace infini::rt::test;
using ::testing::HasSubstr;

namespace {
/// A view of one memref argument of a packed call.
struct View {
  void *data;
  std::vector<int64_t> sizes;

  View(void **args, size_t index, size_t rank) {
    const int64_t *fields =
        static_cast<const int64_t *>(*static_cast<void **>(args[index]));
    data = reinterpret_cast<void *>(fields[1]);
    EXPECT_EQ(fields[0], fields[1]);
    EXPECT_EQ(fields[2], 0);
    sizes.assign(fields + 3, fields + 3 + rank);
    // Dense row-major strides.
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      EXPECT_EQ(fields[3 + rank + i], stride);
      stride *= sizes[i];
    }
    EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % 64, 0u);
  }
  float *f32() const { return static_cast<float *>(data); }
};

int64_t scalarArg(void **args, size_t index) {
  return *static_cast<int64_t *>(args[index]);
}

/// What the fake steps saw, call by call.
struct Call {
  int64_t position;
  int64_t valid;
  bool paddingIsZero;
};
std::vector<Call> calls;

/// Arguments: input [B,T,D], position, valid_length, weight 'w' [D],
/// state 'layers.0.norm' [B,1,D] in, output [B,T,D], state out.
void hiddenStep(void **args) {
  View in(args, 0, 3), w(args, 3, 1), stateIn(args, 4, 3), out(args, 5, 3),
      stateOut(args, 6, 3);
  int64_t position = scalarArg(args, 1), valid = scalarArg(args, 2);
  int64_t B = in.sizes[0], T = in.sizes[1], D = in.sizes[2];
  bool paddingIsZero = true;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t d = 0; d < D; ++d) {
      float sum = stateIn.f32()[b * D + d];
      for (int64_t t = 0; t < T; ++t) {
        float x = in.f32()[(b * T + t) * D + d];
        out.f32()[(b * T + t) * D + d] =
            x * w.f32()[d] + float(position + t) + stateIn.f32()[b * D + d];
        if (t < valid)
          sum += x;
        else if (x != 0.0f)
          paddingIsZero = false;
      }
      stateOut.f32()[b * D + d] = sum;
    }
  }
  calls.push_back({position, valid, paddingIsZero});
}

constexpr int64_t kT = 4, kD = 3;

StepFunction hiddenStepFunction(int64_t T = kT, int64_t D = kD) {
  StepFunction step;
  step.invoke = hiddenStep;
  step.args = {
      {ArgRole::Input, "input", ElementType::F32, {kDynamicDim, T, D}},
      {ArgRole::Position, "position", ElementType::I64, {}},
      {ArgRole::ValidLength, "valid_length", ElementType::I64, {}},
      {ArgRole::Weight, "w", ElementType::F32, {D}},
      {ArgRole::StateIn,
       "layers.0.norm",
       ElementType::F32,
       {kDynamicDim, 1, D}},
      {ArgRole::Output, "output", ElementType::F32, {kDynamicDim, T, D}},
      {ArgRole::StateOut,
       "layers.0.norm",
       ElementType::F32,
       {kDynamicDim, 1, D}},
  };
  return step;
}

/// Arguments: ids [B,T] (i32), position, embed.weight [V,D], output [B,T,D].
/// out[b, t, :] = embed[id] + position + t; no state.
void idStep(void **args) {
  View ids(args, 0, 2), embed(args, 2, 2), out(args, 3, 3);
  int64_t position = scalarArg(args, 1);
  int64_t B = ids.sizes[0], T = ids.sizes[1], D = embed.sizes[1];
  const int32_t *id = static_cast<const int32_t *>(ids.data);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t d = 0; d < D; ++d)
        out.f32()[(b * T + t) * D + d] =
            embed.f32()[id[b * T + t] * D + d] + float(position + t);
  calls.push_back({position, -1, true});
}

constexpr int64_t kV = 5;

StepFunction idStepFunction() {
  StepFunction step;
  step.invoke = idStep;
  step.args = {
      {ArgRole::Input, "input", ElementType::I32, {kDynamicDim, kT}},
      {ArgRole::Position, "position", ElementType::I64, {}},
      {ArgRole::Weight, "embed.weight", ElementType::F32, {kV, kD}},
      {ArgRole::Output, "output", ElementType::F32, {kDynamicDim, kT, kD}},
  };
  return step;
}

/// The hidden step's expected output for a whole input [B, N, D], starting
/// at `position` with state `sums` [B, D] (updated).
std::vector<float> expectedHidden(const std::vector<float> &input, int64_t B,
                                  int64_t N, const std::vector<float> &w,
                                  int64_t position, std::vector<float> &sums) {
  std::vector<float> out(input.size());
  for (int64_t start = 0; start < N; start += kT) {
    int64_t valid = std::min(kT, N - start);
    std::vector<float> before = sums;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < valid; ++t)
        for (int64_t d = 0; d < kD; ++d) {
          size_t i = size_t((b * N + start + t) * kD + d);
          out[i] = input[i] * w[size_t(d)] + float(position + start + t) +
                   before[size_t(b * kD + d)];
          sums[size_t(b * kD + d)] += input[i];
        }
  }
  return out;
}

class SessionTest : public ::testing::Test {
protected:
  void SetUp() override {
    calls.clear();
    writeFile(modelPath,
              makeSafetensors(
                  {{"w", "F32", {kD}, bytesOf(weights)},
                   {"embed.weight", "F32", {kV, kD}, bytesOf(embedding())},
                   {"unused", "F32", {1}, bytesOf<float>({0})}}));
  }

  static std::vector<float> embedding() {
    std::vector<float> table(kV * kD);
    for (size_t i = 0; i < table.size(); ++i)
      table[i] = float(i) * 10;
    return table;
  }

  /// Writes an f32 input [B, N, D] with distinct values and returns them.
  std::vector<float> writeHiddenInput(const std::string &path, int64_t B,
                                      int64_t N, int64_t D = kD) {
    std::vector<float> values(size_t(B * N * D));
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = float(i % 17) * 0.25f - 1.0f;
    writeArray(path, DType::F32, {B, N, D}, values.data());
    return values;
  }

  static void writeArray(const std::string &path, DType dtype,
                         std::vector<int64_t> shape, const void *data) {
    StatusOr<Tensor> tensor = Tensor::zeros(dtype, shape);
    ASSERT_TRUE(tensor);
    if (tensor->byteSize())
      std::memcpy(tensor->data(), data, tensor->byteSize());
    ASSERT_TRUE(writeNpy(path, *tensor));
  }

  static std::vector<float> readOutput(const std::string &path) {
    StatusOr<Tensor> tensor = readNpy(path);
    EXPECT_TRUE(tensor) << tensor.status().message();
    if (!tensor)
      return {};
    const float *data = tensor->dataAs<float>();
    return std::vector<float>(data, data + tensor->numElements());
  }

  StatusOr<Session> makeSession(StepFunction step, int64_t batch) {
    StatusOr<WeightFile> weightFile = WeightFile::open(modelPath);
    EXPECT_TRUE(weightFile) << weightFile.status().message();
    if (!weightFile)
      return weightFile.status();
    return Session::create(std::move(step), *weightFile, batch);
  }

  std::string createError(StepFunction step, int64_t batch = 2) {
    StatusOr<Session> session = makeSession(std::move(step), batch);
    return session ? "" : session.status().message();
  }

  TempDir dir;
  std::string modelPath = dir.path("model.safetensors");
  std::string inPath = dir.path("in.npy");
  std::string outPath = dir.path("out.npy");
  std::vector<float> weights = {2.0f, -1.0f, 0.5f};
};
} // namespace

TEST_F(SessionTest, RunsSegmentBySegment) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(session) << session.status().message();
  EXPECT_EQ(session->segmentLength(), kT);
  EXPECT_EQ(session->inputWidth(), kD);
  EXPECT_EQ(session->outputWidth(), kD);
  EXPECT_FALSE(session->takesTokenIds());
  EXPECT_EQ(session->stateNames(), std::vector<std::string>{"layers.0.norm"});

  std::vector<float> input = writeHiddenInput(inPath, 2, 10);
  Status status = session->run(inPath, outPath);
  ASSERT_TRUE(status) << status.message();

  // 10 tokens in segments of 4: 4 + 4 + 2, the tail padded with zeros.
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].position, 0);
  EXPECT_EQ(calls[1].position, 4);
  EXPECT_EQ(calls[2].position, 8);
  EXPECT_EQ(calls[0].valid, 4);
  EXPECT_EQ(calls[2].valid, 2);
  for (const Call &call : calls)
    EXPECT_TRUE(call.paddingIsZero);
  EXPECT_EQ(session->position(), 10);
  EXPECT_EQ(session->lastRunStats().segments, 3);
  EXPECT_EQ(session->lastRunStats().tokens, 10);
  EXPECT_GE(session->lastRunStats().totalSeconds,
            session->lastRunStats().invokeSeconds);

  std::vector<float> sums(2 * kD, 0.0f);
  EXPECT_EQ(readOutput(outPath),
            expectedHidden(input, 2, 10, weights, 0, sums));
  StatusOr<NpyReader> out = NpyReader::open(outPath);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->shape(), (std::vector<int64_t>{2, 10, kD}));
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"in.npy", "model.safetensors",
                                                  "out.npy"}));
}

TEST_F(SessionTest, PositionAndStateContinueAcrossRuns) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 1);
  ASSERT_TRUE(session);
  std::vector<float> first = writeHiddenInput(inPath, 1, 6);
  ASSERT_TRUE(session->run(inPath, outPath));
  std::vector<float> sums(kD, 0.0f);
  EXPECT_EQ(readOutput(outPath), expectedHidden(first, 1, 6, weights, 0, sums));

  // The second run starts a new segment at position 6.
  calls.clear();
  std::vector<float> second = writeHiddenInput(inPath, 1, 5);
  ASSERT_TRUE(session->run(inPath, outPath));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].position, 6);
  EXPECT_EQ(calls[1].position, 10);
  EXPECT_EQ(session->position(), 11);
  EXPECT_EQ(readOutput(outPath),
            expectedHidden(second, 1, 5, weights, 6, sums));
}

TEST_F(SessionTest, ExactMultipleOfSegmentLength) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 1);
  ASSERT_TRUE(session);
  writeHiddenInput(inPath, 1, 8);
  ASSERT_TRUE(session->run(inPath, outPath));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].valid, 4);
}

TEST_F(SessionTest, ConvertsFloat64Input) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 1);
  ASSERT_TRUE(session);
  std::vector<double> input = {1, 2, 3, 4, 5, 6};
  writeArray(inPath, DType::F64, {1, 2, kD}, input.data());
  ASSERT_TRUE(session->run(inPath, outPath));
  std::vector<float> asFloat(input.begin(), input.end());
  std::vector<float> sums(kD, 0.0f);
  EXPECT_EQ(readOutput(outPath),
            expectedHidden(asFloat, 1, 2, weights, 0, sums));
}

TEST_F(SessionTest, InMemoryRunMatchesFileRun) {
  StatusOr<Session> fromFile = makeSession(hiddenStepFunction(), 2);
  StatusOr<Session> inMemory = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(fromFile && inMemory);
  writeHiddenInput(inPath, 2, 7);
  ASSERT_TRUE(fromFile->run(inPath, outPath));
  StatusOr<Tensor> input = readNpy(inPath);
  ASSERT_TRUE(input);
  StatusOr<Tensor> output = inMemory->run(*input);
  ASSERT_TRUE(output) << output.status().message();
  EXPECT_EQ(output->shape(), (std::vector<int64_t>{2, 7, kD}));
  std::vector<float> values(output->dataAs<float>(),
                            output->dataAs<float>() + output->numElements());
  EXPECT_EQ(values, readOutput(outPath));
}

TEST_F(SessionTest, LongInputStreams) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(session);
  std::vector<float> input = writeHiddenInput(inPath, 2, 10001);
  ASSERT_TRUE(session->run(inPath, outPath));
  EXPECT_EQ(calls.size(), 2501u);
  EXPECT_EQ(calls.back().valid, 1);
  std::vector<float> sums(2 * kD, 0.0f);
  EXPECT_EQ(readOutput(outPath),
            expectedHidden(input, 2, 10001, weights, 0, sums));
}

TEST_F(SessionTest, InputErrors) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(session);
  auto runError = [&] {
    Status status = session->run(inPath, outPath);
    return status ? std::string() : status.message();
  };

  writeHiddenInput(inPath, 2, 10, 32);
  EXPECT_EQ(runError(), inPath + ": expected float32 hidden states [B, N, 3], "
                                 "got float32 [2, 10, 32]");
  std::vector<int32_t> ids(20, 0);
  writeArray(inPath, DType::I32, {2, 10}, ids.data());
  EXPECT_EQ(runError(), inPath + ": expected float32 hidden states [B, N, 3], "
                                 "got int32 [2, 10]");
  writeHiddenInput(inPath, 3, 10);
  EXPECT_EQ(runError(), inPath + ": batch size 3 does not match the "
                                 "session's batch size 2 (got float32 [3, "
                                 "10, 3])");
  writeHiddenInput(inPath, 2, 0);
  EXPECT_EQ(runError(),
            inPath + ": input has no tokens (N = 0 in float32 [2, 0, 3])");
  EXPECT_EQ(runError().empty(), false);
  Status missing = session->run(dir.path("absent.npy"), outPath);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(), dir.path("absent.npy") +
                                   ": cannot open: No such file or directory");

  // No step ran, nothing was written, the position did not move.
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(session->position(), 0);
  EXPECT_EQ(dir.list(),
            (std::vector<std::string>{"in.npy", "model.safetensors"}));
}

TEST_F(SessionTest, OutputErrorLeavesNoFile) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 1);
  ASSERT_TRUE(session);
  writeHiddenInput(inPath, 1, 5);
  Status status = session->run(inPath, dir.path("missing/out.npy"));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.message(), dir.path("missing/out.npy") +
                                  ": cannot create: No such file or directory");
}

TEST_F(SessionTest, TokenIds) {
  StatusOr<Session> session = makeSession(idStepFunction(), 2);
  ASSERT_TRUE(session) << session.status().message();
  EXPECT_TRUE(session->takesTokenIds());
  EXPECT_EQ(session->vocabSize(), kV);
  EXPECT_TRUE(session->stateNames().empty());

  // int64 ids are converted to the step's int32.
  std::vector<int64_t> ids = {0, 4, 1, 3, 2, /**/ 4, 4, 0, 1, 2};
  writeArray(inPath, DType::I64, {2, 5}, ids.data());
  ASSERT_TRUE(session->run(inPath, outPath));
  ASSERT_EQ(calls.size(), 2u);
  std::vector<float> out = readOutput(outPath);
  ASSERT_EQ(out.size(), size_t(2 * 5 * kD));
  std::vector<float> table = embedding();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t n = 0; n < 5; ++n)
      for (int64_t d = 0; d < kD; ++d)
        EXPECT_EQ(out[size_t((b * 5 + n) * kD + d)],
                  table[size_t(ids[size_t(b * 5 + n)] * kD + d)] + float(n))
            << b << " " << n << " " << d;

  std::vector<int32_t> ids32 = {1, 2, 3};
  writeArray(inPath, DType::I32, {1, 3}, ids32.data());
  Status batch = session->run(inPath, outPath);
  EXPECT_THAT(batch.message(), HasSubstr("batch size 1 does not match"));
}

TEST_F(SessionTest, TokenIdRangeErrors) {
  StatusOr<Session> session = makeSession(idStepFunction(), 2);
  ASSERT_TRUE(session);
  auto runError = [&] {
    Status status = session->run(inPath, outPath);
    return status ? std::string() : status.message();
  };
  std::vector<int32_t> ids = {0, 1, 2, 3, 4, 4, 3, 2, 5, 0};
  writeArray(inPath, DType::I32, {2, 5}, ids.data());
  EXPECT_EQ(runError(),
            inPath + ": token id 5 at [1, 3] is out of range [0, 5)");
  std::vector<int64_t> negative = {0, -1};
  writeArray(inPath, DType::I64, {2, 1}, negative.data());
  EXPECT_EQ(runError(),
            inPath + ": token id -1 at [1, 0] is out of range [0, 5)");
  std::vector<float> floats(2 * 3 * kD, 0.0f);
  writeArray(inPath, DType::F32, {2, 3, kD}, floats.data());
  EXPECT_EQ(runError(), inPath + ": expected int32 or int64 token ids [B, N], "
                                 "got float32 [2, 3, 3]");
  EXPECT_TRUE(calls.empty());
  EXPECT_FALSE(fileExists(outPath));
}

TEST_F(SessionTest, WeightErrors) {
  StepFunction missing = hiddenStepFunction();
  missing.args[3].name = "layers.0.attn.q_proj.weight";
  missing.args[3].shape = {64, 64};
  EXPECT_EQ(createError(missing),
            modelPath + ": missing weight 'layers.0.attn.q_proj.weight' "
                        "(expected f32 [64, 64])");

  StepFunction wrongShape = hiddenStepFunction();
  wrongShape.args[3].shape = {4};
  EXPECT_EQ(createError(wrongShape),
            modelPath + ": weight 'w' has shape [3], expected [4]");

  writeFile(modelPath,
            makeSafetensors({{"w", "I32", {kD}, bytesOf<int32_t>({1, 2, 3})}}));
  EXPECT_EQ(createError(hiddenStepFunction()),
            modelPath +
                ": weight 'w' has dtype I32, expected F32, F16 or BF16");
}

TEST_F(SessionTest, AcceptsHalfAndBFloat16Weights) {
  for (const char *dtype : {"F16", "BF16"}) {
    // 2.0, -1.0, 0.5 in each encoding.
    std::vector<uint16_t> bits =
        std::string(dtype) == "F16"
            ? std::vector<uint16_t>{0x4000, 0xbc00, 0x3800}
            : std::vector<uint16_t>{0x4000, 0xbf80, 0x3f00};
    writeFile(modelPath, makeSafetensors({{"w", dtype, {kD}, bytesOf(bits)}}));
    StatusOr<Session> session = makeSession(hiddenStepFunction(), 1);
    ASSERT_TRUE(session) << session.status().message();
    std::vector<float> input = writeHiddenInput(inPath, 1, 3);
    ASSERT_TRUE(session->run(inPath, outPath));
    std::vector<float> sums(kD, 0.0f);
    EXPECT_EQ(readOutput(outPath),
              expectedHidden(input, 1, 3, weights, 0, sums))
        << dtype;
  }
}

TEST_F(SessionTest, StepFunctionErrors) {
  StepFunction noInput = hiddenStepFunction();
  noInput.args.erase(noInput.args.begin());
  EXPECT_EQ(createError(noInput), "step function: no input argument");

  StepFunction unpaired = hiddenStepFunction();
  unpaired.args.pop_back();
  EXPECT_EQ(createError(unpaired),
            "step function: state 'layers.0.norm' is read but never written");

  StepFunction mismatched = hiddenStepFunction();
  mismatched.args[6].shape = {kDynamicDim, 2, kD};
  EXPECT_EQ(createError(mismatched),
            "step function: state 'layers.0.norm' is read as f32 [-1, 1, 3] "
            "but written as f32 [-1, 2, 3]");

  StepFunction staticBatch = hiddenStepFunction();
  staticBatch.args[0].shape[0] = 1;
  EXPECT_EQ(createError(staticBatch, 2),
            "step function: argument 0 (input 'input', f32 [1, 4, 3]) is "
            "compiled for batch size 1, but the input has 2");
  EXPECT_EQ(createError(staticBatch, 1), "");

  StepFunction dynamicWeight = hiddenStepFunction();
  dynamicWeight.args[3].shape = {kDynamicDim};
  EXPECT_EQ(createError(dynamicWeight),
            "step function: argument 3 (weight 'w', f32 [-1]) has a dynamic "
            "dimension other than the batch");

  StepFunction noEntry = hiddenStepFunction();
  noEntry.invoke = nullptr;
  EXPECT_EQ(createError(noEntry), "step function: no entry point");
  EXPECT_EQ(createError(hiddenStepFunction(), 0),
            "batch size must be at least 1, got 0");

  StepFunction noEmbed = idStepFunction();
  noEmbed.args[2].name = "tok.weight";
  EXPECT_EQ(createError(noEmbed),
            "step function: a token-id input needs the weight 'embed.weight' "
            "[V, D] to know the vocabulary size");
}

TEST_F(SessionTest, StateSavedMidStreamResumesIdentically) {
  // One run over 14 tokens...
  StatusOr<Session> whole = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(whole);
  std::vector<float> input = writeHiddenInput(inPath, 2, 14);
  ASSERT_TRUE(whole->run(inPath, outPath));
  std::vector<float> expected = readOutput(outPath);

  // ...equals 8 tokens, state saved, a new session restoring it, 6 tokens.
  auto slice = [&](int64_t from, int64_t to) {
    std::vector<float> part;
    for (int64_t b = 0; b < 2; ++b)
      part.insert(part.end(), input.begin() + (b * 14 + from) * kD,
                  input.begin() + (b * 14 + to) * kD);
    return part;
  };
  std::string statePath = dir.path("state.npz");
  StatusOr<Session> first = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(first);
  std::vector<float> head = slice(0, 8), tail = slice(8, 14);
  writeArray(inPath, DType::F32, {2, 8, kD}, head.data());
  ASSERT_TRUE(first->run(inPath, dir.path("out1.npy")));
  Status saved = first->saveState(statePath);
  ASSERT_TRUE(saved) << saved.message();

  StatusOr<Session> second = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(second);
  Status loaded = second->loadState(statePath);
  ASSERT_TRUE(loaded) << loaded.message();
  EXPECT_EQ(second->position(), 8);
  calls.clear();
  writeArray(inPath, DType::F32, {2, 6, kD}, tail.data());
  ASSERT_TRUE(second->run(inPath, dir.path("out2.npy")));
  EXPECT_EQ(calls[0].position, 8);
  EXPECT_EQ(second->position(), 14);

  std::vector<float> out1 = readOutput(dir.path("out1.npy"));
  std::vector<float> out2 = readOutput(dir.path("out2.npy"));
  std::vector<float> joined;
  for (int64_t b = 0; b < 2; ++b) {
    joined.insert(joined.end(), out1.begin() + b * 8 * kD,
                  out1.begin() + (b + 1) * 8 * kD);
    joined.insert(joined.end(), out2.begin() + b * 6 * kD,
                  out2.begin() + (b + 1) * 6 * kD);
  }
  EXPECT_EQ(joined, expected);
}

TEST_F(SessionTest, StateFileLayout) {
  StatusOr<Session> session = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(session);
  writeHiddenInput(inPath, 2, 5);
  ASSERT_TRUE(session->run(inPath, outPath));
  std::string statePath = dir.path("state.npz");
  ASSERT_TRUE(session->saveState(statePath));
  StatusOr<std::map<std::string, Tensor>> arrays = readNpz(statePath);
  ASSERT_TRUE(arrays);
  ASSERT_EQ(arrays->size(), 2u);
  const Tensor &position = (*arrays)["position"];
  EXPECT_EQ(position.dtype(), DType::I64);
  EXPECT_EQ(position.rank(), 0);
  EXPECT_EQ(*position.dataAs<int64_t>(), 5);
  const Tensor &norm = (*arrays)["layers.0.norm"];
  EXPECT_EQ(norm.dtype(), DType::F32);
  EXPECT_EQ(norm.shape(), (std::vector<int64_t>{2, 1, kD}));

  ASSERT_TRUE(session->resetState().isOk());
  EXPECT_EQ(session->position(), 0);
  ASSERT_TRUE(session->loadState(statePath));
  EXPECT_EQ(session->position(), 5);
}

TEST_F(SessionTest, StateWithoutMemoryKeepsPosition) {
  StatusOr<Session> session = makeSession(idStepFunction(), 1);
  ASSERT_TRUE(session);
  std::vector<int32_t> ids = {1, 2, 3, 4, 0, 1};
  writeArray(inPath, DType::I32, {1, 6}, ids.data());
  ASSERT_TRUE(session->run(inPath, outPath));
  std::string statePath = dir.path("state.npz");
  ASSERT_TRUE(session->saveState(statePath));
  StatusOr<Session> restored = makeSession(idStepFunction(), 1);
  ASSERT_TRUE(restored);
  ASSERT_TRUE(restored->loadState(statePath));
  EXPECT_EQ(restored->position(), 6);
}

TEST_F(SessionTest, StateLoadErrors) {
  std::string statePath = dir.path("state.npz");
  StatusOr<Session> single = makeSession(hiddenStepFunction(), 1);
  ASSERT_TRUE(single);
  ASSERT_TRUE(single->saveState(statePath));

  StatusOr<Session> session = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(session);
  writeHiddenInput(inPath, 2, 3);
  ASSERT_TRUE(session->run(inPath, outPath));
  auto loadError = [&] {
    Status status = session->loadState(statePath);
    return status ? std::string() : status.message();
  };
  EXPECT_EQ(loadError(), statePath +
                             ": 'layers.0.norm' has shape [1, 1, 3], expected "
                             "[2, 1, 3] (saved with batch size 1, but this "
                             "session's batch size is 2)");

  StatusOr<Tensor> norm = Tensor::zeros(DType::F32, {2, 1, kD});
  StatusOr<Tensor> norm64 = Tensor::zeros(DType::F64, {2, 1, kD});
  StatusOr<Tensor> position = Tensor::zeros(DType::I64, {});
  StatusOr<Tensor> position32 = Tensor::zeros(DType::I32, {1});
  StatusOr<Tensor> extra = Tensor::zeros(DType::F32, {2});
  ASSERT_TRUE(norm && norm64 && position && position32 && extra);

  ASSERT_TRUE(writeNpz(statePath, {{"position", &*position}}));
  EXPECT_EQ(loadError(), statePath + ": missing 'layers.0.norm' (expected "
                                     "float32 [2, 1, 3])");
  ASSERT_TRUE(writeNpz(statePath, {{"layers.0.norm", &*norm}}));
  EXPECT_EQ(loadError(),
            statePath + ": missing 'position' (expected int64 scalar)");
  ASSERT_TRUE(writeNpz(
      statePath, {{"layers.0.norm", &*norm64}, {"position", &*position}}));
  EXPECT_EQ(loadError(), statePath + ": 'layers.0.norm' has dtype float64, "
                                     "expected float32");
  ASSERT_TRUE(writeNpz(
      statePath, {{"layers.0.norm", &*norm}, {"position", &*position32}}));
  EXPECT_EQ(loadError(), statePath + ": 'position' is int32 [1], expected an "
                                     "int64 scalar (shape [])");
  ASSERT_TRUE(writeNpz(statePath, {{"layers.0.norm", &*norm},
                                   {"layers.1.norm", &*extra},
                                   {"position", &*position}}));
  EXPECT_EQ(loadError(), statePath + ": unexpected key 'layers.1.norm' (this "
                                     "model's state has 1 tensors plus "
                                     "'position')");
  *position->dataAs<int64_t>() = -4;
  ASSERT_TRUE(writeNpz(statePath,
                       {{"layers.0.norm", &*norm}, {"position", &*position}}));
  EXPECT_EQ(loadError(), statePath + ": 'position' is negative (-4)");
  writeFile(statePath, "garbage");
  EXPECT_EQ(loadError(), statePath + ": not a zip archive (7 bytes)");

  // Failed loads changed nothing.
  EXPECT_EQ(session->position(), 3);
}

namespace {
int prepareCalls = 0;

/// prepare(w [D]) -> prepared.0 [D] = 3 w.
void tripleWeights(void **args) {
  View w(args, 0, 1), prepared(args, 1, 1);
  for (int64_t d = 0; d < w.sizes[0]; ++d)
    prepared.f32()[d] = 3.0f * w.f32()[d];
  ++prepareCalls;
}

/// out = in * prepared, elementwise over D.
void scaleByPrepared(const View &in, const View &prepared, const View &out) {
  int64_t B = in.sizes[0], T = in.sizes[1], D = in.sizes[2];
  for (int64_t i = 0; i < B * T; ++i)
    for (int64_t d = 0; d < D; ++d)
      out.f32()[i * D + d] = in.f32()[i * D + d] * prepared.f32()[d];
}

void preparedStep(void **args) {
  scaleByPrepared(View(args, 0, 3), View(args, 4, 1), View(args, 5, 3));
}

/// The step without the weight argument, which only prepare reads.
void preparedOnlyStep(void **args) {
  scaleByPrepared(View(args, 0, 3), View(args, 3, 1), View(args, 4, 3));
}

StepFunction preparedStepFunction() {
  StepFunction step;
  step.invoke = preparedStep;
  step.args = {
      {ArgRole::Input, "input", ElementType::F32, {kDynamicDim, kT, kD}},
      {ArgRole::Position, "position", ElementType::I64, {}},
      {ArgRole::ValidLength, "valid_length", ElementType::I64, {}},
      {ArgRole::Weight, "w", ElementType::F32, {kD}},
      {ArgRole::Prepared, "prepared.0", ElementType::F32, {kD}},
      {ArgRole::Output, "output", ElementType::F32, {kDynamicDim, kT, kD}},
  };
  step.prepare = tripleWeights;
  step.prepareArgs = {
      {ArgRole::Weight, "w", ElementType::F32, {kD}},
      {ArgRole::PreparedOut, "prepared.0", ElementType::F32, {kD}},
  };
  return step;
}
} // namespace

TEST_F(SessionTest, PrepareRunsOnceAndFeedsEveryStep) {
  prepareCalls = 0;
  std::vector<float> input = writeHiddenInput(inPath, 2, 9);
  StatusOr<Session> session = makeSession(preparedStepFunction(), 2);
  ASSERT_TRUE(session) << session.status().message();
  ASSERT_TRUE(session->run(inPath, outPath));
  EXPECT_EQ(prepareCalls, 1);
  std::vector<float> output = readOutput(outPath);
  ASSERT_EQ(output.size(), input.size());
  for (size_t i = 0; i < input.size(); ++i)
    EXPECT_FLOAT_EQ(output[i], input[i] * 3.0f * weights[i % kD]) << i;
}

TEST_F(SessionTest, PrepareErrors) {
  StepFunction noPrepare = preparedStepFunction();
  noPrepare.prepare = nullptr;
  EXPECT_THAT(createError(std::move(noPrepare)),
              HasSubstr("reads prepared tensors but there is none"));

  StepFunction unknownWeight = preparedStepFunction();
  unknownWeight.prepareArgs[0].name = "missing";
  EXPECT_THAT(createError(std::move(unknownWeight)),
              HasSubstr("missing weight 'missing'"));

  StepFunction otherShape = preparedStepFunction();
  otherShape.prepareArgs[0].shape = {kD, 1};
  EXPECT_THAT(createError(std::move(otherShape)),
              HasSubstr("prepare function: weight 'w' differs from the "
                        "step's"));

  StepFunction wrongShape = preparedStepFunction();
  wrongShape.prepareArgs[1].shape = {kD + 1};
  EXPECT_THAT(createError(std::move(wrongShape)),
              HasSubstr("does not match its output"));

  StepFunction wrongType = preparedStepFunction();
  wrongType.prepareArgs[1].elementType = ElementType::F16;
  EXPECT_THAT(createError(std::move(wrongType)),
              HasSubstr("does not match its output"));

  StepFunction integerPrepared = preparedStepFunction();
  integerPrepared.args[4].elementType = ElementType::I32;
  EXPECT_THAT(createError(std::move(integerPrepared)),
              HasSubstr("prepared tensors are f32, f16 or bf16"));

  StepFunction unwritten = preparedStepFunction();
  unwritten.prepareArgs.pop_back();
  EXPECT_THAT(createError(std::move(unwritten)),
              HasSubstr("does not write every prepared tensor"));
}

//===----------------------------------------------------------------------===//
// Steps on a device
//===----------------------------------------------------------------------===//

namespace {
/// Device memory in separate host allocations, counting every transfer,
/// with an error that finish() can be told to report.
class FakeDevice final : public DeviceMemory {
public:
  std::string name() const override { return "fake device"; }
  StatusOr<void *> allocate(size_t bytes) override {
    void *pointer = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    std::memset(pointer, 0, bytes);
    ++live;
    return pointer;
  }
  void release(void *pointer) override {
    std::free(pointer);
    --live;
  }
  Status upload(void *device, const void *host, size_t bytes) override {
    std::memcpy(device, host, bytes);
    uploads.push_back(bytes);
    return Status::ok();
  }
  Status download(void *host, const void *device, size_t bytes) override {
    std::memcpy(host, device, bytes);
    downloads.push_back(bytes);
    return Status::ok();
  }
  Status finish() override {
    ++finishes;
    return failNextFinish ? Status::error("fake device: kernel failed")
                          : Status::ok();
  }

  int live = 0;
  int finishes = 0;
  bool failNextFinish = false;
  std::vector<size_t> uploads;
  std::vector<size_t> downloads;
};
} // namespace

TEST_F(SessionTest, DeviceSessionMatchesHostAndKeepsStateOnDevice) {
  std::vector<float> input = writeHiddenInput(inPath, 2, 10);
  StatusOr<Session> host = makeSession(hiddenStepFunction(), 2);
  ASSERT_TRUE(host);
  ASSERT_TRUE(host->run(inPath, outPath));
  std::vector<float> expected = readOutput(outPath);

  auto device = std::make_shared<FakeDevice>();
  StepFunction step = hiddenStepFunction();
  step.device = device;
  {
    StatusOr<Session> session = makeSession(std::move(step), 2);
    ASSERT_TRUE(session) << session.status().message();
    // Weight, two state buffers, input and output segments.
    EXPECT_EQ(device->live, 5);
    size_t setupUploads = device->uploads.size();
    ASSERT_TRUE(session->run(inPath, outPath));
    EXPECT_EQ(readOutput(outPath), expected);
    // Per segment: the input goes up, the output comes down; nothing else.
    size_t segmentBytes = size_t(2 * kT * kD) * sizeof(float);
    EXPECT_EQ(device->uploads.size(), setupUploads + 3);
    EXPECT_EQ(device->downloads, std::vector<size_t>(3, segmentBytes));
    EXPECT_EQ(device->finishes, 3);

    // The state stays on the device until saved, and then matches the
    // host session's.
    std::string statePath = dir.path("state.npz");
    ASSERT_TRUE(session->saveState(statePath));
    EXPECT_EQ(device->downloads.size(), 4u);
    ASSERT_TRUE(host->saveState(dir.path("host-state.npz")));
    StatusOr<std::map<std::string, Tensor>> fromDevice = readNpz(statePath);
    StatusOr<std::map<std::string, Tensor>> fromHost =
        readNpz(dir.path("host-state.npz"));
    ASSERT_TRUE(fromDevice && fromHost);
    const Tensor &deviceState = (*fromDevice)["layers.0.norm"];
    const Tensor &hostState = (*fromHost)["layers.0.norm"];
    ASSERT_EQ(deviceState.byteSize(), hostState.byteSize());
    EXPECT_EQ(
        std::memcmp(deviceState.data(), hostState.data(), hostState.byteSize()),
        0);
  }
  EXPECT_EQ(device->live, 0);
}

TEST_F(SessionTest, DeviceErrorsFailTheRunAndLeaveNoOutput) {
  writeHiddenInput(inPath, 2, 10);
  auto device = std::make_shared<FakeDevice>();
  StepFunction step = hiddenStepFunction();
  step.device = device;
  StatusOr<Session> session = makeSession(std::move(step), 2);
  ASSERT_TRUE(session);
  device->failNextFinish = true;
  Status status = session->run(inPath, outPath);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.message(), HasSubstr("fake device: kernel failed"));
  EXPECT_EQ(dir.list(),
            (std::vector<std::string>{"in.npy", "model.safetensors"}));
}

TEST_F(SessionTest, PrepareRunsOnTheDevice) {
  std::vector<float> input = writeHiddenInput(inPath, 2, 9);
  auto device = std::make_shared<FakeDevice>();
  StepFunction step = preparedStepFunction();
  step.device = device;
  StatusOr<Session> session = makeSession(std::move(step), 2);
  ASSERT_TRUE(session) << session.status().message();
  ASSERT_TRUE(session->run(inPath, outPath));
  std::vector<float> output = readOutput(outPath);
  ASSERT_EQ(output.size(), input.size());
  for (size_t i = 0; i < input.size(); ++i)
    EXPECT_FLOAT_EQ(output[i], input[i] * 3.0f * weights[i % kD]) << i;
}

TEST_F(SessionTest, WeightsOnlyPrepareReadsAreReleased) {
  std::vector<float> input = writeHiddenInput(inPath, 2, 9);
  auto device = std::make_shared<FakeDevice>();
  StepFunction step = preparedStepFunction();
  step.invoke = preparedOnlyStep;
  step.args.erase(step.args.begin() + 3);
  step.device = device;
  StatusOr<Session> session = makeSession(std::move(step), 2);
  ASSERT_TRUE(session) << session.status().message();
  // Input, output and the prepared tensor stay; the weight is gone.
  EXPECT_EQ(device->live, 3);
  ASSERT_TRUE(session->run(inPath, outPath));
  std::vector<float> output = readOutput(outPath);
  ASSERT_EQ(output.size(), input.size());
  for (size_t i = 0; i < input.size(); ++i)
    EXPECT_FLOAT_EQ(output[i], input[i] * 3.0f * weights[i % kD]) << i;
}
