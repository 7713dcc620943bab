//===- ArtifactCompiler.cpp - Ahead-of-time compilation -------------------===//

#include "compiler/ArtifactCompiler.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace infini;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Reads a whole file into a section's bytes.
static llvm::Expected<std::vector<char>> readBytes(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError(path + ": " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  return std::vector<char>(bytes.begin(), bytes.end());
}

/// A scratch directory removed, with its files, when destroyed.
namespace {
class ScratchDirectory {
public:
  llvm::Error create() {
    if (std::error_code error =
            llvm::sys::fs::createUniqueDirectory("infini-compile", root))
      return makeError("cannot create a scratch directory: " + error.message());
    return llvm::Error::success();
  }
  ~ScratchDirectory() {
    if (root.empty())
      return;
    for (const std::string &file : files)
      llvm::sys::fs::remove(file);
    llvm::sys::fs::remove(root);
  }
  /// The path of `name` inside the directory, removed with it.
  std::string path(llvm::StringRef name) {
    llvm::SmallString<256> result(root);
    llvm::sys::path::append(result, name);
    files.push_back(result.str().str());
    return files.back();
  }

private:
  llvm::SmallString<256> root;
  std::vector<std::string> files;
};
} // namespace

/// Emits `llvmModule` as an object file for `machine` at `path`.
static llvm::Error emitObject(llvm::Module &llvmModule,
                              llvm::TargetMachine &machine,
                              llvm::StringRef path) {
  std::error_code errorCode;
  llvm::raw_fd_ostream output(path, errorCode, llvm::sys::fs::OF_None);
  if (errorCode)
    return makeError(path + ": " + errorCode.message());
  return emitObjectCode(llvmModule, machine, output);
}

/// The C compiler driver used as the linker: $CC, else cc, gcc or clang.
static llvm::Expected<std::string> findLinkerDriver() {
  if (const char *fromEnvironment = std::getenv("CC"))
    if (*fromEnvironment) {
      llvm::ErrorOr<std::string> found =
          llvm::sys::findProgramByName(fromEnvironment);
      if (!found)
        return makeError(llvm::Twine("CC=") + fromEnvironment +
                         " is not a program on PATH");
      return *found;
    }
  for (const char *name : {"cc", "gcc", "clang"})
    if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(name))
      return *found;
  return makeError("no C compiler driver (cc, gcc or clang) on PATH to link "
                   "the host code; install one or set CC");
}

/// Links `object` into the shared library `library`, with the strided-copy
/// support code and, when the code calls it, the OpenMP runtime.
static llvm::Error linkSharedLibrary(llvm::StringRef object,
                                     llvm::StringRef library, bool openMP,
                                     ScratchDirectory &scratch) {
  llvm::Expected<std::string> driver = findLinkerDriver();
  if (!driver)
    return driver.takeError();
  std::vector<llvm::StringRef> args = {*driver,
                                       "-shared",
                                       "-o",
                                       library,
                                       object,
                                       INFINI_CODEGEN_SUPPORT_LIBRARY,
                                       "-Wl,-z,noexecstack",
                                       "-Wl,--as-needed"};
  if (openMP)
    args.push_back(INFINI_OPENMP_RUNTIME);
  args.push_back("-lm");
  std::string log = scratch.path("link.log");
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  std::string errorMessage;
  int exitCode = llvm::sys::ExecuteAndWait(*driver, args, std::nullopt,
                                           redirects, 0, 0, &errorMessage);
  if (exitCode == 0)
    return llvm::Error::success();
  std::string firstLine = errorMessage;
  if (auto text = llvm::MemoryBuffer::getFile(log))
    firstLine = (*text)->getBuffer().split('\n').first.trim().str();
  return makeError("linking the host code with " + *driver +
                   " failed: " + firstLine);
}

llvm::Error infini::compileArtifact(ModuleOp module, llvm::StringRef modelPath,
                                    const ArtifactOptions &options,
                                    llvm::StringRef outputPath) {
  CompileOptions compileOptions = options.compile;
  compileOptions.target = options.target;
  compileOptions.chip = options.chip;
  llvm::Expected<LoweredStep> lowered =
      lowerStep(module, modelPath, compileOptions);
  if (!lowered)
    return lowered.takeError();

  // The kernels, as embedded in the host code, also stand alone in the
  // artifact for inspection (cuobjdump) and for tools that load them.
  std::vector<rt::ArtifactSection> kernelSections;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(attr)) {
        llvm::StringRef bytes = object.getObject().getValue();
        bool ptx = object.getFormat() == gpu::CompilationTarget::Assembly;
        kernelSections.push_back(
            {ptx ? rt::SectionKind::Ptx : rt::SectionKind::CudaFatbin,
             (binary.getSymName() + (ptx ? ".ptx" : ".fatbin")).str(),
             std::vector<char>(bytes.begin(), bytes.end())});
      }
  });

  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      createHostTargetMachine(options.cpu, /*positionIndependent=*/true);
  if (!machine)
    return makeError("--cpu=" + options.cpu + ": " +
                     llvm::toString(machine.takeError()));
  llvm::LLVMContext llvmContext;
  llvm::Expected<std::unique_ptr<llvm::Module>> translated =
      translateForMachine(module, modelPath, *lowered, **machine, llvmContext);
  if (!translated)
    return translated.takeError();
  llvm::Module *llvmModule = translated->get();
  if (llvm::Error error = optimizeLLVMModule(*llvmModule, machine->get(),
                                             compileOptions.dumpDirectory))
    return error;
  // Parallel blocks call the OpenMP runtime (__kmpc_*).
  bool openMP = llvm::any_of(llvmModule->functions(), [](llvm::Function &f) {
    return f.isDeclaration() && f.getName().starts_with("__kmpc_");
  });

  ScratchDirectory scratch;
  if (llvm::Error error = scratch.create())
    return error;
  std::string object = scratch.path("step.o");
  std::string library = scratch.path("host.so");
  if (llvm::Error error = emitObject(*llvmModule, **machine, object))
    return error;
  if (llvm::Error error = linkSharedLibrary(object, library, openMP, scratch))
    return error;

  std::vector<rt::ArtifactSection> sections;
  llvm::Expected<std::vector<char>> host = readBytes(library);
  if (!host)
    return host.takeError();
  sections.push_back({rt::SectionKind::HostLibrary, "host.so", *host});
  if (openMP) {
    // The artifact carries the OpenMP runtime: a machine without LLVM
    // has none. Its soname satisfies the host library's dependency.
    llvm::SmallString<256> realPath;
    if (std::error_code error =
            llvm::sys::fs::real_path(INFINI_OPENMP_RUNTIME, realPath))
      return makeError(llvm::Twine(INFINI_OPENMP_RUNTIME) + ": " +
                       error.message());
    llvm::Expected<std::vector<char>> openMPBytes = readBytes(realPath);
    if (!openMPBytes)
      return openMPBytes.takeError();
    sections.push_back({rt::SectionKind::Dependency,
                        llvm::sys::path::filename(realPath).str(),
                        *openMPBytes});
  }

  sections.insert(sections.end(), kernelSections.begin(), kernelSections.end());

  rt::ArtifactManifest manifest;
  manifest.target = options.target;
  manifest.model = llvm::sys::path::filename(modelPath).str();
  manifest.hostCpu = (*machine)->getTargetCPU().str();
  if (options.target == rt::Target::Cuda)
    manifest.chip = options.chip;
  manifest.stepSymbol = lowered->stepSymbol;
  manifest.prepareSymbol = lowered->prepareSymbol;
  manifest.stepArgs = std::move(lowered->stepArgs);
  manifest.prepareArgs = std::move(lowered->prepareArgs);
  if (rt::Status status =
          rt::writeArtifact(outputPath.str(), manifest, sections);
      !status)
    return makeError(status.message());
  return llvm::Error::success();
}
