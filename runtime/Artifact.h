//===- Artifact.h - Compiled models that run without a compiler -*- C++ -*-===//
//
// An artifact (`MODEL.infini`, written by infini-compile) holds everything the
// runtime needs to run a model with no MLIR or LLVM in the process: the host
// code as a shared library, the libraries it needs that a bare machine may
// lack (the OpenMP runtime), GPU kernels for a CUDA target, and a manifest of
// the step's arguments (weights with their shapes, state, input, output).
//
// Layout, all integers little-endian:
//   bytes 0..7    magic "INFINIAR"
//   bytes 8..11   format version (kArtifactVersion)
//   bytes 12..15  zero
//   bytes 16..23  manifest length M
//   bytes 24..    manifest: M bytes of JSON (see docs/Artifacts.md)
//   then each section's bytes at the 64-byte aligned offset the manifest
//   gives.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_ARTIFACT_H
#define INFINI_RUNTIME_ARTIFACT_H

#include "runtime/Status.h"
#include "runtime/StepFunction.h"

#include <cstdint>
#include <string>
#include <vector>

namespace infini::rt {

constexpr uint32_t kArtifactVersion = 1;

/// What a section of an artifact holds.
enum class SectionKind {
  /// The compiled host code: a shared library exporting the step's entry
  /// points (and, for CUDA, launching the embedded kernels).
  HostLibrary,
  /// A shared library the host code needs, loaded before it (libomp).
  Dependency,
  /// GPU kernels as a CUDA fatbinary (cubin for the chip, PTX for the
  /// driver to JIT on newer ones); the host library embeds its own copy.
  CudaFatbin,
  /// The kernels' PTX text (a model compiled with PTX-only kernels).
  Ptx,
};

/// The manifest: everything about an artifact except its section bytes.
struct ArtifactManifest {
  Target target = Target::Cpu;
  /// The model file it was compiled from (informational).
  std::string model;
  /// CPU the host code was tuned for ("skylake-avx512"); GPU chip for CUDA
  /// ("sm_80").
  std::string hostCpu;
  std::string chip;
  /// Symbols of the packed entry points in the host library; the prepare
  /// symbol is empty when the step reads no prepared tensors.
  std::string stepSymbol;
  std::string prepareSymbol;
  std::vector<ArgSpec> stepArgs;
  std::vector<ArgSpec> prepareArgs;
};

/// One section to write.
struct ArtifactSection {
  SectionKind kind;
  /// File name the section stands for ("host.so", "libomp.so.5").
  std::string name;
  std::vector<char> bytes;
};

/// Writes an artifact to `path` atomically: no partial file is left behind
/// on failure. There must be exactly one HostLibrary section.
Status writeArtifact(const std::string &path, const ArtifactManifest &manifest,
                     const std::vector<ArtifactSection> &sections);

/// A section as found in an artifact file.
struct ArtifactSectionInfo {
  SectionKind kind;
  std::string name;
  uint64_t offset = 0;
  uint64_t size = 0;
};

/// An artifact's manifest and section table, validated: every section lies
/// inside the file, every argument has a known role and element type.
struct ArtifactInfo {
  std::string path;
  ArtifactManifest manifest;
  std::vector<ArtifactSectionInfo> sections;
};

/// Reads and validates the header and manifest of the artifact at `path`.
/// Errors name the file and what was expected.
StatusOr<ArtifactInfo> readArtifactInfo(const std::string &path);

/// Reads the bytes of `section` of the artifact at `info.path`.
StatusOr<std::vector<char>> readArtifactSection(const ArtifactInfo &info,
                                                const ArtifactSectionInfo &s);

/// Loads an artifact's host code (and its dependencies) into this process
/// and returns its step. A CUDA artifact first opens the CUDA device
/// (CudaBackend.h); without a driver or device that is the error.
StatusOr<StepFunction> loadArtifact(const ArtifactInfo &info);

/// Whether `path` names an artifact (by its extension, ".infini").
bool isArtifactPath(const std::string &path);

} // namespace infini::rt

#endif // INFINI_RUNTIME_ARTIFACT_H
