//===- Passes.td - Passes of the infini compiler ---------------------------===//

#ifndef INFINI_PASSES_PASSES_TD
#define INFINI_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"infini-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower infini ops to linalg, tensor, arith and math";
  let description = [{
    Rewrites every `infini` op into ops on tensors: `linalg.generic` and
    named linalg ops for contractions and element-wise work, `tensor` ops for
    reshapes, and `scf.for` where an op carries a recurrence (the reversed
    cumulative sum of CoPE gates). Matrix products become contractions whose
    innermost loop reads the weight contiguously (the weight is transposed
    once per step), ready for `infini-vectorize-contractions`.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect"
  ];
}

def VectorizeContractions : Pass<"infini-vectorize-contractions", "mlir::func::FuncOp"> {
  let summary = "Tile matrix-product contractions into register tiles and vectorize them";
  let description = [{
    Tiles every `linalg` contraction (batch dimensions by 1, the output rows
    and columns into a register tile, the reduction by `reduction-tile`) and
    vectorizes each tile into a `vector.contract`, which later lowers to
    outer products (FMAs) over the register tile. Tile sizes that do not
    divide a dimension fall back to the largest divisor below them, so every
    tile is full and no masking is needed.
  }];
  let options = [
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"8",
           "Rows of the output in one register tile">,
    Option<"columnTile", "column-tile", "int64_t", /*default=*/"32",
           "Columns of the output in one register tile">,
    Option<"reductionTile", "reduction-tile", "int64_t", /*default=*/"1",
           "Reduction elements consumed per vector.contract">
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect"
  ];
}

def HoistVectorTransfers : Pass<"infini-hoist-vector-transfers", "mlir::func::FuncOp"> {
  let summary = "Keep register-tile accumulators in registers across reduction loops";
  let description = [{
    On bufferized code: folds subviews into vector transfers, hoists loop
    invariants and then the read/write pair of each accumulator out of the
    reduction loop, so a tile's accumulator stays in vector registers.
  }];
  let dependentDialects = ["mlir::affine::AffineDialect", "mlir::vector::VectorDialect"];
}

def ExportStep : Pass<"infini-export-step", "mlir::ModuleOp"> {
  let summary = "Give model step functions the C calling interface the runtime uses";
  let description = [{
    Marks every function with an `infini.input` argument with
    `llvm.emit_c_interface`, so that after results become out-parameters the
    JIT and ahead-of-time paths can call it through MLIR's packed
    `void(void **)` wrapper.
  }];
}

#endif // INFINI_PASSES_PASSES_TD
