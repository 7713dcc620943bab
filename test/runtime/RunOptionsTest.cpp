//===- RunOptionsTest.cpp - infini-run's command line ---------------------===//

#include "runtime/RunOptions.h"

#include "TestUtil.h"

using namespace infini::rt;
using ::testing::HasSubstr;

namespace {
std::string errorOf(const std::vector<std::string> &args) {
  StatusOr<RunOptions> options = parseRunOptions(args);
  return options ? std::string("(no error)") : options.status().message();
}
} // namespace

TEST(RunOptionsTest, ParsesEveryFlagInBothSpellings) {
  StatusOr<RunOptions> options = parseRunOptions({"model.infini",
                                                  "--weights",
                                                  "w.safetensors",
                                                  "--input=in.npy",
                                                  "-output=out.npy",
                                                  "--state-in",
                                                  "s0.npz",
                                                  "--state-out=s1.npz",
                                                  "--dump-ir-dir=ir",
                                                  "--time",
                                                  "--num-threads=3",
                                                  "--fuse-attention=false",
                                                  "--fuse-swiglu=false",
                                                  "--fuse-rope=0",
                                                  "--vectorize=0",
                                                  "--target=cuda",
                                                  "--chip",
                                                  "sm_90",
                                                  "--tensor-cores=f16",
                                                  "--emulate-gpu",
                                                  "--cuda-graphs=false"});
  ASSERT_TRUE(options) << options.status().message();
  EXPECT_EQ(options->model.modelPath, "model.infini");
  EXPECT_EQ(options->weightsPath, "w.safetensors");
  EXPECT_EQ(options->inputPath, "in.npy");
  EXPECT_EQ(options->outputPath, "out.npy");
  EXPECT_EQ(options->stateInPath, "s0.npz");
  EXPECT_EQ(options->stateOutPath, "s1.npz");
  EXPECT_EQ(options->model.dumpDirectory, "ir");
  EXPECT_TRUE(options->printTiming);
  EXPECT_EQ(options->threadCount, 3u);
  EXPECT_FALSE(options->model.fuseAttention);
  EXPECT_FALSE(options->model.fuseSwiGLU);
  EXPECT_FALSE(options->model.fuseRope);
  EXPECT_FALSE(options->model.vectorize);
  EXPECT_EQ(options->model.target, Target::Cuda);
  EXPECT_EQ(options->model.chip, "sm_90");
  EXPECT_EQ(options->model.tensorCores, "f16");
  EXPECT_TRUE(options->model.emulateGPU);
  EXPECT_FALSE(options->cudaGraphs);
}

TEST(RunOptionsTest, Defaults) {
  StatusOr<RunOptions> options = parseRunOptions(
      {"m.json", "--weights=w", "--input=i.npy", "--output=o.npy"});
  ASSERT_TRUE(options);
  EXPECT_TRUE(options->model.fuseAttention);
  EXPECT_TRUE(options->model.fuseSwiGLU);
  EXPECT_TRUE(options->model.fuseRope);
  EXPECT_TRUE(options->model.vectorize);
  EXPECT_FALSE(options->printTiming);
  EXPECT_EQ(options->threadCount, 0u);
  EXPECT_EQ(options->model.target, Target::Cpu);
  EXPECT_EQ(options->model.tensorCores, "none");
  EXPECT_FALSE(options->model.emulateGPU);
  EXPECT_TRUE(options->cudaGraphs);
  EXPECT_TRUE(options->stateInPath.empty());
}

TEST(RunOptionsTest, HelpNeedsNothingElse) {
  StatusOr<RunOptions> options = parseRunOptions({"--help"});
  ASSERT_TRUE(options);
  EXPECT_TRUE(options->showHelp);
  EXPECT_THAT(usageText(), HasSubstr("USAGE: infini-run [options] "
                                     "<model.json|model.mlir|model.infini>"));
  EXPECT_THAT(usageText(), HasSubstr("--weights=<file>"));
}

TEST(RunOptionsTest, ErrorsNameTheFlag) {
  std::vector<std::string> base = {"m.json", "--weights=w", "--input=i.npy",
                                   "--output=o.npy"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return errorOf(args);
  };
  EXPECT_THAT(with({"--bogus"}), HasSubstr("unknown option '--bogus'"));
  EXPECT_THAT(with({"--num-threads=-2"}),
              HasSubstr("--num-threads expects a thread count"));
  EXPECT_THAT(with({"--num-threads=two"}),
              HasSubstr("--num-threads expects a thread count"));
  EXPECT_THAT(with({"--time=maybe"}),
              HasSubstr("--time expects true or false, got 'maybe'"));
  EXPECT_THAT(with({"--target=tpu"}),
              HasSubstr("--target expects cpu or cuda, got 'tpu'"));
  EXPECT_THAT(
      with({"--target=cuda", "--tensor-cores=tf32"}),
      HasSubstr(
          "--tensor-cores expects none, f16, bf16 or tf32x3, got 'tf32'"));
  EXPECT_THAT(with({"--tensor-cores=f16"}),
              HasSubstr("--tensor-cores needs --target=cuda"));
  EXPECT_THAT(with({"--emulate-gpu"}),
              HasSubstr("--emulate-gpu needs --target=cuda"));
  EXPECT_THAT(with({"--state-in"}), HasSubstr("--state-in expects a value"));
  EXPECT_THAT(with({"--weights="}),
              HasSubstr("--weights expects a non-empty file"));
  EXPECT_THAT(with({"other.json"}),
              HasSubstr("expected one model, got 'm.json' and 'other.json'"));
  EXPECT_THAT(errorOf({"--weights=w", "--input=i", "--output=o"}),
              HasSubstr("expected a model"));
  EXPECT_THAT(errorOf({"m.json", "--input=i", "--output=o"}),
              HasSubstr("missing --weights=<file>"));
}
