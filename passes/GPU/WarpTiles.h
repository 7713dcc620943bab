//===- WarpTiles.h - Warp-level tensor-core tiles of products ---*- C++ -*-===//
//
// The tensor-core half of infini-gpu-tile-contractions: a product's
// accumulators cut into warp tiles (grids of 16 x 8 tiles), each warp's
// work held in a warp-level region of whole-warp vector code, and the
// 16 x 8 x k contractions over operand tiles staged in shared memory
// (16-bit, or the TF32 parts of f32 values), which infini-gpu-warp-mma
// distributes over the lanes as ldmatrix and mma.sync.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_PASSES_GPU_WARPTILES_H
#define INFINI_PASSES_GPU_WARPTILES_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {

/// The tensor-core instruction shape: m16 n8, k16 (mma.sync with 16-bit
/// operands and f32 accumulators) or k8 (TF32 operands).
inline constexpr int64_t kMmaRows = 16, kMmaColumns = 8;

/// Whether tensor-core products of `mmaType` are of f32 values in TF32
/// parts (tensor-cores=tf32x3): x = hi + lo, hi being x rounded to TF32 (10
/// fraction bits) and lo the rest, rounded too; a b is computed as
/// a_lo b_hi + a_hi b_lo + a_hi b_hi, three mma.sync whose error, about
/// 2^-22 of the terms, is an f32 product's, where one TF32 product errs by
/// 2^-11 as f16 does.
inline bool splitsTF32(mlir::Type mmaType) {
  return mmaType && mmaType.isF32();
}

/// The reduction depth of one tensor-core product of `mmaType` operands.
inline int64_t mmaDepth(mlir::Type mmaType) {
  return splitsTF32(mmaType) ? 8 : 16;
}

/// The zero of `type`, at the insertion point.
mlir::Value zeroOf(mlir::OpBuilder &builder, mlir::Location loc,
                   mlir::Type type);

/// A parallel loop over `[0, upper)` at the insertion point, with the
/// insertion point moved into its body; returns its induction variables.
llvm::SmallVector<mlir::Value> parallelLoop(mlir::IRRewriter &rewriter,
                                            mlir::Location loc,
                                            llvm::ArrayRef<int64_t> upper);

/// How a `rows` x `columns` accumulator is cut into warp tiles: each warp
/// tile is `tileRows` x `tileColumns` 16 x 8 tiles, and there are `down` x
/// `across` warp tiles.
struct WarpTiling {
  int64_t tileRows, tileColumns, down, across;
  int64_t count() const { return down * across; }
};

/// The warp tiles of a `rows` x `columns` product shared by `warps` warps:
/// as many 16 x 8 tiles each as keep every warp busy, in a block about twice
/// as wide in tiles as tall (square in elements), so that each operand
/// fragment a warp loads feeds several mma.sync instructions.
WarpTiling warpTileShape(int64_t rows, int64_t columns, int64_t warps);

/// A warp's part of the accumulators: a grid of 16 x 8 tiles whose first
/// rows and columns are `rows` and `columns` (index values).
struct WarpTile {
  llvm::SmallVector<mlir::Value> rows, columns;
};

/// A warp-level loop over the warp tiles of `tiling`, with the insertion
/// point left in its body; returns its induction variables.
llvm::SmallVector<mlir::Value> warpTileLoop(mlir::IRRewriter &rewriter,
                                            mlir::Location loc,
                                            const WarpTiling &tiling);

/// A warp-level `scf.execute_region` yielding `resultTypes`, whose body is
/// at the insertion point, and the warp tile `t` (the warp-level loop's
/// induction variables) of `tiling`, its indices computed by affine.apply
/// inside the region, so that the distribution over lanes sees nothing
/// else (see infini-gpu-warp-mma).
std::pair<mlir::scf::ExecuteRegionOp, WarpTile>
warpRegion(mlir::IRRewriter &rewriter, mlir::Location loc,
           mlir::TypeRange resultTypes, llvm::ArrayRef<mlir::Value> t,
           const WarpTiling &tiling);

/// A 2-D `vector.transfer_read` of `shape` from `buffer` at (row, column).
mlir::Value readTile(mlir::OpBuilder &builder, mlir::Location loc,
                     mlir::Value buffer, llvm::ArrayRef<int64_t> shape,
                     mlir::Value row, mlir::Value column);

/// Accumulates the product of `lhsTiles`' rows and `rhsTiles`' columns of
/// `warpTile` over the `depth` of the staged slice into `accs` (one 16 x 8
/// f32 vector per tile, row-major): a loop over 16-deep steps carrying the
/// accumulators, each step one 16 x 16 read of the left operand per tile
/// row, one 16 x 8 read of the right operand per tile column and one
/// 16 x 8 x 16 vector.contract per tile, so that each fragment feeds
/// several products. (A loop rather than unrolled steps keeps the code, and
/// the host emulation's compile time, small; infini-gpu-warp-mma unrolls
/// it.) With TF32 parts (hi and lo tiles of each operand) the steps are
/// 8 deep and each tile takes three products, the small terms first.
void multiplyWarpTile(mlir::IRRewriter &rewriter, mlir::Location loc,
                      const WarpTile &warpTile, int64_t depth,
                      llvm::ArrayRef<mlir::Value> lhsTiles,
                      llvm::ArrayRef<mlir::Value> rhsTiles,
                      llvm::MutableArrayRef<mlir::Value> accs);

/// Writes `accs`, the tiles of `warpTile`, to `buffer`.
void writeWarpTile(mlir::IRRewriter &rewriter, mlir::Location loc,
                   const WarpTile &warpTile, llvm::ArrayRef<mlir::Value> accs,
                   mlir::Value buffer);

} // namespace infini

#endif // INFINI_PASSES_GPU_WARPTILES_H
