//===- ModelCompiler.cpp - From a model file to a runnable step -----------===//

#include "compiler/ModelCompiler.h"

#include "compiler/ConfigImporter.h"
#include "compiler/InitAll.h"
#include "dialect/InfiniOps.h"
#include "passes/Passes.h"
#include "runtime/support/CodegenSupport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

using namespace mlir;
using namespace infini;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<OwningOpRef<ModuleOp>> infini::loadModel(llvm::StringRef path,
                                                        MLIRContext &context) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!file)
    return makeError(path + ": cannot open: " + file.getError().message());
  if (path.ends_with(".json"))
    return importModelConfig((*file)->getBuffer(), path, &context);
  if (!path.ends_with(".mlir"))
    return makeError(path + ": expected a model config (.json) or an infini "
                            "model (.mlir)");

  // Collect the parser's and verifier's diagnostics into one line each.
  std::string diagnostics;
  llvm::raw_string_ostream diagnosticStream(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
    if (!diagnostics.empty())
      diagnosticStream << "; ";
    if (auto fileLoc = dyn_cast<FileLineColLoc>(diagnostic.getLocation()))
      diagnosticStream << fileLoc.getLine() << ":" << fileLoc.getColumn()
                       << ": ";
    diagnosticStream << diagnostic.str();
    return success();
  });
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return makeError(path + ":" + diagnostics);
  return module;
}

/// The runtime's element type for `type`, if it can cross the boundary.
static std::optional<rt::ElementType> elementTypeOf(Type type) {
  if (type.isF32())
    return rt::ElementType::F32;
  if (type.isSignlessInteger(32))
    return rt::ElementType::I32;
  if (type.isSignlessInteger(64))
    return rt::ElementType::I64;
  if (type.isF16())
    return rt::ElementType::F16;
  if (type.isBF16())
    return rt::ElementType::BF16;
  return std::nullopt;
}

/// Describes one argument or result of the step function.
static llvm::Expected<rt::ArgSpec> describeValue(Type type,
                                                 DictionaryAttr attrs,
                                                 bool isResult, unsigned index,
                                                 llvm::StringRef where) {
  std::string what = (isResult ? "result #" : "argument #") +
                     std::to_string(index) + " of " + where.str();
  rt::ArgSpec spec;
  auto name = [&](StringRef attrName) -> std::optional<std::string> {
    if (!attrs)
      return std::nullopt;
    if (auto text = attrs.getAs<StringAttr>(attrName))
      return text.str();
    return std::nullopt;
  };
  auto has = [&](StringRef attrName) { return attrs && attrs.get(attrName); };

  if (!isResult && has(kInputAttr)) {
    spec.role = rt::ArgRole::Input;
    spec.name = "input";
  } else if (!isResult && has(kPositionAttr)) {
    spec.role = rt::ArgRole::Position;
    spec.name = "position";
  } else if (!isResult && has(kValidLengthAttr)) {
    spec.role = rt::ArgRole::ValidLength;
    spec.name = "valid_length";
  } else if (std::optional<std::string> weight = name(kWeightAttr);
             weight && !isResult) {
    spec.role = rt::ArgRole::Weight;
    spec.name = *weight;
  } else if (std::optional<std::string> state = name(kStateAttr)) {
    spec.role = isResult ? rt::ArgRole::StateOut : rt::ArgRole::StateIn;
    spec.name = *state;
  } else if (isResult && has(kOutputAttr)) {
    spec.role = rt::ArgRole::Output;
    spec.name = "output";
  } else if (std::optional<std::string> prepared = name(kPreparedAttr)) {
    // Produced by infini-hoist-weight-preparation, not written by users.
    spec.role = isResult ? rt::ArgRole::PreparedOut : rt::ArgRole::Prepared;
    spec.name = *prepared;
  } else {
    return makeError(what + " has no binding attribute (" +
                     (isResult ? "infini.output or infini.state"
                               : "infini.input, infini.position, "
                                 "infini.valid_length, infini.state or "
                                 "infini.weight") +
                     ")");
  }

  bool scalar = spec.role == rt::ArgRole::Position ||
                spec.role == rt::ArgRole::ValidLength;
  if (scalar) {
    if (!type.isSignlessInteger(64))
      return makeError(what + " ('" + spec.name + "') must be i64");
    spec.elementType = rt::ElementType::I64;
    return spec;
  }
  auto tensorType = dyn_cast<RankedTensorType>(type);
  std::optional<rt::ElementType> elementType =
      tensorType ? elementTypeOf(tensorType.getElementType()) : std::nullopt;
  // 16-bit tensors are prepared weights for tensor cores, nothing else.
  bool prepared = spec.role == rt::ArgRole::Prepared ||
                  spec.role == rt::ArgRole::PreparedOut;
  if (elementType && !prepared &&
      (*elementType == rt::ElementType::F16 ||
       *elementType == rt::ElementType::BF16))
    elementType = std::nullopt;
  if (!elementType)
    return makeError(what + " ('" + spec.name +
                     "') must be a ranked tensor of f32, i32 or i64");
  spec.elementType = *elementType;
  bool batched = spec.role != rt::ArgRole::Weight &&
                 spec.role != rt::ArgRole::Prepared &&
                 spec.role != rt::ArgRole::PreparedOut;
  for (auto [dim, size] : llvm::enumerate(tensorType.getShape())) {
    if (ShapedType::isDynamic(size) && !(batched && dim == 0))
      return makeError(what + " ('" + spec.name +
                       "') may only have a dynamic batch dimension");
    spec.shape.push_back(ShapedType::isDynamic(size) ? rt::kDynamicDim : size);
  }
  return spec;
}

/// The functions with an `infini.input` argument: model step functions.
static SmallVector<func::FuncOp> findStepFunctions(ModuleOp module) {
  SmallVector<func::FuncOp> steps;
  module.walk([&](func::FuncOp func) {
    if (isModelStep(func))
      steps.push_back(func);
  });
  return steps;
}

/// Describes `func`'s arguments, then its results (which lowering turns into
/// trailing out-parameters), in call order.
static llvm::Expected<std::vector<rt::ArgSpec>>
describeSignature(func::FuncOp func, llvm::StringRef filename) {
  std::string where = "@" + func.getSymName().str();
  std::vector<rt::ArgSpec> specs;
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
    llvm::Expected<rt::ArgSpec> spec =
        describeValue(func.getArgumentTypes()[i], func.getArgAttrDict(i),
                      /*isResult=*/false, i, where);
    if (!spec)
      return makeError(filename + ": " + llvm::toString(spec.takeError()));
    specs.push_back(std::move(*spec));
  }
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
    llvm::Expected<rt::ArgSpec> spec =
        describeValue(func.getResultTypes()[i], func.getResultAttrDict(i),
                      /*isResult=*/true, i, where);
    if (!spec)
      return makeError(filename + ": " + llvm::toString(spec.takeError()));
    specs.push_back(std::move(*spec));
  }
  return specs;
}

llvm::Expected<std::vector<rt::ArgSpec>>
infini::describeStep(ModuleOp module, llvm::StringRef filename) {
  SmallVector<func::FuncOp> steps = findStepFunctions(module);
  if (steps.size() != 1)
    return makeError(filename +
                     ": expected exactly one function with an "
                     "infini.input argument, found " +
                     llvm::Twine(steps.size()));
  func::FuncOp step = steps.front();
  std::string where = "@" + step.getSymName().str();
  llvm::Expected<std::vector<rt::ArgSpec>> described =
      describeSignature(step, filename);
  if (!described)
    return described.takeError();
  std::vector<rt::ArgSpec> specs = std::move(*described);

  // Exactly one of each of input, position, valid length and output; every
  // state read is written back with the same shape, and vice versa.
  auto count = [&](rt::ArgRole role) {
    return llvm::count_if(specs,
                          [&](const rt::ArgSpec &s) { return s.role == role; });
  };
  for (auto [role, label] :
       {std::pair{rt::ArgRole::Input, "infini.input argument"},
        std::pair{rt::ArgRole::Position, "infini.position argument"},
        std::pair{rt::ArgRole::ValidLength, "infini.valid_length argument"},
        std::pair{rt::ArgRole::Output, "infini.output result"}})
    if (count(role) != 1)
      return makeError(filename + ": " + where + " needs exactly one " + label);
  for (const rt::ArgSpec &spec : specs) {
    if (spec.role != rt::ArgRole::StateIn && spec.role != rt::ArgRole::StateOut)
      continue;
    rt::ArgRole partnerRole = spec.role == rt::ArgRole::StateIn
                                  ? rt::ArgRole::StateOut
                                  : rt::ArgRole::StateIn;
    auto partner = llvm::find_if(specs, [&](const rt::ArgSpec &other) {
      return other.role == partnerRole && other.name == spec.name;
    });
    if (partner == specs.end() || partner->shape != spec.shape)
      return makeError(filename + ": state '" + spec.name + "' of " + where +
                       " must be both an argument and a result, of one type");
  }
  return specs;
}

/// Writes `module` to `directory/name`, reporting failures as errors.
static llvm::Error dumpModule(Operation *module, llvm::StringRef directory,
                              llvm::StringRef name) {
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, name);
  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(path, &errorMessage);
  if (!output)
    return makeError(path + ": " + errorMessage);
  module->print(output->os());
  output->keep();
  return llvm::Error::success();
}

llvm::Error infini::lowerToLLVMDialect(
    ModuleOp module, const CompileOptions &options,
    llvm::function_ref<llvm::Error(ModuleOp)> afterLinalg) {
  // The stages are written as textual pipelines of registered passes.
  static std::once_flag registerOnce;
  std::call_once(registerOnce, registerAllPasses);
  CPUPipelineOptions cpuOptions;
  cpuOptions.vectorize = options.vectorize;
  cpuOptions.parallel = options.parallel;
  cpuOptions.fuseAttention = options.fuseAttention;
  cpuOptions.fuseSwiGLU = options.fuseSwiGLU;
  cpuOptions.fuseRope = options.fuseRope;
  GPUPipelineOptions gpuOptions;
  gpuOptions.chip = options.chip;
  gpuOptions.fuseAttention = options.fuseAttention;
  gpuOptions.tensorCores = options.tensorCores;
  std::string optionError;
  if (options.target == rt::Target::Cuda &&
      failed(verifyGPUPipelineOptions(gpuOptions, [&](const llvm::Twine &m) {
        optionError = m.str();
        return failure();
      })))
    return makeError(optionError);
  using StageBuilder = std::function<void(OpPassManager &)>;
  std::pair<const char *, StageBuilder> stages[] = {
      {"1-linalg.mlir",
       [&](OpPassManager &pm) { buildInfiniToLinalgPipeline(pm, cpuOptions); }},
      {"2-loops.mlir",
       [&](OpPassManager &pm) { buildLinalgToLoopsPipeline(pm, cpuOptions); }},
      {"3-llvm.mlir",
       [&](OpPassManager &pm) { buildLoopsToLLVMPipeline(pm, cpuOptions); }}};
  if (options.target == rt::Target::Cuda) {
    stages[0] = {"1-linalg.mlir", [&](OpPassManager &pm) {
                   buildInfiniToGPULinalgPipeline(pm, gpuOptions);
                 }};
    stages[1] = {"2-gpu.mlir", [&](OpPassManager &pm) {
                   buildLinalgToGPUPipeline(pm, gpuOptions);
                   if (options.emulateGPU)
                     pm.addPass(createEmulateGPU());
                 }};
    stages[2] = {"3-llvm.mlir", [&](OpPassManager &pm) {
                   buildGPUToLLVMPipeline(pm, gpuOptions);
                 }};
    // Emulated kernels are host loops, compiled as CPU code on one thread.
    if (options.emulateGPU) {
      cpuOptions.parallel = false;
      stages[2] = {"3-llvm.mlir", [&](OpPassManager &pm) {
                     buildLoopsToLLVMPipeline(pm, cpuOptions);
                   }};
    }
  }

  bool dump = !options.dumpDirectory.empty();
  if (dump) {
    if (std::error_code error =
            llvm::sys::fs::create_directories(options.dumpDirectory))
      return makeError(options.dumpDirectory + ": " + error.message());
    if (llvm::Error error =
            dumpModule(module, options.dumpDirectory, "0-infini.mlir"))
      return error;
  }
  std::string diagnostics;
  llvm::raw_string_ostream diagnosticStream(diagnostics);
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &d) {
    diagnosticStream << (diagnostics.empty() ? "" : "; ") << d.str();
    return success();
  });
  bool firstStage = true;
  for (auto &[fileName, buildStage] : stages) {
    PassManager pm(module.getContext());
    buildStage(pm);
    if (failed(pm.run(module)))
      return makeError("lowering failed in stage " + llvm::Twine(fileName) +
                       ": " + diagnostics);
    if (dump)
      if (llvm::Error error =
              dumpModule(module, options.dumpDirectory, fileName))
        return error;
    if (afterLinalg && firstStage)
      if (llvm::Error error = afterLinalg(module))
        return error;
    firstStage = false;
  }
  return llvm::Error::success();
}

llvm::Expected<LoweredStep> infini::lowerStep(ModuleOp module,
                                              llvm::StringRef filename,
                                              const CompileOptions &options,
                                              CompileTimings *timings) {
  using Clock = std::chrono::steady_clock;
  // Describing the user's step before lowering reports binding errors in
  // their terms; the linalg stage's description below is what runs.
  llvm::Expected<std::vector<rt::ArgSpec>> specs =
      describeStep(module, filename);
  if (!specs)
    return specs.takeError();
  LoweredStep lowered;
  // describeStep succeeded, so there is exactly one step function.
  std::string stepName = findStepFunctions(module).front().getSymName().str();
  lowered.stepSymbol = "_mlir_ciface_" + stepName;

  // The linalg stage moves weight packing into `<step>_prepare` and adds
  // its results to the step's arguments: describe both after it.
  std::string prepareName = stepName + "_prepare";
  auto describeLowered = [&](ModuleOp linalgModule) -> llvm::Error {
    llvm::Expected<std::vector<rt::ArgSpec>> stepSpecs =
        describeStep(linalgModule, filename);
    if (!stepSpecs)
      return stepSpecs.takeError();
    lowered.stepArgs = std::move(*stepSpecs);
    if (auto prepare = linalgModule.lookupSymbol<func::FuncOp>(prepareName)) {
      llvm::Expected<std::vector<rt::ArgSpec>> described =
          describeSignature(prepare, filename);
      if (!described)
        return described.takeError();
      lowered.prepareArgs = std::move(*described);
      lowered.prepareSymbol = "_mlir_ciface_" + prepareName;
    }
    return llvm::Error::success();
  };
  auto loweringStart = Clock::now();
  if (llvm::Error error = lowerToLLVMDialect(module, options, describeLowered))
    return makeError(filename + ": " + llvm::toString(std::move(error)));
  if (timings)
    timings->lowering =
        std::chrono::duration<double>(Clock::now() - loweringStart).count();
  return lowered;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
infini::createHostTargetMachine(llvm::StringRef cpu, bool positionIndependent) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Expected<llvm::orc::JITTargetMachineBuilder> machineBuilder =
      llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machineBuilder)
    return machineBuilder.takeError();
  if (!cpu.empty() && cpu != "host") {
    // LLVM only warns about an unknown CPU and then ignores it.
    const llvm::Triple &triple = machineBuilder->getTargetTriple();
    std::string lookupError;
    const llvm::Target *target =
        llvm::TargetRegistry::lookupTarget(triple, lookupError);
    if (!target)
      return makeError(lookupError);
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!subtarget || !subtarget->isCPUStringValid(cpu))
      return makeError("unknown CPU '" + cpu + "' for " + triple.str() +
                       " (use 'host' or an LLVM CPU name such as x86-64-v3 "
                       "or skylake-avx512)");
    // An explicit CPU brings its own features, not the build machine's.
    machineBuilder->setCPU(cpu.str());
    machineBuilder->setFeatures("");
  }
  // Codegen at -O2, not -O3: the vector code is already scheduled by tiling;
  // -O3's extra machine passes took 0.3-0.6 s of a 2-layer model's JIT
  // time (h512: 1.3 s instead of 1.4-2.0) and made no step faster.
  machineBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  if (positionIndependent)
    machineBuilder->setRelocationModel(llvm::Reloc::PIC_);
  return machineBuilder->createTargetMachine();
}

/// Only the packed entry points (`_mlir_*`) stay exported. In a shared
/// library, an exported `step` would lose to libc's regex function `step`
/// when the loader binds the library's own calls.
static void internalizeAllButEntryPoints(llvm::Module &llvmModule) {
  for (llvm::GlobalValue &global : llvmModule.global_values())
    if (!global.isDeclaration() && !global.getName().starts_with("llvm.") &&
        !global.getName().starts_with("_mlir_"))
      global.setLinkage(llvm::GlobalValue::InternalLinkage);
}

/// LLVM's -O2 pipeline for `machine`. The loops are already tiled and
/// vectorized; -O3's extra unrolling doubled JIT time without making the
/// step faster.
static llvm::Error optimizeForMachine(llvm::Module &llvmModule,
                                      llvm::TargetMachine *machine) {
  return makeOptimizingTransformer(/*optLevel=*/2, /*sizeLevel=*/0,
                                   machine)(&llvmModule);
}

/// Writes `text` to `dumpDirectory`/4-optimized.ll.
static llvm::Error writeOptimizedIR(llvm::StringRef dumpDirectory,
                                    llvm::StringRef text) {
  llvm::SmallString<256> path(dumpDirectory);
  llvm::sys::path::append(path, "4-optimized.ll");
  std::error_code errorCode;
  llvm::raw_fd_ostream output(path, errorCode);
  if (errorCode)
    return makeError(path + ": " + errorCode.message());
  output << text;
  return llvm::Error::success();
}

llvm::Error infini::optimizeLLVMModule(llvm::Module &llvmModule,
                                       llvm::TargetMachine *machine,
                                       llvm::StringRef dumpDirectory) {
  internalizeAllButEntryPoints(llvmModule);
  if (llvm::Error error = optimizeForMachine(llvmModule, machine))
    return error;
  if (dumpDirectory.empty())
    return llvm::Error::success();
  std::string text;
  llvm::raw_string_ostream output(text);
  llvmModule.print(output, nullptr);
  return writeOptimizedIR(dumpDirectory, text);
}

llvm::Error infini::emitObjectCode(llvm::Module &llvmModule,
                                   llvm::TargetMachine &machine,
                                   llvm::raw_pwrite_stream &output) {
  llvm::legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, output, nullptr,
                                  llvm::CodeGenFileType::ObjectFile))
    return makeError("the target machine cannot emit object files");
  passes.run(llvmModule);
  return llvm::Error::success();
}

/// Adds `void _mlir_<name>(void **args)` calling `name` with args[i]
/// pointing at argument i (and args[n] at the result's slot, if any): the
/// packed convention of StepFunction.h. Returns the wrapper's name.
static llvm::Expected<std::string> addPackedWrapper(llvm::Module &llvmModule,
                                                    llvm::StringRef name) {
  llvm::Function *callee = llvmModule.getFunction(name);
  if (!callee)
    return makeError("no function '" + name + "' in the lowered module");
  llvm::LLVMContext &context = llvmModule.getContext();
  auto *pointerType = llvm::PointerType::getUnqual(context);
  std::string wrapperName = ("_mlir_" + name).str();
  auto *wrapper = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(context), {pointerType},
                              /*isVarArg=*/false),
      llvm::GlobalValue::ExternalLinkage, wrapperName, llvmModule);
  llvm::IRBuilder<> builder(
      llvm::BasicBlock::Create(context, "entry", wrapper));
  llvm::Value *args = wrapper->getArg(0);
  llvm::SmallVector<llvm::Value *> values;
  for (auto [index, parameter] : llvm::enumerate(callee->args())) {
    llvm::Value *slot =
        builder.CreateGEP(pointerType, args, builder.getInt64(index));
    llvm::Value *address = builder.CreateLoad(pointerType, slot);
    values.push_back(builder.CreateLoad(parameter.getType(), address));
  }
  llvm::Value *result = builder.CreateCall(callee, values);
  if (!callee->getReturnType()->isVoidTy()) {
    llvm::Value *slot = builder.CreateGEP(pointerType, args,
                                          builder.getInt64(callee->arg_size()));
    builder.CreateStore(result, builder.CreateLoad(pointerType, slot));
  }
  builder.CreateRetVoid();
  return wrapperName;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
infini::translateForMachine(ModuleOp module, llvm::StringRef filename,
                            LoweredStep &lowered, llvm::TargetMachine &machine,
                            llvm::LLVMContext &context) {
  registerLLVMTranslations(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, filename);
  if (!llvmModule)
    return makeError(filename + ": translation to LLVM IR failed");
  llvmModule->setDataLayout(machine.createDataLayout());
  llvmModule->setTargetTriple(machine.getTargetTriple());
  for (std::string *symbol : {&lowered.stepSymbol, &lowered.prepareSymbol}) {
    if (symbol->empty())
      continue;
    llvm::Expected<std::string> wrapper =
        addPackedWrapper(*llvmModule, *symbol);
    if (!wrapper)
      return makeError(filename + ": " + llvm::toString(wrapper.takeError()));
    *symbol = *wrapper;
  }
  return std::move(llvmModule);
}

namespace {
/// One partition of the JIT's module, compiled on its own thread.
struct CompiledPartition {
  std::unique_ptr<llvm::MemoryBuffer> object;
  std::string optimizedIR; // Only when the IR is dumped.
  std::string error;
};
} // namespace

/// Optimizes and compiles one partition, given as bitcode, in a context of
/// its own with `machine` (which no other thread uses).
static CompiledPartition compilePartition(llvm::StringRef bitcode,
                                          llvm::TargetMachine &machine,
                                          bool keepIR) {
  CompiledPartition result;
  llvm::LLVMContext context;
  llvm::Expected<std::unique_ptr<llvm::Module>> module = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(bitcode, "partition"), context);
  llvm::Error error = module.takeError();
  if (!error)
    error = optimizeForMachine(**module, &machine);
  if (!error && keepIR) {
    llvm::raw_string_ostream output(result.optimizedIR);
    (*module)->print(output, nullptr);
  }
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream objectStream(object);
  if (!error)
    error = emitObjectCode(**module, machine, objectStream);
  if (error) {
    result.error = llvm::toString(std::move(error));
    return result;
  }
  result.object = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(object.data(), object.size()), "partition.o");
  return result;
}

/// Compiles `llvmModule` (entry points already added) into objects: split
/// into one partition per core, each optimized and compiled on a thread of
/// its own (a 2-layer model's -O2 and code generation are most of its JIT
/// time, spread over two dozen functions: the step, the prepare function and
/// the parallel regions outlined from them).
static llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
compileInParallel(llvm::Module &llvmModule, llvm::StringRef dumpDirectory) {
  internalizeAllButEntryPoints(llvmModule);
  unsigned partitions = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::vector<llvm::SmallString<0>> bitcode;
  llvm::SplitModule(
      llvmModule, partitions,
      [&](std::unique_ptr<llvm::Module> part) {
        // What one partition defines for another must be visible to it.
        for (llvm::GlobalValue &global : part->global_values())
          if (global.hasHiddenVisibility())
            global.setVisibility(llvm::GlobalValue::DefaultVisibility);
        llvm::raw_svector_ostream output(bitcode.emplace_back());
        llvm::WriteBitcodeToFile(*part, output);
      },
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  // Target machines are created here: target registration is not
  // thread-safe.
  std::vector<std::unique_ptr<llvm::TargetMachine>> machines;
  for (size_t i = 0; i < bitcode.size(); ++i) {
    llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
        infini::createHostTargetMachine("host", /*positionIndependent=*/true);
    if (!machine)
      return machine.takeError();
    machines.push_back(std::move(*machine));
  }
  std::vector<CompiledPartition> compiled(bitcode.size());
  std::vector<std::thread> workers;
  for (size_t i = 0; i < bitcode.size(); ++i)
    workers.emplace_back([&, i] {
      compiled[i] =
          compilePartition(bitcode[i], *machines[i], !dumpDirectory.empty());
    });
  for (std::thread &worker : workers)
    worker.join();
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
  std::string dump;
  for (auto [index, partition] : llvm::enumerate(compiled)) {
    if (!partition.error.empty())
      return makeError(partition.error);
    objects.push_back(std::move(partition.object));
    dump += "; ---- partition " + std::to_string(index + 1) + " of " +
            std::to_string(compiled.size()) + " ----\n" + partition.optimizedIR;
  }
  if (!dumpDirectory.empty())
    if (llvm::Error error = writeOptimizedIR(dumpDirectory, dump))
      return error;
  return objects;
}

llvm::Expected<rt::StepFunction>
infini::compileModel(ModuleOp module, llvm::StringRef filename,
                     const CompileOptions &options, CompileTimings *timings) {
  using Clock = std::chrono::steady_clock;
  llvm::Expected<LoweredStep> lowered =
      lowerStep(module, filename, options, timings);
  if (!lowered)
    return lowered.takeError();
  auto jitStart = Clock::now();
  auto fail = [&](llvm::Error error) {
    return makeError(filename + ": JIT compilation failed: " +
                     llvm::toString(std::move(error)));
  };
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      createHostTargetMachine("host", /*positionIndependent=*/true);
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext llvmContext;
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
      translateForMachine(module, filename, *lowered, **machine, llvmContext);
  if (!llvmModule)
    return llvmModule.takeError();
  auto objects = compileInParallel(**llvmModule, options.dumpDirectory);
  if (!objects)
    return fail(objects.takeError());

  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    return fail(jit.takeError());
  std::string loadError;
  if (llvm::sys::DynamicLibrary::LoadLibraryPermanently(INFINI_OPENMP_RUNTIME,
                                                        &loadError))
    return makeError(filename +
                     ": cannot load the OpenMP runtime: " + loadError);
  llvm::orc::JITDylib &library = (*jit)->getMainJITDylib();
  auto processSymbols =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
          (*jit)->getDataLayout().getGlobalPrefix());
  if (!processSymbols)
    return fail(processSymbols.takeError());
  library.addGenerator(std::move(*processSymbols));
  // The same support code as an artifact's (runtime/support).
  llvm::orc::SymbolMap support;
  auto bind = [&](llvm::StringRef name, auto *function) {
    support[(*jit)->mangleAndIntern(name)] = {
        llvm::orc::ExecutorAddr::fromPtr(function),
        llvm::JITSymbolFlags::Exported};
  };
  bind("memrefCopy", &memrefCopy);
  bind("_mlir_memref_to_llvm_alloc", &_mlir_memref_to_llvm_alloc);
  bind("_mlir_memref_to_llvm_aligned_alloc",
       &_mlir_memref_to_llvm_aligned_alloc);
  bind("_mlir_memref_to_llvm_free", &_mlir_memref_to_llvm_free);
  if (llvm::Error error =
          library.define(llvm::orc::absoluteSymbols(std::move(support))))
    return fail(std::move(error));
  for (std::unique_ptr<llvm::MemoryBuffer> &object : *objects)
    if (llvm::Error error = (*jit)->addObjectFile(std::move(object)))
      return fail(std::move(error));
  auto lookup =
      [&](const std::string &entry) -> llvm::Expected<void (*)(void **)> {
    llvm::Expected<llvm::orc::ExecutorAddr> address = (*jit)->lookup(entry);
    if (!address)
      return address.takeError();
    return address->toPtr<void (*)(void **)>();
  };
  auto invoke = lookup(lowered->stepSymbol);
  if (!invoke)
    return fail(invoke.takeError());
  rt::StepFunction step;
  step.invoke = *invoke;
  step.args = std::move(lowered->stepArgs);
  if (!lowered->prepareSymbol.empty()) {
    auto prepare = lookup(lowered->prepareSymbol);
    if (!prepare)
      return fail(prepare.takeError());
    step.prepare = *prepare;
    step.prepareArgs = std::move(lowered->prepareArgs);
  }
  if (timings)
    timings->jit =
        std::chrono::duration<double>(Clock::now() - jitStart).count();
  step.owner = std::shared_ptr<llvm::orc::LLJIT>(std::move(*jit));
  return step;
}
