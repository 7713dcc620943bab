//===- InfiniDialect.cpp - The infini dialect -----------------------------===//

#include "dialect/InfiniDialect.h"
#include "dialect/InfiniOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace infini;

#include "dialect/InfiniDialect.cpp.inc"
#include "dialect/InfiniEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "dialect/InfiniAttrs.cpp.inc"

void InfiniDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/InfiniAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/InfiniOps.cpp.inc"
      >();
}
