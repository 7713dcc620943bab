//===- InfiniOps.cpp - Verifiers of the infini ops ------------------------===//
//
// Each check is tagged with the constraint it enforces, as numbered in the
// op's description (`// rope_c2` is constraint C2 of infini.rope).
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"

#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace infini;

namespace {
/// Checks operand and result shapes against named dimensions ("B", "T",
/// "Dh", ...). The first static size seen for a name binds it; a later
/// static size that differs is an error naming both. Dynamic sizes match
/// anything, so a dynamic batch is accepted everywhere.
class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op) : op(op) {}

  /// Requires `value` to have one dimension per entry of `dims`.
  LogicalResult expect(StringRef constraint, StringRef valueName, Value value,
                       ArrayRef<StringRef> dims) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != static_cast<int64_t>(dims.size()))
      return op->emitOpError()
             << "(" << constraint << ") expects " << valueName << " of shape ["
             << llvm::join(dims, ", ") << "], got " << type;
    for (auto [index, name] : llvm::enumerate(dims)) {
      int64_t size = type.getDimSize(index);
      if (ShapedType::isDynamic(size))
        continue;
      auto [it, inserted] = bound.try_emplace(name, size, valueName.str());
      if (!inserted && it->second.first != size)
        return op->emitOpError()
               << "(" << constraint << ") " << valueName << " has " << name
               << " = " << size << " but " << it->second.second << " has "
               << name << " = " << it->second.first;
    }
    return success();
  }

  /// The static size bound to `name`, if any.
  std::optional<int64_t> lookup(StringRef name) const {
    auto it = bound.find(name);
    if (it == bound.end())
      return std::nullopt;
    return it->second.first;
  }

private:
  Operation *op;
  llvm::StringMap<std::pair<int64_t, std::string>> bound;
};
} // namespace

LogicalResult EmbeddingOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(
          shapes.expect("C1", "ids", getIds(), {"B", "T"})) || // embedding_c1
      failed(shapes.expect("C2", "table", getTable(),
                           {"V", "D"})) || // embedding_c2
      failed(shapes.expect("C3", "result", getResult(),
                           {"B", "T", "D"}))) // embedding_c3
    return failure();
  return success();
}

LogicalResult LinearOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "input", getInput(),
                           {"B", "T", "I"})) || // linear_c1
      failed(shapes.expect("C2", "weight", getWeight(),
                           {"O", "I"})) || // linear_c2
      failed(shapes.expect("C3", "result", getResult(),
                           {"B", "T", "O"}))) // linear_c3
    return failure();
  return success();
}

/// Shared by split_heads and merge_heads: `flat` is [B, T, H*Dh] and `heads`
/// is [B, H, T, Dh]; each is checked under its own constraint tag.
static LogicalResult verifyHeadLayout(Operation *op, Value flat,
                                      StringRef flatName, StringRef flatTag,
                                      Value heads, StringRef headsName,
                                      StringRef headsTag) {
  ShapeChecker shapes(op);
  if (failed(shapes.expect(flatTag, flatName, flat, {"B", "T", "H*Dh"})) ||
      failed(shapes.expect(headsTag, headsName, heads, {"B", "H", "T", "Dh"})))
    return failure();
  auto flatType = cast<RankedTensorType>(flat.getType());
  auto headsType = cast<RankedTensorType>(heads.getType());
  if (flatType.isDynamicDim(2))
    return op->emitOpError()
           << "(" << flatTag << ") expects a static H*Dh in " << flatName;
  if (headsType.isDynamicDim(1) || headsType.isDynamicDim(3))
    return op->emitOpError()
           << "(" << headsTag << ") expects static H and Dh in " << headsName;
  int64_t width = headsType.getDimSize(1) * headsType.getDimSize(3);
  // Both ops number this check with their result's constraint, C2.
  if (flatType.getDimSize(2) != width)
    return op->emitOpError()
           << "(C2) " << flatName << " has H*Dh = " << flatType.getDimSize(2)
           << " but " << headsName << " has H*Dh = " << width;
  return success();
}

LogicalResult SplitHeadsOp::verify() {
  // split_heads_c1, split_heads_c2
  return verifyHeadLayout(*this, getInput(), "input", "C1", getResult(),
                          "result", "C2");
}

LogicalResult MergeHeadsOp::verify() {
  // merge_heads_c1, merge_heads_c2
  return verifyHeadLayout(*this, getResult(), "result", "C2", getInput(),
                          "input", "C1");
}

LogicalResult RMSNormOp::verify() {
  auto inputType = getInput().getType();
  auto weightType = getWeight().getType();
  if (weightType.getRank() != 1) // rmsnorm_c1
    return emitOpError() << "(C1) expects a rank-1 weight, got " << weightType;
  if (inputType.getRank() < 1)
    return emitOpError() << "(C2) expects an input of rank >= 1";
  int64_t width = inputType.getDimSize(inputType.getRank() - 1);
  if (ShapedType::isDynamic(width)) // rmsnorm_c2
    return emitOpError() << "(C2) expects a static last dimension";
  if (!weightType.isDynamicDim(0) &&
      weightType.getDimSize(0) != width) // rmsnorm_c2
    return emitOpError() << "(C2) weight has " << weightType.getDimSize(0)
                         << " elements but the input's last dimension is "
                         << width;
  if (!(getEps().convertToDouble() > 0)) // rmsnorm_c3
    return emitOpError() << "(C3) expects eps > 0";
  return success();
}

LogicalResult SwiGLUOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "input", getInput(), {"B", "T", "D"})) ||
      failed(shapes.expect("C2", "gate_weight", getGateWeight(), {"F", "D"})) ||
      failed(shapes.expect("C2", "up_weight", getUpWeight(), {"F", "D"})) ||
      failed(shapes.expect("C3", "down_weight", getDownWeight(), {"D", "F"})))
    return failure();
  return success();
}

int64_t RopeOp::getRotaryDimOrDefault() {
  if (std::optional<int64_t> rotaryDim = getRotaryDim())
    return *rotaryDim;
  return getInput().getType().getDimSize(3);
}

LogicalResult RopeOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "input", getInput(),
                           {"B", "H", "T", "Dh"}))) // rope_c1
    return failure();
  int64_t headDim = getInput().getType().getDimSize(3);
  if (ShapedType::isDynamic(headDim))
    return emitOpError() << "(C1) expects a static head width Dh";
  int64_t rotaryDim = getRotaryDimOrDefault();
  if (rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > headDim) // rope_c2
    return emitOpError()
           << "(C2) rotary_dim must be even, positive and at most "
           << "Dh = " << headDim << ", got " << rotaryDim;
  if (!(getTheta().convertToDouble() > 0)) // rope_c3
    return emitOpError() << "(C3) expects theta > 0";
  if (!(getScalingFactor().convertToDouble() > 0)) // rope_c4
    return emitOpError() << "(C4) expects scaling_factor > 0";
  return success();
}

LogicalResult CopeOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "query", getQuery(),
                           {"B", "H", "T", "Dh"})) || // cope_c1
      failed(shapes.expect("C1", "key", getKey(), {"B", "H", "T", "Dh"})) ||
      failed(shapes.expect("C2", "pos_emb", getPosEmb(),
                           {"Dh", "P"})) || // cope_c2
      failed(shapes.expect("C3", "result", getResult(),
                           {"B", "H", "T", "T"}))) // cope_c3
    return failure();
  if (getQuery().getType() != getKey().getType()) // cope_c1
    return emitOpError() << "(C1) expects query and key of one type, got "
                         << getQuery().getType() << " and "
                         << getKey().getType();
  if (getQuery().getType().isDynamicDim(3)) // cope_c1
    return emitOpError() << "(C1) expects a static head width Dh";
  if (std::optional<int64_t> positions = shapes.lookup("P"); !positions)
    return emitOpError() << "(C2) expects a static number of positions P";
  else if (*positions < 1)
    return emitOpError() << "(C2) expects at least one position";
  return success();
}

LogicalResult LocalAttentionOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "query", getQuery(),
                           {"B", "H", "T", "Dh"})) || // local_attention_c1
      failed(shapes.expect("C1", "key", getKey(), {"B", "H", "T", "Dh"})) ||
      failed(shapes.expect("C1", "value", getValue(), {"B", "H", "T", "Dh"})))
    return failure();
  if (getQuery().getType().isDynamicDim(3)) // local_attention_c1
    return emitOpError() << "(C1) expects a static head width Dh";
  if (Value bias = getBias()) // local_attention_c2
    return shapes.expect("C2", "bias", bias, {"B", "H", "T", "T"});
  return success();
}

LogicalResult MemoryRetrieveOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "query", getQuery(),
                           {"B", "H", "T", "Dh"})) || // memory_retrieve_c1
      failed(shapes.expect("C2", "memory", getMemory(),
                           {"B", "H", "Dh", "Dh"})) || // memory_retrieve_c2
      failed(shapes.expect("C3", "norm", getNorm(),
                           {"B", "H", "Dh"}))) // memory_retrieve_c3
    return failure();
  if (!(getEps().convertToDouble() > 0)) // memory_retrieve_c4
    return emitOpError() << "(C4) expects eps > 0";
  return success();
}

LogicalResult MemoryUpdateOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "key", getKey(),
                           {"B", "H", "T", "Dh"})) || // memory_update_c1
      failed(shapes.expect("C1", "value", getValue(), {"B", "H", "T", "Dh"})) ||
      failed(shapes.expect("C2", "memory", getMemory(),
                           {"B", "H", "Dh", "Dh"})) || // memory_update_c2
      failed(shapes.expect("C3", "norm", getNorm(),
                           {"B", "H", "Dh"}))) // memory_update_c3
    return failure();
  if (!(getEps().convertToDouble() > 0)) // memory_update_c4
    return emitOpError() << "(C4) expects eps > 0";
  return success();
}

LogicalResult MemoryGateOp::verify() {
  ShapeChecker shapes(*this);
  if (failed(shapes.expect("C1", "memory_output", getMemoryOutput(),
                           {"B", "H", "T", "Dh"})) ||        // memory_gate_c1
      failed(shapes.expect("C2", "beta", getBeta(), {"H"}))) // memory_gate_c2
    return failure();
  return success();
}

bool infini::isModelStep(FunctionOpInterface func) {
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    if (func.getArgAttr(i, kInputAttr))
      return true;
  return false;
}

#define GET_OP_CLASSES
#include "dialect/InfiniOps.cpp.inc"
