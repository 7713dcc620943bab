//===- Artifact.cpp - Compiled models that run without a compiler ---------===//
//
// Part of the Infini runtime; see Artifact.h. Shared libraries are loaded
// from anonymous memory files (memfd), so running an artifact writes nothing
// to disk and needs no writable directory.
//
//===----------------------------------------------------------------------===//

#include "runtime/Artifact.h"

#include "runtime/CudaBackend.h"
#include "runtime/File.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace infini::rt;
using json = nlohmann::json;

static const char kMagic[8] = {'I', 'N', 'F', 'I', 'N', 'I', 'A', 'R'};
constexpr uint64_t kHeaderSize = 24;
constexpr uint64_t kSectionAlignment = 64;
/// Far above any real manifest; guards against a corrupt length.
constexpr uint64_t kMaxManifestSize = uint64_t(64) << 20;

bool infini::rt::isArtifactPath(const std::string &path) {
  static const std::string extension = ".infini";
  return path.size() > extension.size() &&
         path.compare(path.size() - extension.size(), extension.size(),
                      extension) == 0;
}

//===----------------------------------------------------------------------===//
// Names in the manifest
//===----------------------------------------------------------------------===//

namespace {
template <typename Enum> struct NamedValue {
  Enum value;
  const char *name;
};
} // namespace

static const NamedValue<ArgRole> kRoleNames[] = {
    {ArgRole::Input, "input"},
    {ArgRole::Position, "position"},
    {ArgRole::ValidLength, "valid_length"},
    {ArgRole::Weight, "weight"},
    {ArgRole::StateIn, "state_in"},
    {ArgRole::Output, "output"},
    {ArgRole::StateOut, "state_out"},
    {ArgRole::Prepared, "prepared"},
    {ArgRole::PreparedOut, "prepared_out"}};
static const NamedValue<ElementType> kElementTypeNames[] = {
    {ElementType::F32, "f32"},
    {ElementType::I32, "i32"},
    {ElementType::I64, "i64"},
    {ElementType::F16, "f16"},
    {ElementType::BF16, "bf16"}};
static const NamedValue<SectionKind> kSectionKindNames[] = {
    {SectionKind::HostLibrary, "host_library"},
    {SectionKind::Dependency, "dependency"},
    {SectionKind::CudaFatbin, "cuda_fatbin"},
    {SectionKind::Ptx, "ptx"}};
static const NamedValue<Target> kTargetNames[] = {{Target::Cpu, "cpu"},
                                                  {Target::Cuda, "cuda"}};

template <typename Enum, size_t N>
static const char *nameOf(const NamedValue<Enum> (&table)[N], Enum value) {
  for (const NamedValue<Enum> &entry : table)
    if (entry.value == value)
      return entry.name;
  return "?";
}

template <typename Enum, size_t N>
static bool valueOf(const NamedValue<Enum> (&table)[N], const json &node,
                    Enum &value) {
  if (!node.is_string())
    return false;
  for (const NamedValue<Enum> &entry : table)
    if (node.get<std::string>() == entry.name) {
      value = entry.value;
      return true;
    }
  return false;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

static json argsToJson(const std::vector<ArgSpec> &args) {
  json list = json::array();
  for (const ArgSpec &arg : args)
    list.push_back({{"role", nameOf(kRoleNames, arg.role)},
                    {"name", arg.name},
                    {"dtype", nameOf(kElementTypeNames, arg.elementType)},
                    {"shape", arg.shape}});
  return list;
}

static uint64_t alignUp(uint64_t value) {
  return (value + kSectionAlignment - 1) / kSectionAlignment *
         kSectionAlignment;
}

Status infini::rt::writeArtifact(const std::string &path,
                                 const ArtifactManifest &manifest,
                                 const std::vector<ArtifactSection> &sections) {
  size_t hostLibraries = 0;
  for (const ArtifactSection &section : sections)
    hostLibraries += section.kind == SectionKind::HostLibrary;
  if (hostLibraries != 1)
    return Status::error(path +
                         ": an artifact needs exactly one host library "
                         "section, got " +
                         std::to_string(hostLibraries));

  // Section offsets depend on the manifest's length, which depends on the
  // offsets: lay out with a fixed-width reserve, then pad the manifest.
  json root = {{"format", "infini-artifact"},
               {"version", kArtifactVersion},
               {"target", nameOf(kTargetNames, manifest.target)},
               {"model", manifest.model},
               {"host_cpu", manifest.hostCpu},
               {"chip", manifest.chip},
               {"step_symbol", manifest.stepSymbol},
               {"prepare_symbol", manifest.prepareSymbol},
               {"step_args", argsToJson(manifest.stepArgs)},
               {"prepare_args", argsToJson(manifest.prepareArgs)}};
  json table = json::array();
  for (const ArtifactSection &section : sections)
    table.push_back({{"kind", nameOf(kSectionKindNames, section.kind)},
                     {"name", section.name},
                     {"offset", uint64_t(0)},
                     {"size", uint64_t(section.bytes.size())}});
  root["sections"] = table;
  // Each offset is written with at most 20 digits: reserve that much.
  uint64_t reserve = root.dump(2).size() + 20 * sections.size() + 64;
  uint64_t offset = alignUp(kHeaderSize + reserve);
  for (size_t i = 0; i < sections.size(); ++i) {
    root["sections"][i]["offset"] = offset;
    offset = alignUp(offset + sections[i].bytes.size());
  }
  std::string text = root.dump(2);
  text.resize(reserve, ' ');

  StatusOr<AtomicFile> file = AtomicFile::create(path);
  if (!file)
    return file.status();
  unsigned char header[kHeaderSize] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  for (int i = 0; i < 4; ++i)
    header[8 + i] = (kArtifactVersion >> (8 * i)) & 0xff;
  for (int i = 0; i < 8; ++i)
    header[16 + i] = (uint64_t(text.size()) >> (8 * i)) & 0xff;
  INFINI_RETURN_IF_ERROR(file->writeAt(0, header, kHeaderSize));
  INFINI_RETURN_IF_ERROR(file->writeAt(kHeaderSize, text.data(), text.size()));
  for (size_t i = 0; i < sections.size(); ++i)
    INFINI_RETURN_IF_ERROR(
        file->writeAt(root["sections"][i]["offset"].get<uint64_t>(),
                      sections[i].bytes.data(), sections[i].bytes.size()));
  return file->commit();
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

static uint64_t readLittleEndian(const unsigned char *bytes, int count) {
  uint64_t value = 0;
  for (int i = count; i-- > 0;)
    value = (value << 8) | bytes[i];
  return value;
}

static bool readString(const json &object, const char *key,
                       std::string &value) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return false;
  value = it->get<std::string>();
  return true;
}

static bool readUnsigned(const json &node, uint64_t &value) {
  if (!node.is_number_unsigned())
    return false;
  value = node.get<uint64_t>();
  return true;
}

/// Parses an argument list; `what` names it in errors.
static Status argsFromJson(const json &object, const char *key,
                           const std::string &where,
                           std::vector<ArgSpec> &args) {
  auto list = object.find(key);
  if (list == object.end() || !list->is_array())
    return Status::error(where + ": manifest has no '" + key + "' list");
  for (size_t i = 0; i < list->size(); ++i) {
    const json &entry = (*list)[i];
    std::string what =
        where + ": manifest " + key + "[" + std::to_string(i) + "]";
    ArgSpec spec;
    if (!entry.is_object() || !valueOf(kRoleNames, entry["role"], spec.role) ||
        !readString(entry, "name", spec.name) ||
        !valueOf(kElementTypeNames, entry["dtype"], spec.elementType) ||
        !entry.contains("shape") || !entry["shape"].is_array())
      return Status::error(what + ": expected {role, name, dtype, shape} with "
                                  "a known role and dtype");
    for (const json &dim : entry["shape"]) {
      if (!dim.is_number_integer() || dim.get<int64_t>() < kDynamicDim)
        return Status::error(what + " ('" + spec.name +
                             "'): shape entries must be integers >= -1");
      spec.shape.push_back(dim.get<int64_t>());
    }
    args.push_back(std::move(spec));
  }
  return Status::ok();
}

StatusOr<ArtifactInfo> infini::rt::readArtifactInfo(const std::string &path) {
  StatusOr<ReadableFile> file = ReadableFile::open(path);
  if (!file)
    return file.status();
  unsigned char header[kHeaderSize];
  if (file->size() < kHeaderSize ||
      !file->readAt(0, header, kHeaderSize).isOk() ||
      std::memcmp(header, kMagic, sizeof(kMagic)) != 0)
    return Status::error(path + ": not an infini artifact (expected the "
                                "magic \"INFINIAR\"; write one with "
                                "infini-compile)");
  uint64_t version = readLittleEndian(header + 8, 4);
  if (version != kArtifactVersion)
    return Status::error(path + ": artifact format version " +
                         std::to_string(version) + ", this runtime reads " +
                         std::to_string(kArtifactVersion) +
                         " (recompile it with this infini-compile)");
  uint64_t manifestSize = readLittleEndian(header + 16, 8);
  if (manifestSize > kMaxManifestSize ||
      manifestSize > file->size() - kHeaderSize)
    return Status::error(path + ": manifest length " +
                         std::to_string(manifestSize) +
                         " runs past the end of the file (" +
                         std::to_string(file->size()) + " bytes)");
  std::string text(manifestSize, '\0');
  INFINI_RETURN_IF_ERROR(file->readAt(kHeaderSize, text.data(), manifestSize));
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    return Status::error(path + ": manifest is not valid JSON");

  ArtifactInfo info;
  info.path = path;
  ArtifactManifest &manifest = info.manifest;
  std::string format;
  if (!readString(root, "format", format) || format != "infini-artifact")
    return Status::error(path + ": manifest 'format' must be "
                                "\"infini-artifact\"");
  if (!valueOf(kTargetNames, root["target"], manifest.target))
    return Status::error(path + ": manifest 'target' must be \"cpu\" or "
                                "\"cuda\"");
  if (!readString(root, "model", manifest.model) ||
      !readString(root, "host_cpu", manifest.hostCpu) ||
      !readString(root, "chip", manifest.chip) ||
      !readString(root, "step_symbol", manifest.stepSymbol) ||
      !readString(root, "prepare_symbol", manifest.prepareSymbol) ||
      manifest.stepSymbol.empty())
    return Status::error(path + ": manifest needs the strings 'model', "
                                "'host_cpu', 'chip', 'prepare_symbol' and a "
                                "non-empty 'step_symbol'");
  INFINI_RETURN_IF_ERROR(
      argsFromJson(root, "step_args", path, manifest.stepArgs));
  INFINI_RETURN_IF_ERROR(
      argsFromJson(root, "prepare_args", path, manifest.prepareArgs));

  auto table = root.find("sections");
  if (table == root.end() || !table->is_array())
    return Status::error(path + ": manifest has no 'sections' list");
  size_t hostLibraries = 0;
  for (size_t i = 0; i < table->size(); ++i) {
    const json &entry = (*table)[i];
    std::string what = path + ": section " + std::to_string(i);
    ArtifactSectionInfo section;
    if (!entry.is_object() ||
        !valueOf(kSectionKindNames, entry["kind"], section.kind) ||
        !readString(entry, "name", section.name) ||
        !readUnsigned(entry["offset"], section.offset) ||
        !readUnsigned(entry["size"], section.size))
      return Status::error(what + ": expected {kind, name, offset, size} "
                                  "with a known kind");
    if (section.offset < kHeaderSize + manifestSize ||
        section.offset > file->size() ||
        section.size > file->size() - section.offset)
      return Status::error(
          what + " ('" + section.name + "', " + std::to_string(section.size) +
          " bytes at " + std::to_string(section.offset) +
          ") lies outside the file (" + std::to_string(file->size()) +
          " bytes): the artifact is truncated or corrupt");
    hostLibraries += section.kind == SectionKind::HostLibrary;
    info.sections.push_back(std::move(section));
  }
  if (hostLibraries != 1)
    return Status::error(path +
                         ": expected exactly one host_library "
                         "section, got " +
                         std::to_string(hostLibraries));
  return info;
}

StatusOr<std::vector<char>>
infini::rt::readArtifactSection(const ArtifactInfo &info,
                                const ArtifactSectionInfo &section) {
  StatusOr<ReadableFile> file = ReadableFile::open(info.path);
  if (!file)
    return file.status();
  std::vector<char> bytes(section.size);
  INFINI_RETURN_IF_ERROR(
      file->readAt(section.offset, bytes.data(), section.size));
  return bytes;
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

namespace {
/// Shared libraries loaded from one artifact, closed in reverse order, and
/// the memory files behind them. A memory file stays open while its library
/// is loaded: the dynamic loader knows a library by its path,
/// /proc/self/fd/N, and a reused N would alias a loaded library.
/// Dependencies (the OpenMP runtime) stay loaded, and their files open, for
/// the process's life: their worker threads may outlive the step.
struct LoadedLibraries {
  std::vector<std::pair<void *, int>> libraries;
  ~LoadedLibraries() {
    for (auto it = libraries.rbegin(); it != libraries.rend(); ++it) {
      dlclose(it->first);
      close(it->second);
    }
  }
};

/// A library loaded from memory and the memory file it was loaded from.
struct OpenedLibrary {
  void *handle;
  int fd;
};
} // namespace

/// dlopen()s `bytes` through an anonymous memory file.
static StatusOr<OpenedLibrary> openLibrary(const std::string &where,
                                           const std::vector<char> &bytes,
                                           int flags) {
  int fd = memfd_create("infini-artifact", MFD_CLOEXEC);
  if (fd < 0)
    return Status::error(where +
                         ": memfd_create failed: " + std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t count = write(fd, bytes.data() + written, bytes.size() - written);
    if (count <= 0) {
      close(fd);
      return Status::error(where + ": cannot stage the library in memory");
    }
    written += size_t(count);
  }
  std::string procPath = "/proc/self/fd/" + std::to_string(fd);
  void *handle = dlopen(procPath.c_str(), flags);
  if (!handle) {
    close(fd);
    return Status::error(where + ": cannot load: " + dlerror());
  }
  return OpenedLibrary{handle, fd};
}

StatusOr<StepFunction> infini::rt::loadArtifact(const ArtifactInfo &info) {
  const ArtifactManifest &manifest = info.manifest;
  StepFunction step;
  if (manifest.target == Target::Cuda) {
    // Loading the host library loads its kernels into the current context.
    StatusOr<std::shared_ptr<DeviceMemory>> device = openCudaDevice();
    if (!device)
      return Status::error(info.path + ": this artifact is for CUDA (" +
                           manifest.chip + "), but " +
                           device.status().message());
    step.device = *device;
    // The fatbinary's cubin runs on its chip and the PTX is compiled by the
    // driver for newer ones; an older device can run neither.
    int chip = 0;
    if (std::sscanf(manifest.chip.c_str(), "sm_%d", &chip) == 1 &&
        chip > cudaComputeCapability())
      return Status::error(info.path + ": this artifact's kernels are for " +
                           manifest.chip + " and newer, but the CUDA " +
                           (*device)->name() +
                           " is older; compile it with "
                           "--chip=sm_" +
                           std::to_string(cudaComputeCapability()));
  }
  auto libraries = std::make_shared<LoadedLibraries>();
  // Dependencies first, globally visible, so that the host library's
  // DT_NEEDED entries (matched by soname) resolve to them.
  for (SectionKind kind : {SectionKind::Dependency, SectionKind::HostLibrary}) {
    for (const ArtifactSectionInfo &section : info.sections) {
      if (section.kind != kind)
        continue;
      std::string where = info.path + ": section '" + section.name + "'";
      StatusOr<std::vector<char>> bytes = readArtifactSection(info, section);
      if (!bytes)
        return bytes.status();
      bool dependency = kind == SectionKind::Dependency;
      StatusOr<OpenedLibrary> opened = openLibrary(
          where, *bytes, RTLD_NOW | (dependency ? RTLD_GLOBAL : RTLD_LOCAL));
      if (!opened)
        return opened.status();
      if (!dependency)
        libraries->libraries.push_back({opened->handle, opened->fd});
    }
  }
  void *host = libraries->libraries.back().first;
  auto lookup = [&](const std::string &symbol) -> StatusOr<PackedStepFn> {
    void *address = dlsym(host, symbol.c_str());
    if (!address)
      return Status::error(info.path +
                           ": host library lacks the entry "
                           "point '" +
                           symbol + "'");
    return reinterpret_cast<PackedStepFn>(address);
  };

  if (step.device)
    if (Status status = step.device->finish(); !status)
      return Status::error(info.path +
                           ": loading the kernels: " + status.message());
  StatusOr<PackedStepFn> invoke = lookup(manifest.stepSymbol);
  if (!invoke)
    return invoke.status();
  step.invoke = *invoke;
  step.args = manifest.stepArgs;
  if (!manifest.prepareSymbol.empty()) {
    StatusOr<PackedStepFn> prepare = lookup(manifest.prepareSymbol);
    if (!prepare)
      return prepare.status();
    step.prepare = *prepare;
    step.prepareArgs = manifest.prepareArgs;
  }
  step.owner = libraries;
  return step;
}
