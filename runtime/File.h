//===- File.h - Bounds-checked reads and atomic writes ----------*- C++ -*-===//
//
// The two ways the runtime touches files. Reads are positioned and checked
// against the file size, so a corrupt length or offset yields an error rather
// than a short read. Writes go to a temporary file beside the destination that
// is renamed onto it only once complete, so a failure leaves no partial output.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_FILE_H
#define INFINI_RUNTIME_FILE_H

#include "runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace infini::rt {

/// A regular file opened read-only for positioned reads.
class ReadableFile {
public:
  /// Opens `path`; fails if it is missing, unreadable or not a regular file.
  static StatusOr<ReadableFile> open(const std::string &path);

  ReadableFile(ReadableFile &&other) noexcept;
  ReadableFile &operator=(ReadableFile &&other) noexcept;
  ReadableFile(const ReadableFile &) = delete;
  ReadableFile &operator=(const ReadableFile &) = delete;
  ~ReadableFile();

  const std::string &path() const { return filePath; }
  uint64_t size() const { return fileSize; }

  /// Reads exactly `count` bytes at `offset`. Fails, naming the file, if the
  /// range is not inside the file or the read fails.
  Status readAt(uint64_t offset, void *dst, size_t count) const;

private:
  ReadableFile() = default;

  int fd = -1;
  std::string filePath;
  uint64_t fileSize = 0;
};

/// A file written under a temporary name in the destination's directory and
/// renamed onto the destination by commit(). Destroying it uncommitted
/// removes the temporary file.
class AtomicFile {
public:
  /// Creates the temporary file for `path`.
  static StatusOr<AtomicFile> create(const std::string &path);

  AtomicFile(AtomicFile &&other) noexcept;
  AtomicFile &operator=(AtomicFile &&other) noexcept;
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  ~AtomicFile();

  /// The destination path.
  const std::string &path() const { return finalPath; }

  /// Writes `count` bytes at `offset`.
  Status writeAt(uint64_t offset, const void *src, size_t count);
  /// Writes `count` bytes after the last byte appended so far.
  Status append(const void *src, size_t count);
  /// Bytes appended so far.
  uint64_t appendOffset() const { return nextOffset; }
  /// Sets the file size up front (later writes fill it in).
  Status resize(uint64_t size);
  /// Closes the file and renames it onto the destination.
  Status commit();

private:
  AtomicFile() = default;
  void discard();

  int fd = -1;
  std::string finalPath;
  std::string tempPath;
  uint64_t nextOffset = 0;
};

/// The last component of `path`, for naming files in messages.
std::string baseName(const std::string &path);

} // namespace infini::rt

#endif // INFINI_RUNTIME_FILE_H
