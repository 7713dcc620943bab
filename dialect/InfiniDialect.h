//===- InfiniDialect.h - The infini dialect ---------------------*- C++ -*-===//

#ifndef INFINI_DIALECT_INFINIDIALECT_H
#define INFINI_DIALECT_INFINIDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialect/InfiniDialect.h.inc"

#endif // INFINI_DIALECT_INFINIDIALECT_H
