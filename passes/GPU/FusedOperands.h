//===- FusedOperands.h - Producers a GPU product recomputes -----*- C++ -*-===//
//
// A GPU tile product stages slices of its inputs in shared memory. When an
// input is a temporary that element-wise ops wrote just for this product
// (SwiGLU's gated activation, the memory's mixed attention output and its
// transpose, the delta rule's V - retrieved), the staging can compute each
// element from the producers' own inputs instead: the producers' kernels,
// and a write and a read of the temporary, disappear.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_PASSES_GPU_FUSEDOPERANDS_H
#define INFINI_PASSES_GPU_FUSEDOPERANDS_H

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/Alignment.h"

#include <vector>

namespace infini {

/// Loads `width` consecutive elements of `buffer` at `indices`: a scalar for
/// a width of 1, else a vector, aligned to `alignment` bytes if known.
mlir::Value loadElements(mlir::OpBuilder &builder, mlir::Location loc,
                         mlir::Value buffer, mlir::ValueRange indices,
                         int64_t width, llvm::MaybeAlign alignment = {});

/// The alignment of a vector access of `width` elements of `buffer`, whose
/// layout is the identity and whose last dimension is a multiple of
/// `width`: the whole vector.
llvm::MaybeAlign vectorAlignment(mlir::Value buffer, int64_t width);

/// Whether two buffers may share memory. Views of one root do; a select of
/// buffers may be either; fresh allocations and weights (read-only) share
/// memory with nothing else; the runtime passes each argument of a step
/// with a binding attribute (`infini.input`, `infini.state`,
/// `infini.output`, ...) in a buffer of its own. Other function arguments,
/// and buffers of any other origin, may alias one another.
bool buffersMayAlias(mlir::Value a, mlir::Value b);

/// Calls `onEffect` with each memory effect of `op` and of the ops nested
/// in it (and the op that has it); false where an effect is unknown (an op
/// without effects of its own or of its body, an effect on no particular
/// buffer) or `onEffect` returned false.
bool forEachMemoryEffect(
    mlir::Operation *op,
    llvm::function_ref<bool(mlir::Operation *,
                            const mlir::MemoryEffects::EffectInstance &)>
        onEffect);

/// An input buffer of a product (or of a fused producer), with the
/// element-wise op that last wrote it where the product can recompute its
/// elements instead of loading them, and, recursively, that op's inputs.
///
/// A producer P of the buffer B that a consumer C reads (through collapse
/// and expand views) is fused when:
/// - B is a fresh allocation and P, in C's block, is the last op before C
///   that accesses it; P writes all of B (its only output, through a
///   permutation) from its inputs alone, with pure scalar ops;
/// - nothing between P and the product writes or frees memory that may
///   alias P's inputs (their deallocations move after the product);
/// - B's values are dead after C: B is next freed or wholly overwritten.
class FusedOperand {
public:
  /// `operand` of `consumer` (in the block of `product`, or `product`
  /// itself), with its fusable producers.
  static FusedOperand analyze(mlir::Operation *product,
                              mlir::linalg::LinalgOp consumer,
                              mlir::OpOperand &operand);

  /// `buffer` loaded as it is.
  static FusedOperand load(mlir::Value buffer);

  /// The ops recomputed in place of loads, outermost first.
  void collectProducers(llvm::SmallVectorImpl<mlir::Operation *> &ops) const;

  /// Whether `read` can return `width` consecutive elements along the last
  /// dimension as a vector (the caller has checked the buffer itself).
  bool canReadVectors(int64_t width) const;

  /// The buffer's elements at `indices`: `width` of them along the last
  /// dimension as a vector if width > 1, else a scalar; loaded, or
  /// computed by the producers.
  mlir::Value read(mlir::OpBuilder &builder, mlir::Location loc,
                   mlir::ValueRange indices, int64_t width) const;

  /// Moves the deallocations of the producers' inputs that lie between
  /// them and `product` to right after `product`. Call before rewriting
  /// the product, whose replacement is inserted before it.
  void moveDeallocationsAfter(mlir::Operation *product) const;

  /// Erases the producers, and their outputs where nothing else uses them.
  /// Call once the product no longer reads the buffer.
  void eraseProducers(mlir::RewriterBase &rewriter) const;

private:
  /// The buffer the consumer reads.
  mlir::Value buffer;
  /// The collapse/expand views from `buffer` down to the producer's
  /// output, outermost first.
  llvm::SmallVector<mlir::Operation *> views;
  /// Op handles are values: const methods copy it to call its methods.
  mlir::linalg::LinalgOp producer;
  /// One per DPS input of the producer.
  std::vector<FusedOperand> inputs;
  /// Deallocations of the producers' inputs before the product.
  llvm::SmallVector<mlir::Operation *> deallocations;

  static FusedOperand analyze(mlir::Operation *product,
                              mlir::linalg::LinalgOp consumer,
                              mlir::OpOperand &operand, unsigned depth);
  void eraseProducers(mlir::RewriterBase &rewriter,
                      llvm::SmallPtrSetImpl<mlir::Operation *> &erased) const;
  mlir::Value compute(mlir::OpBuilder &builder, mlir::Location loc,
                      llvm::ArrayRef<mlir::Value> point, int64_t width) const;
};

} // namespace infini

#endif // INFINI_PASSES_GPU_FUSEDOPERANDS_H
