//===- InfiniOps.h - Ops of the infini dialect ------------------*- C++ -*-===//

#ifndef INFINI_DIALECT_INFINIOPS_H
#define INFINI_DIALECT_INFINIOPS_H

#include "dialect/InfiniDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/InfiniEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/InfiniAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialect/InfiniOps.h.inc"

namespace infini {
/// Names of the argument and result attributes that bind a model function's
/// values to the runtime (see the dialect description).
constexpr llvm::StringLiteral kInputAttr = "infini.input";
constexpr llvm::StringLiteral kPositionAttr = "infini.position";
constexpr llvm::StringLiteral kValidLengthAttr = "infini.valid_length";
constexpr llvm::StringLiteral kWeightAttr = "infini.weight";
constexpr llvm::StringLiteral kStateAttr = "infini.state";
constexpr llvm::StringLiteral kOutputAttr = "infini.output";
/// Marks a step argument computed once from the weights by the step's
/// `_prepare` function, and that function's result of the same name.
constexpr llvm::StringLiteral kPreparedAttr = "infini.prepared";

/// Whether `func` is a model step function: one with an `infini.input`
/// argument.
bool isModelStep(mlir::FunctionOpInterface func);
} // namespace infini

#endif // INFINI_DIALECT_INFINIOPS_H
