//===- LoweringUtils.h - Builders shared by the infini lowerings -*- C++
//-*-===//
//
// Small builders for the linalg/tensor IR that every op family's lowering
// emits: empty and zero-filled tensors shaped like a value, element-wise and
// reduction generics, contractions, and scalar math helpers.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_PASSES_LOWERTOLINALG_LOWERINGUTILS_H
#define INFINI_PASSES_LOWERTOLINALG_LOWERINGUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
class MemoryRetrieveOp;
class MemoryUpdateOp;
class RopeOp;
} // namespace infini

namespace infini::lowering {

using BodyBuilder = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange /*block arguments*/)>;

/// The largest divisor of `size` that is at most `target` (a tile size that
/// leaves no partial tile).
int64_t largestDivisorAtMost(int64_t size, int64_t target);

/// The sizes of a ranked tensor value, dynamic ones read with tensor.dim.
llvm::SmallVector<mlir::OpFoldResult>
sizesOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor);

/// A tensor.empty of the given sizes.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes,
                        mlir::Type elementType);

/// A tensor of the given sizes filled with `value`.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         llvm::ArrayRef<mlir::OpFoldResult> sizes,
                         mlir::Type elementType, double value);

/// An f32 (or `type`) constant.
mlir::Value floatConstant(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Type type, double value);

/// The affine map (d0..d{rank-1}) -> (d{dims[0]}, d{dims[1]}, ...).
mlir::AffineMap projection(mlir::MLIRContext *ctx, unsigned rank,
                           llvm::ArrayRef<unsigned> dims);

/// A linalg.generic over the iteration space of `init` (identity-indexed),
/// with each input read through the matching map of `inputMaps`, all loops
/// parallel. `body` gets the input elements then the output element.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::ValueRange inputs,
                             llvm::ArrayRef<mlir::AffineMap> inputMaps,
                             mlir::Value init, BodyBuilder body);

/// `value` (a ranked f32 tensor) times `scale`, rounded element-wise to
/// `type`: a linalg.generic whose payload yields the `arith.truncf`.
mlir::Value buildRounding(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value value, mlir::FloatType type,
                          double scale = 1.0);

/// A linalg.generic over `numLoops` loops that folds the loops not in
/// `outputMap` into `init`: `combine` gets the input elements followed by
/// the accumulator and returns the new accumulator.
mlir::Value buildFold(mlir::OpBuilder &b, mlir::Location loc, unsigned numLoops,
                      mlir::ValueRange inputs,
                      llvm::ArrayRef<mlir::AffineMap> inputMaps,
                      mlir::Value init, mlir::AffineMap outputMap,
                      BodyBuilder combine);

/// A linalg.generic that sums `body(inputs)` over the loops not in `outputMap`
/// into `init` (whose existing values are accumulated onto).
mlir::Value buildReduction(mlir::OpBuilder &b, mlir::Location loc,
                           unsigned numLoops, mlir::ValueRange inputs,
                           llvm::ArrayRef<mlir::AffineMap> inputMaps,
                           mlir::Value init, mlir::AffineMap outputMap,
                           BodyBuilder body);

/// A multiply-accumulate contraction `init[out] += lhs[lhsDims] * rhs[rhsDims]`
/// over `numLoops` loops; loops absent from `outDims` are reductions.
mlir::Value buildContraction(mlir::OpBuilder &b, mlir::Location loc,
                             unsigned numLoops, mlir::Value lhs,
                             llvm::ArrayRef<unsigned> lhsDims, mlir::Value rhs,
                             llvm::ArrayRef<unsigned> rhsDims, mlir::Value init,
                             llvm::ArrayRef<unsigned> outDims);

/// Output columns per packed weight panel: one register tile's width.
constexpr int64_t kPanelWidth = 32;

/// An `[O, I]` weight (O a multiple of kPanelWidth) packed into panels
/// `[O/32, I, 32]`: a register tile's 32 columns of the weight are then one
/// contiguous stream over the reduction, as in a BLAS packed panel, instead
/// of 128-byte pieces 4*O bytes apart.
mlir::Value packWeightPanels(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value weight);

/// swish_beta(gate) * up = gate * sigmoid(beta * gate) * up.
mlir::Value swishTimes(mlir::OpBuilder &b, mlir::Location loc, mlir::Value gate,
                       mlir::Value up, double beta);

/// `y[b, t, o] = sum_i x[b, t, i] * w[o, i]` (an nn.Linear projection). The
/// weight is packed into panels (or, for other widths, transposed) so the
/// contraction's output-column loop reads it contiguously.
mlir::Value buildLinear(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                        mlir::Value weight);

/// sigmoid(x) = 1 / (1 + exp(-x)).
mlir::Value sigmoid(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);
/// exp(x - y), the shifted exponential of a numerically stable softmax.
mlir::Value expDifference(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                          mlir::Value y);
/// elu(x) + 1: x + 1 for x > 0, exp(x) otherwise (always positive).
mlir::Value eluPlusOne(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// CoPE's bias at an f64 `position`: with p = min(position, positions - 1),
/// (1 - w) z[..., floor p] + w z[..., ceil p], w = p - floor p, read from `z`
/// at `leadingIndices` followed by the position index. Positions are sums of
/// hundreds of gates, so they are accumulated and interpolated in f64; the
/// result has z's element type.
mlir::Value interpolateCopeBias(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value z, mlir::ValueRange leadingIndices,
                                mlir::Value position, int64_t positions);

/// RoPE's `[tokens, rotary_dim / 2]` tables of cos and sin of the angles
/// `(offset + t) / scaling_factor * theta^(-2i / rotary_dim)`, evaluated in
/// f64 (positions reach the millions) and stored as `elementType`.
std::pair<mlir::Value, mlir::Value>
buildRopeAngleTables(mlir::OpBuilder &b, mlir::Location loc, RopeOp op,
                     mlir::OpFoldResult tokens, mlir::Type elementType);

/// Infini-attention's feature map s(x) = elu(x) + 1 of one element, or 0
/// when `validLength` is given and the element's `token` (an index) is not
/// below it (padding past a segment's valid tokens writes nothing).
mlir::Value maskedFeatureMap(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value x, mlir::Value token,
                             mlir::Value validLength);

/// The lowering of `op` given its mapped queries s(query).
mlir::Value lowerMemoryRetrieve(mlir::OpBuilder &b, MemoryRetrieveOp op,
                                mlir::Value mappedQuery);

/// The lowering of `op` (new memory, new norm) given its mapped keys s(key),
/// already 0 past the valid length.
std::pair<mlir::Value, mlir::Value>
lowerMemoryUpdate(mlir::OpBuilder &b, MemoryUpdateOp op, mlir::Value mappedKey);

} // namespace infini::lowering

#endif // INFINI_PASSES_LOWERTOLINALG_LOWERINGUTILS_H
