//===- MmaFragments.h - Whole-warp tiles as mma.sync fragments --*- C++ -*-===//
//
// Distribution over a warp's lanes of the warp-level regions marked
// infini.mma_fragments (infini-gpu-flash-attention), and the bf16 form of
// mma.sync, shared with infini-gpu-warp-mma's upstream-converted regions.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_PASSES_GPU_MMAFRAGMENTS_H
#define INFINI_PASSES_GPU_MMAFRAGMENTS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {

/// Rewrites the whole-warp vector code of `kernel`'s infini.mma_fragments
/// regions, and the vectors their enclosing loops carry, as per-lane code
/// in the m16n8k16 mma.sync fragment layouts (lane = 4 g + t):
///   - 16 x 8 tiles (accumulators, right operands): vector<2x2>, row i of
///     the lane's part being tile row g + 8 i, columns 2 t and 2 t + 1;
///   - 16 x 16 tiles (left operands): vector<4x2>, rows g, g + 8, g, g + 8
///     and columns 2 t (+1), then 8 + 2 t (+1);
///   - 16-element row vectors: vector<2>, rows g and g + 8;
///   - of f32 tiles (TF32 parts, m16n8k8 products), 16 x 8 left operands
///     take the accumulators' layout and 8 x 8 right operands are
///     vector<2x1>, rows 2 t and 2 t + 1 of column g.
/// Operand tiles are read by ldmatrix, products are mma.sync, a reduction
/// over a tile's columns is the lane's pair and two xor shuffles among the
/// four lanes of a row. Returns whether the kernel had such regions; fails,
/// with an error on the op, where a region holds an op it cannot
/// distribute.
mlir::FailureOr<bool> distributeMmaFragments(mlir::IRRewriter &rewriter,
                                             mlir::gpu::GPUFuncOp kernel);

/// An m16n8k16 mma.sync of the per-lane fragments `a` (vector<4x2>), `b`
/// (vector<2x2>) of bf16 bits (any 16-bit element type) and the f32
/// accumulator `c` (vector<2x2xf32>), as nvvm.mma.sync on bf16; returns the
/// updated accumulator.
mlir::Value createBF16MmaSync(mlir::OpBuilder &builder, mlir::Location loc,
                              mlir::Value a, mlir::Value b, mlir::Value c);

} // namespace infini

#endif // INFINI_PASSES_GPU_MMAFRAGMENTS_H
