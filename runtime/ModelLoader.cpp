//===- ModelLoader.cpp - From a model path to a runnable step -------------===//
//
// Part of the Infini runtime; see ModelLoader.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/ModelLoader.h"

#include "runtime/Artifact.h"

#include <climits>
#include <cstdlib>
#include <dlfcn.h>
#include <unistd.h>

using namespace infini::rt;

/// Where the JIT plugin is: $INFINI_JIT_PLUGIN, else ../lib beside the
/// executable (the build tree's and an install's layout).
static std::string jitPluginPath() {
  if (const char *fromEnvironment = std::getenv("INFINI_JIT_PLUGIN"))
    if (*fromEnvironment)
      return fromEnvironment;
  char executable[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", executable, sizeof(executable));
  if (length <= 0 || size_t(length) >= sizeof(executable))
    return kJitPluginName;
  std::string directory(executable, size_t(length));
  directory = directory.substr(0, directory.rfind('/'));
  return directory + "/../lib/" + kJitPluginName;
}

static StatusOr<StepFunction> loadArtifactAt(const std::string &path) {
  StatusOr<ArtifactInfo> info = readArtifactInfo(path);
  if (!info)
    return info.status();
  return loadArtifact(*info);
}

StatusOr<LoadedStep> infini::rt::loadStep(const JitRequest &request) {
  LoadedStep loaded;
  if (isArtifactPath(request.modelPath)) {
    StatusOr<StepFunction> step = loadArtifactAt(request.modelPath);
    if (!step)
      return step.status();
    loaded.step = std::move(*step);
    return loaded;
  }

  std::string plugin = jitPluginPath();
  // The plugin stays loaded for the life of the process: the compiled code
  // and the OpenMP threads it starts live in libraries it pulled in.
  void *handle = dlopen(plugin.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return Status::error(request.modelPath +
                         ": compiling a model needs the JIT plugin, which "
                         "did not load (" +
                         dlerror() +
                         "); run an .infini artifact from infini-compile "
                         "instead, or set INFINI_JIT_PLUGIN");
  auto compile = reinterpret_cast<JitCompileFn>(dlsym(handle, kJitEntryPoint));
  if (!compile)
    return Status::error(plugin + ": not an infini JIT plugin (no '" +
                         kJitEntryPoint + "')");
  JitResult result;
  if (request.target == Target::Cuda && !request.emulateGPU) {
    // Compiled to a temporary artifact, loaded from memory, then removed.
    const char *directory = std::getenv("TMPDIR");
    std::string path =
        std::string(directory && *directory ? directory : "/tmp") +
        "/infini-XXXXXX.infini";
    int fd = mkstemps(path.data(), 7);
    if (fd < 0)
      return Status::error(path + ": cannot create a temporary artifact");
    close(fd);
    JitRequest toArtifact = request;
    toArtifact.artifactPath = path;
    compile(toArtifact, result);
    StatusOr<StepFunction> step = result.status
                                      ? loadArtifactAt(path)
                                      : StatusOr<StepFunction>(result.status);
    unlink(path.c_str());
    if (!step)
      return step.status();
    loaded.step = std::move(*step);
  } else {
    compile(request, result);
    if (!result.status)
      return result.status;
    loaded.step = std::move(result.step);
  }
  loaded.compiled = true;
  loaded.loweringSeconds = result.loweringSeconds;
  loaded.jitSeconds = result.jitSeconds;
  return loaded;
}
