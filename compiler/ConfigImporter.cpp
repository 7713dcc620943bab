//===- ConfigImporter.cpp - Model config JSON to infini IR ----------------===//

#include "compiler/ConfigImporter.h"

#include "dialect/InfiniOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace infini;

namespace {

/// Reads typed fields of one JSON object, rejecting unknown keys so a typo
/// never silently turns a feature off. Errors name the file and the key path.
class ObjectReader {
public:
  ObjectReader(const llvm::json::Object &object, std::string path,
               std::string filename)
      : object(object), path(std::move(path)), filename(std::move(filename)) {}

  /// An integer field; `defaultValue` when absent (nullopt: required).
  llvm::Expected<int64_t> integer(llvm::StringRef key,
                                  std::optional<int64_t> defaultValue,
                                  int64_t minimum) {
    seen.insert(key);
    const llvm::json::Value *value = object.get(key);
    if (!value || value->kind() == llvm::json::Value::Null) {
      if (defaultValue)
        return *defaultValue;
      return error(key, "is required");
    }
    std::optional<int64_t> number = value->getAsInteger();
    if (!number)
      return error(key, "must be an integer");
    if (*number < minimum)
      return error(
          key, llvm::formatv("must be at least {0}, got {1}", minimum, *number)
                   .str());
    return *number;
  }

  /// A number field that must be > 0 (or >= 0 when `allowZero`).
  llvm::Expected<double> positive(llvm::StringRef key, double defaultValue,
                                  bool allowZero = false) {
    seen.insert(key);
    const llvm::json::Value *value = object.get(key);
    if (!value || value->kind() == llvm::json::Value::Null)
      return defaultValue;
    std::optional<double> number = value->getAsNumber();
    if (!number)
      return error(key, "must be a number");
    if (allowZero ? *number < 0 : !(*number > 0))
      return error(key, allowZero ? "must be >= 0" : "must be > 0");
    return *number;
  }

  llvm::Expected<std::string> string(llvm::StringRef key,
                                     llvm::StringRef defaultValue,
                                     llvm::ArrayRef<llvm::StringRef> allowed) {
    seen.insert(key);
    const llvm::json::Value *value = object.get(key);
    if (!value || value->kind() == llvm::json::Value::Null)
      return defaultValue.str();
    std::optional<llvm::StringRef> text = value->getAsString();
    if (!text || !llvm::is_contained(allowed, *text))
      return error(key,
                   "must be one of \"" + llvm::join(allowed, "\", \"") + "\"");
    return text->str();
  }

  llvm::Expected<bool> boolean(llvm::StringRef key, bool defaultValue) {
    seen.insert(key);
    const llvm::json::Value *value = object.get(key);
    if (!value || value->kind() == llvm::json::Value::Null)
      return defaultValue;
    std::optional<bool> flag = value->getAsBoolean();
    if (!flag)
      return error(key, "must be true or false");
    return *flag;
  }

  /// A nested object, or nullptr when absent or null (the feature is off).
  llvm::Expected<const llvm::json::Object *>
  optionalObject(llvm::StringRef key) {
    seen.insert(key);
    const llvm::json::Value *value = object.get(key);
    if (!value || value->kind() == llvm::json::Value::Null)
      return nullptr;
    if (const llvm::json::Object *nested = value->getAsObject())
      return nested;
    return error(key, "must be an object or null");
  }

  /// Fails on the first key that no accessor asked for.
  llvm::Error rejectUnknownKeys() {
    for (const auto &entry : object)
      if (!seen.contains(entry.first))
        return error(entry.first, "is not a known key");
    return llvm::Error::success();
  }

  std::string childPath(llvm::StringRef key) const {
    return path.empty() ? key.str() : path + "." + key.str();
  }

  llvm::Error error(llvm::StringRef key, const llvm::Twine &message) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::Twine(filename) + ": '" +
                                       childPath(key) + "' " + message);
  }

private:
  const llvm::json::Object &object;
  std::string path;
  std::string filename;
  llvm::StringSet<> seen;
};

/// Assigns `expected`'s value to `target` or returns its error.
#define ASSIGN_OR_RETURN(target, expected)                                     \
  do {                                                                         \
    auto valueOrError = (expected);                                            \
    if (!valueOrError)                                                         \
      return valueOrError.takeError();                                         \
    target = std::move(*valueOrError);                                         \
  } while (false)

} // namespace

llvm::Expected<ModelConfig> infini::parseModelConfig(llvm::StringRef json,
                                                     llvm::StringRef filename) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::Twine(filename) + ": invalid JSON: " +
                                       llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::Twine(filename) +
                                       ": expected a JSON object at the top");
  ModelConfig config;
  ObjectReader reader(*root, "", filename.str());
  ASSIGN_OR_RETURN(config.vocabSize, reader.integer("vocab_size", 0, 0));
  ASSIGN_OR_RETURN(config.hiddenSize, reader.integer("hidden_size", {}, 1));
  ASSIGN_OR_RETURN(config.numHeads, reader.integer("num_heads", {}, 1));
  std::optional<int64_t> defaultHeadDim;
  if (config.hiddenSize % config.numHeads == 0)
    defaultHeadDim = config.hiddenSize / config.numHeads;
  else if (!root->get("head_dim"))
    return reader.error("head_dim",
                        "is required when num_heads does not divide "
                        "hidden_size");
  ASSIGN_OR_RETURN(config.headDim,
                   reader.integer("head_dim", defaultHeadDim, 1));
  ASSIGN_OR_RETURN(config.intermediateSize,
                   reader.integer("intermediate_size", {}, 1));
  ASSIGN_OR_RETURN(config.numLayers, reader.integer("num_layers", {}, 1));
  ASSIGN_OR_RETURN(config.segmentLen, reader.integer("segment_len", {}, 1));
  ASSIGN_OR_RETURN(config.normEps, reader.positive("norm_eps", 1e-5));
  ASSIGN_OR_RETURN(config.swishBeta, reader.positive("swish_beta", 1.0, true));
  ASSIGN_OR_RETURN(config.memoryUsesRope,
                   reader.boolean("memory_uses_rope", false));

  const llvm::json::Object *ropeObject;
  ASSIGN_OR_RETURN(ropeObject, reader.optionalObject("rope"));
  if (ropeObject) {
    ModelConfig::Rope rope;
    ObjectReader ropeReader(*ropeObject, "rope", filename.str());
    ASSIGN_OR_RETURN(rope.theta, ropeReader.positive("theta", 10000.0));
    std::string layout;
    ASSIGN_OR_RETURN(layout, ropeReader.string("layout", "half_split",
                                               {"half_split", "interleaved"}));
    rope.interleaved = layout == "interleaved";
    ASSIGN_OR_RETURN(rope.rotaryDim,
                     ropeReader.integer("rotary_dim", config.headDim, 2));
    if (!ropeObject->get("rotary_dim") && config.headDim % 2 != 0)
      return ropeReader.error("rotary_dim",
                              llvm::formatv("is required: its default, "
                                            "head_dim = {0}, is odd",
                                            config.headDim)
                                  .str());
    if (rope.rotaryDim % 2 != 0 || rope.rotaryDim > config.headDim)
      return ropeReader.error("rotary_dim",
                              llvm::formatv("must be even and at most head_dim "
                                            "= {0}, got {1}",
                                            config.headDim, rope.rotaryDim)
                                  .str());
    const llvm::json::Object *scaling;
    ASSIGN_OR_RETURN(scaling, ropeReader.optionalObject("scaling"));
    if (scaling) {
      ObjectReader scalingReader(*scaling, "rope.scaling", filename.str());
      std::string type;
      ASSIGN_OR_RETURN(type,
                       scalingReader.string("type", "linear", {"linear"}));
      ASSIGN_OR_RETURN(rope.factor, scalingReader.positive("factor", 1.0));
      if (llvm::Error error = scalingReader.rejectUnknownKeys())
        return std::move(error);
    }
    if (llvm::Error error = ropeReader.rejectUnknownKeys())
      return std::move(error);
    config.rope = rope;
  }

  const llvm::json::Object *copeObject;
  ASSIGN_OR_RETURN(copeObject, reader.optionalObject("cope"));
  if (copeObject) {
    ObjectReader copeReader(*copeObject, "cope", filename.str());
    int64_t positions;
    ASSIGN_OR_RETURN(positions, copeReader.integer("npos", {}, 1));
    config.copePositions = positions;
    if (llvm::Error error = copeReader.rejectUnknownKeys())
      return std::move(error);
  }

  const llvm::json::Object *memoryObject;
  ASSIGN_OR_RETURN(memoryObject, reader.optionalObject("memory"));
  if (memoryObject) {
    ModelConfig::Memory memory;
    ObjectReader memoryReader(*memoryObject, "memory", filename.str());
    std::string update;
    ASSIGN_OR_RETURN(
        update, memoryReader.string("update", "linear", {"linear", "delta"}));
    memory.delta = update == "delta";
    ASSIGN_OR_RETURN(memory.eps, memoryReader.positive("eps", 1e-6));
    if (llvm::Error error = memoryReader.rejectUnknownKeys())
      return std::move(error);
    config.memory = memory;
  }
  if (llvm::Error error = reader.rejectUnknownKeys())
    return std::move(error);
  return config;
}

namespace {

/// Builds @step op by op, declaring each weight as an argument on first use.
class StepBuilder {
public:
  StepBuilder(const ModelConfig &config, MLIRContext *context)
      : config(config), builder(context), f32(builder.getF32Type()) {}

  OwningOpRef<ModuleOp> build() {
    MLIRContext *ctx = builder.getContext();
    Location loc = builder.getUnknownLoc();
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    int64_t batch = ShapedType::kDynamic, tokens = config.segmentLen;
    int64_t width = config.hiddenSize;
    bool vocabulary = config.vocabSize > 0;

    // The signature is assembled as values are needed; create the function
    // with a placeholder type and fix it at the end.
    auto func = func::FuncOp::create(builder, loc, "step",
                                     builder.getFunctionType({}, {}));
    module->push_back(func);
    Block *entry = func.addEntryBlock();
    builder.setInsertionPointToStart(entry);

    Value input =
        addArgument(vocabulary ? tensor({batch, tokens}, builder.getI32Type())
                               : tensor({batch, tokens, width}),
                    kInputAttr, UnitAttr::get(ctx));
    position =
        addArgument(builder.getI64Type(), kPositionAttr, UnitAttr::get(ctx));
    validLength =
        addArgument(builder.getI64Type(), kValidLengthAttr, UnitAttr::get(ctx));
    SmallVector<Value> states;
    if (config.memory) {
      for (int64_t layer = 0; layer < config.numLayers; ++layer) {
        std::string prefix = "layers." + std::to_string(layer) + ".";
        states.push_back(addArgument(memoryType(), kStateAttr,
                                     builder.getStringAttr(prefix + "memory")));
        states.push_back(addArgument(normType(), kStateAttr,
                                     builder.getStringAttr(prefix + "norm")));
      }
    }

    Value x = input;
    if (vocabulary)
      x = infini::EmbeddingOp::create(
          builder, loc, tensor({batch, tokens, width}), input,
          weight("embed.weight", {config.vocabSize, width}));
    SmallVector<Value> newStates;
    for (int64_t layer = 0; layer < config.numLayers; ++layer)
      x = buildBlock(layer, x, states, newStates);
    if (vocabulary) {
      Value normed = infini::RMSNormOp::create(
          builder, loc, x.getType(), x, weight("final_norm.weight", {width}),
          builder.getF64FloatAttr(config.normEps));
      x = linear(normed, weight("lm_head.weight", {config.vocabSize, width}));
    }

    SmallVector<Value> results = {x};
    results.append(newStates);
    func::ReturnOp::create(builder, loc, results);
    func.setFunctionType(builder.getFunctionType(
        entry->getArgumentTypes(), ValueRange(results).getTypes()));
    for (auto [index, attrs] : llvm::enumerate(argAttrs))
      func.setArgAttrs(index, attrs);
    func.setResultAttr(0, kOutputAttr, UnitAttr::get(ctx));
    for (unsigned i = 0; i < newStates.size(); ++i)
      func.setResultAttr(i + 1, kStateAttr, argAttrs[3 + i].get(kStateAttr));
    return module;
  }

private:
  Value buildBlock(int64_t layer, Value x, ArrayRef<Value> states,
                   SmallVectorImpl<Value> &newStates) {
    Location loc = builder.getUnknownLoc();
    std::string prefix = "layers." + std::to_string(layer) + ".";
    int64_t width = config.hiddenSize,
            projected = config.numHeads * config.headDim;
    auto name = [&](StringRef suffix) { return prefix + suffix.str(); };
    FloatAttr normEps = builder.getF64FloatAttr(config.normEps);

    Value h = infini::RMSNormOp::create(
        builder, loc, x.getType(), x, weight(name("attn_norm.weight"), {width}),
        normEps);
    auto project = [&](StringRef which) {
      Value flat =
          linear(h, weight(name("attn." + which.str() + "_proj.weight"),
                           {projected, width}));
      return infini::SplitHeadsOp::create(builder, loc, headsType(), flat)
          .getResult();
    };
    Value q = project("q"), k = project("k"), v = project("v");
    Value qRotated = q, kRotated = k;
    if (const auto &rope = config.rope) {
      auto rotate = [&](Value heads) {
        IntegerAttr rotaryDim;
        if (rope->rotaryDim != config.headDim)
          rotaryDim = builder.getI64IntegerAttr(rope->rotaryDim);
        return infini::RopeOp::create(
                   builder, loc, heads.getType(), heads, position,
                   RopeLayoutAttr::get(builder.getContext(),
                                       rope->interleaved
                                           ? RopeLayout::Interleaved
                                           : RopeLayout::HalfSplit),
                   builder.getF64FloatAttr(rope->theta), rotaryDim,
                   builder.getF64FloatAttr(rope->factor))
            .getResult();
      };
      qRotated = rotate(q);
      kRotated = rotate(k);
    }
    Value bias;
    if (config.copePositions) {
      Value posEmb = weight(name("attn.cope_pos_emb"),
                            {config.headDim, *config.copePositions});
      bias = infini::CopeOp::create(builder, loc, scoresType(), qRotated,
                                    kRotated, posEmb);
    }
    Value attention = infini::LocalAttentionOp::create(
        builder, loc, headsType(), qRotated, kRotated, v, bias);
    if (const auto &memory = config.memory) {
      Value qMemory = config.memoryUsesRope ? qRotated : q;
      Value kMemory = config.memoryUsesRope ? kRotated : k;
      Value memoryState = states[2 * layer], normState = states[2 * layer + 1];
      FloatAttr eps = builder.getF64FloatAttr(memory->eps);
      Value retrieved = infini::MemoryRetrieveOp::create(
          builder, loc, headsType(), qMemory, memoryState, normState, eps);
      attention = infini::MemoryGateOp::create(
          builder, loc, headsType(), retrieved, attention,
          weight(name("attn.memory_gate"), {config.numHeads}));
      auto update = infini::MemoryUpdateOp::create(
          builder, loc, memoryType(), normType(), kMemory, v, memoryState,
          normState, validLength,
          infini::MemoryUpdateModeAttr::get(
              builder.getContext(), memory->delta ? MemoryUpdateMode::Delta
                                                  : MemoryUpdateMode::Linear),
          eps);
      newStates.push_back(update.getNewMemory());
      newStates.push_back(update.getNewNorm());
    }
    Value merged = infini::MergeHeadsOp::create(
        builder, loc,
        tensor({ShapedType::kDynamic, config.segmentLen, projected}),
        attention);
    Value attended =
        linear(merged, weight(name("attn.o_proj.weight"), {width, projected}));
    x = arith::AddFOp::create(builder, loc, x, attended);

    Value normed = infini::RMSNormOp::create(
        builder, loc, x.getType(), x, weight(name("ffn_norm.weight"), {width}),
        normEps);
    int64_t ffn = config.intermediateSize;
    // One statement per weight: arguments of one call are evaluated in an
    // unspecified order, and the weights' order is the signature's.
    Value gateWeight = weight(name("ffn.gate_proj.weight"), {ffn, width});
    Value upWeight = weight(name("ffn.up_proj.weight"), {ffn, width});
    Value downWeight = weight(name("ffn.down_proj.weight"), {width, ffn});
    Value feedForward = infini::SwiGLUOp::create(
        builder, loc, normed.getType(), normed, gateWeight, upWeight,
        downWeight, builder.getF64FloatAttr(config.swishBeta));
    return arith::AddFOp::create(builder, loc, x, feedForward);
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape, Type elementType = {}) {
    return RankedTensorType::get(shape, elementType ? elementType : f32);
  }
  RankedTensorType headsType() {
    return tensor({ShapedType::kDynamic, config.numHeads, config.segmentLen,
                   config.headDim});
  }
  RankedTensorType scoresType() {
    return tensor({ShapedType::kDynamic, config.numHeads, config.segmentLen,
                   config.segmentLen});
  }
  RankedTensorType memoryType() {
    return tensor({ShapedType::kDynamic, config.numHeads, config.headDim,
                   config.headDim});
  }
  RankedTensorType normType() {
    return tensor({ShapedType::kDynamic, config.numHeads, config.headDim});
  }

  Value linear(Value x, Value w) {
    auto xType = cast<RankedTensorType>(x.getType());
    auto wType = cast<RankedTensorType>(w.getType());
    return infini::LinearOp::create(
        builder, builder.getUnknownLoc(),
        tensor({xType.getDimSize(0), xType.getDimSize(1), wType.getDimSize(0)}),
        x, w);
  }

  Value addArgument(Type type, StringRef attrName, Attribute attrValue) {
    Block *entry = builder.getInsertionBlock();
    Value argument = entry->addArgument(type, builder.getUnknownLoc());
    NamedAttrList attrs;
    attrs.set(attrName, attrValue);
    argAttrs.push_back(attrs.getDictionary(builder.getContext()));
    return argument;
  }

  Value weight(StringRef name, ArrayRef<int64_t> shape) {
    return addArgument(tensor(shape), kWeightAttr, builder.getStringAttr(name));
  }

  const ModelConfig &config;
  OpBuilder builder;
  Type f32;
  Value position, validLength;
  SmallVector<DictionaryAttr> argAttrs;
};

} // namespace

OwningOpRef<ModuleOp> infini::buildModelModule(const ModelConfig &config,
                                               MLIRContext *context) {
  context->loadDialect<InfiniDialect, arith::ArithDialect, func::FuncDialect>();
  return StepBuilder(config, context).build();
}

llvm::Expected<OwningOpRef<ModuleOp>>
infini::importModelConfig(llvm::StringRef json, llvm::StringRef filename,
                          MLIRContext *context) {
  llvm::Expected<ModelConfig> config = parseModelConfig(json, filename);
  if (!config)
    return config.takeError();
  return buildModelModule(*config, context);
}
