//===- ArtifactTest.cpp - Artifact files: layout, validation, loading -----===//

#include "runtime/Artifact.h"
#include "runtime/File.h"

#include "TestUtil.h"

#include <dlfcn.h>

using namespace infini::rt;
using namespace infini::rt::test;
using ::testing::HasSubstr;

namespace {
ArtifactManifest sampleManifest() {
  ArtifactManifest manifest;
  manifest.target = Target::Cuda;
  manifest.model = "tiny.json";
  manifest.hostCpu = "x86-64-v3";
  manifest.chip = "sm_90";
  manifest.stepSymbol = "_mlir_ciface_step";
  manifest.prepareSymbol = "_mlir_ciface_step_prepare";
  manifest.stepArgs = {
      {ArgRole::Input, "input", ElementType::I32, {kDynamicDim, 16}},
      {ArgRole::Position, "position", ElementType::I64, {}},
      {ArgRole::Weight, "embed.weight", ElementType::F32, {32, 8}},
      {ArgRole::StateIn,
       "layers.0.memory",
       ElementType::F32,
       {kDynamicDim, 2, 4, 4}},
      {ArgRole::Output, "output", ElementType::F32, {kDynamicDim, 16, 32}},
      {ArgRole::StateOut,
       "layers.0.memory",
       ElementType::F32,
       {kDynamicDim, 2, 4, 4}},
      {ArgRole::Prepared, "prepared.0", ElementType::F32, {8, 32}},
      {ArgRole::Prepared, "prepared.1", ElementType::BF16, {32, 8}}};
  manifest.prepareArgs = {
      {ArgRole::Weight, "embed.weight", ElementType::F32, {32, 8}},
      {ArgRole::PreparedOut, "prepared.0", ElementType::F32, {8, 32}},
      {ArgRole::PreparedOut, "prepared.1", ElementType::BF16, {32, 8}}};
  return manifest;
}

std::vector<char> bytesOf(const std::string &text) {
  return std::vector<char>(text.begin(), text.end());
}
} // namespace

TEST(ArtifactTest, RoundTripsManifestAndSections) {
  TempDir dir;
  std::string path = dir.path("model.infini");
  std::vector<ArtifactSection> sections = {
      {SectionKind::HostLibrary, "host.so", bytesOf("host code")},
      {SectionKind::Dependency, "libomp.so.5", bytesOf("openmp")},
      {SectionKind::Ptx, "kernels.ptx", bytesOf(".version 8.0")}};
  ASSERT_TRUE(writeArtifact(path, sampleManifest(), sections));

  StatusOr<ArtifactInfo> info = readArtifactInfo(path);
  ASSERT_TRUE(info) << info.status().message();
  const ArtifactManifest &manifest = info->manifest;
  ArtifactManifest expected = sampleManifest();
  EXPECT_EQ(manifest.target, Target::Cuda);
  EXPECT_EQ(manifest.model, "tiny.json");
  EXPECT_EQ(manifest.chip, "sm_90");
  EXPECT_EQ(manifest.hostCpu, "x86-64-v3");
  EXPECT_EQ(manifest.stepSymbol, expected.stepSymbol);
  EXPECT_EQ(manifest.prepareSymbol, expected.prepareSymbol);
  ASSERT_EQ(manifest.stepArgs.size(), expected.stepArgs.size());
  for (size_t i = 0; i < expected.stepArgs.size(); ++i) {
    EXPECT_EQ(manifest.stepArgs[i].role, expected.stepArgs[i].role) << i;
    EXPECT_EQ(manifest.stepArgs[i].name, expected.stepArgs[i].name) << i;
    EXPECT_EQ(manifest.stepArgs[i].elementType,
              expected.stepArgs[i].elementType)
        << i;
    EXPECT_EQ(manifest.stepArgs[i].shape, expected.stepArgs[i].shape) << i;
  }
  ASSERT_EQ(manifest.prepareArgs.size(), 3u);
  EXPECT_EQ(manifest.prepareArgs[1].role, ArgRole::PreparedOut);

  ASSERT_EQ(info->sections.size(), 3u);
  for (size_t i = 0; i < sections.size(); ++i) {
    EXPECT_EQ(info->sections[i].kind, sections[i].kind);
    EXPECT_EQ(info->sections[i].name, sections[i].name);
    EXPECT_EQ(info->sections[i].offset % 64, 0u);
    StatusOr<std::vector<char>> bytes =
        readArtifactSection(*info, info->sections[i]);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, sections[i].bytes);
  }
}

TEST(ArtifactTest, WriterNeedsOneHostLibraryAndLeavesNoFile) {
  TempDir dir;
  std::string path = dir.path("model.infini");
  Status status = writeArtifact(path, sampleManifest(), {});
  ASSERT_FALSE(status);
  EXPECT_THAT(status.message(), HasSubstr("exactly one host library"));
  EXPECT_TRUE(dir.list().empty());
}

TEST(ArtifactTest, RejectsCorruptFiles) {
  TempDir dir;
  std::string good = dir.path("good.infini");
  ASSERT_TRUE(writeArtifact(good, sampleManifest(),
                            {{SectionKind::HostLibrary, "host.so",
                              bytesOf(std::string(1000, 'x'))}}));
  std::string bytes = readFile(good);
  auto errorFor = [&](const std::string &content) {
    std::string path = dir.path("bad.infini");
    writeFile(path, content);
    StatusOr<ArtifactInfo> info = readArtifactInfo(path);
    return info ? std::string("(no error)") : info.status().message();
  };

  EXPECT_THAT(errorFor("not an artifact at all"),
              HasSubstr("bad.infini: not an infini artifact"));
  EXPECT_THAT(errorFor(bytes.substr(0, 10)),
              HasSubstr("not an infini artifact"));
  std::string wrongVersion = bytes;
  wrongVersion[8] = 7;
  EXPECT_THAT(errorFor(wrongVersion),
              HasSubstr("artifact format version 7, this runtime reads 1"));
  std::string hugeManifest = bytes;
  hugeManifest[22] = 0x7f;
  EXPECT_THAT(errorFor(hugeManifest),
              HasSubstr("runs past the end of the file"));
  // Truncated: the host library section no longer fits.
  EXPECT_THAT(errorFor(bytes.substr(0, bytes.size() - 100)),
              HasSubstr("section 0 ('host.so', 1000 bytes at"));
  std::string badJson = bytes;
  badJson[24] = '[';
  badJson[25] = '}';
  EXPECT_THAT(errorFor(badJson), HasSubstr("manifest is not valid JSON"));
  std::string badRole = bytes;
  size_t role = badRole.find("\"state_in\"");
  ASSERT_NE(role, std::string::npos);
  badRole.replace(role, 10, "\"state_xx\"");
  EXPECT_THAT(errorFor(badRole),
              HasSubstr("manifest step_args[3]: expected {role, name, dtype, "
                        "shape} with a known role and dtype"));
  EXPECT_THAT(errorFor(bytes), HasSubstr("(no error)"));
}

TEST(ArtifactTest, LoadingReportsABadHostLibrary) {
  TempDir dir;
  std::string path = dir.path("model.infini");
  ArtifactManifest manifest = sampleManifest();
  manifest.target = Target::Cpu;
  ASSERT_TRUE(writeArtifact(
      path, manifest,
      {{SectionKind::HostLibrary, "host.so", bytesOf("not an ELF file")}}));
  StatusOr<ArtifactInfo> info = readArtifactInfo(path);
  ASSERT_TRUE(info);
  StatusOr<StepFunction> step = loadArtifact(*info);
  ASSERT_FALSE(step);
  EXPECT_THAT(step.status().message(),
              HasSubstr("model.infini: section 'host.so': cannot load"));
}

TEST(ArtifactTest, CudaArtifactWithoutDriverSaysSo) {
  if (void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(driver);
    GTEST_SKIP() << "a CUDA driver is present";
  }
  TempDir dir;
  std::string path = dir.path("model.infini");
  ASSERT_TRUE(writeArtifact(
      path, sampleManifest(),
      {{SectionKind::HostLibrary, "host.so", bytesOf("unused")}}));
  StatusOr<ArtifactInfo> info = readArtifactInfo(path);
  ASSERT_TRUE(info);
  StatusOr<StepFunction> step = loadArtifact(*info);
  ASSERT_FALSE(step);
  EXPECT_THAT(step.status().message(),
              HasSubstr("model.infini: this artifact is for CUDA (sm_90), but "
                        "no CUDA driver found"));
}
