//===- Npy.h - NumPy .npy arrays, whole or streamed -------------*- C++ -*-===//
//
// Inputs may hold a million tokens, so an input .npy is read range by range
// and an output .npy is written range by range into a file created at its
// final size: no buffer ever holds a whole sequence. Small arrays (state
// members, test fixtures) go through the whole-array helpers.
//
// Accepted dtypes: '<f4', '<f8', '<i4', '<i8' and '<f2' ('=' is taken as
// little-endian). Big-endian data, fortran_order arrays and structured or
// object dtypes are rejected with an error naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_NPY_H
#define INFINI_RUNTIME_NPY_H

#include "runtime/File.h"
#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <string>
#include <vector>

namespace infini::rt {

/// The parsed header of an .npy array.
struct NpyHeader {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  int64_t numElements = 0;
  /// Byte offset of the first element from the start of the array's bytes.
  uint64_t dataOffset = 0;
};

/// A sequential source of bytes: a file, or a possibly compressed member of
/// a zip archive.
class ByteSource {
public:
  virtual ~ByteSource() = default;
  /// Total number of bytes the source holds.
  virtual uint64_t size() const = 0;
  /// Reads the next `count` bytes; fails if fewer remain.
  virtual Status read(void *dst, size_t count) = 0;
};

/// Reads and validates an .npy header from the start of `source`, checking
/// that the source holds all the data it declares. Errors begin with `where`.
StatusOr<NpyHeader> readNpyHeader(ByteSource &source, const std::string &where);

/// Reads a whole .npy array (header and data) from the start of `source`.
StatusOr<Tensor> readNpyArray(ByteSource &source, const std::string &where);

/// Builds the full header (magic, version, length, padded dict) for an array
/// of `dtype` and `shape`, sized so that the data starts 64-byte aligned.
std::string buildNpyHeader(DType dtype, const std::vector<int64_t> &shape);

/// An .npy file opened for reading element ranges.
class NpyReader {
public:
  /// Opens `path`, parses its header and checks that the file holds all the
  /// data the header declares.
  static StatusOr<NpyReader> open(const std::string &path);

  const std::string &path() const { return file.path(); }
  DType dtype() const { return header.dtype; }
  const std::vector<int64_t> &shape() const { return header.shape; }
  int64_t numElements() const { return header.numElements; }

  /// Reads elements [first, first + count) in flat row-major order into
  /// `dst`, in the file's dtype.
  Status read(int64_t first, int64_t count, void *dst) const;

  /// Reads the whole array.
  StatusOr<Tensor> readAll() const;

private:
  NpyReader(ReadableFile file, NpyHeader header)
      : file(std::move(file)), header(std::move(header)) {}

  ReadableFile file;
  NpyHeader header;
};

/// An .npy file of known dtype and shape, filled by element ranges in any
/// order and published at its path by commit(). Destroying it uncommitted
/// removes the temporary file; elements never written read as zero.
class NpyWriter {
public:
  /// Creates the temporary file at its final size.
  static StatusOr<NpyWriter> create(const std::string &path, DType dtype,
                                    std::vector<int64_t> shape);

  const std::string &path() const { return file.path(); }
  const std::vector<int64_t> &shape() const { return dims; }

  /// Writes `count` elements of the writer's dtype from `src` at flat element
  /// offset `first`.
  Status write(int64_t first, int64_t count, const void *src);

  /// Renames the file onto its path.
  Status commit() { return file.commit(); }

private:
  NpyWriter(AtomicFile file, DType dtype, std::vector<int64_t> shape,
            int64_t count, uint64_t dataOffset)
      : file(std::move(file)), dtype(dtype), dims(std::move(shape)),
        elementCount(count), dataOffset(dataOffset) {}

  AtomicFile file;
  DType dtype;
  std::vector<int64_t> dims;
  int64_t elementCount;
  uint64_t dataOffset;
};

/// Reads a whole .npy file.
StatusOr<Tensor> readNpy(const std::string &path);

/// Writes `tensor` as an .npy file, atomically. BF16 has no NumPy dtype and
/// is rejected.
Status writeNpy(const std::string &path, const Tensor &tensor);

} // namespace infini::rt

#endif // INFINI_RUNTIME_NPY_H
