//===- File.cpp - Bounds-checked reads and atomic writes ------------------===//
//
// Part of the Infini runtime; see File.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/File.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

using namespace infini::rt;

static std::string errnoText() { return std::strerror(errno); }

std::string infini::rt::baseName(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

//===----------------------------------------------------------------------===//
// ReadableFile
//===----------------------------------------------------------------------===//

StatusOr<ReadableFile> ReadableFile::open(const std::string &path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return Status::error(path + ": cannot open: " + errnoText());
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    Status status = Status::error(path + ": cannot stat: " + errnoText());
    ::close(fd);
    return status;
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::error(path + ": not a regular file");
  }
  ReadableFile file;
  file.fd = fd;
  file.filePath = path;
  file.fileSize = uint64_t(info.st_size);
  return file;
}

ReadableFile::ReadableFile(ReadableFile &&other) noexcept
    : fd(std::exchange(other.fd, -1)), filePath(std::move(other.filePath)),
      fileSize(other.fileSize) {}

ReadableFile &ReadableFile::operator=(ReadableFile &&other) noexcept {
  if (this != &other) {
    if (fd >= 0)
      ::close(fd);
    fd = std::exchange(other.fd, -1);
    filePath = std::move(other.filePath);
    fileSize = other.fileSize;
  }
  return *this;
}

ReadableFile::~ReadableFile() {
  if (fd >= 0)
    ::close(fd);
}

Status ReadableFile::readAt(uint64_t offset, void *dst, size_t count) const {
  if (offset > fileSize || count > fileSize - offset)
    return Status::error(filePath + ": truncated: needs bytes " +
                         std::to_string(offset) + ".." +
                         std::to_string(offset + count) + " but has " +
                         std::to_string(fileSize));
  char *out = static_cast<char *>(dst);
  while (count > 0) {
    ssize_t got = ::pread(fd, out, count, off_t(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return Status::error(filePath + ": read failed: " + errnoText());
    // The file shrank since open().
    if (got == 0)
      return Status::error(filePath + ": unexpected end of file at byte " +
                           std::to_string(offset));
    out += got;
    offset += uint64_t(got);
    count -= size_t(got);
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// AtomicFile
//===----------------------------------------------------------------------===//

StatusOr<AtomicFile> AtomicFile::create(const std::string &path) {
  // Fail now rather than at the rename after all the work is done.
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
    return Status::error(path + ": is a directory");
  static std::atomic<unsigned> counter{0};
  // O_EXCL with a name unique to this process and call; retry on collision
  // with a stale file. Unlike mkstemp this keeps the umask-derived mode.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string temp = path + ".tmp." + std::to_string(::getpid()) + "." +
                       std::to_string(counter.fetch_add(1));
    int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && (errno == EEXIST || errno == EINTR))
      continue;
    if (fd < 0)
      return Status::error(path + ": cannot create: " + errnoText());
    AtomicFile file;
    file.fd = fd;
    file.finalPath = path;
    file.tempPath = std::move(temp);
    return file;
  }
  return Status::error(path + ": cannot create a unique temporary file");
}

AtomicFile::AtomicFile(AtomicFile &&other) noexcept
    : fd(std::exchange(other.fd, -1)), finalPath(std::move(other.finalPath)),
      tempPath(std::move(other.tempPath)), nextOffset(other.nextOffset) {
  other.tempPath.clear();
}

AtomicFile &AtomicFile::operator=(AtomicFile &&other) noexcept {
  if (this != &other) {
    discard();
    fd = std::exchange(other.fd, -1);
    finalPath = std::move(other.finalPath);
    tempPath = std::move(other.tempPath);
    other.tempPath.clear();
    nextOffset = other.nextOffset;
  }
  return *this;
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
  if (!tempPath.empty())
    ::unlink(tempPath.c_str());
  tempPath.clear();
}

Status AtomicFile::writeAt(uint64_t offset, const void *src, size_t count) {
  if (fd < 0)
    return Status::error(finalPath + ": write after commit or failure");
  const char *in = static_cast<const char *>(src);
  while (count > 0) {
    ssize_t put = ::pwrite(fd, in, count, off_t(offset));
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0)
      return Status::error(finalPath + ": write failed: " +
                           (put < 0 ? errnoText() : "no progress"));
    in += put;
    offset += uint64_t(put);
    count -= size_t(put);
  }
  return Status::ok();
}

Status AtomicFile::append(const void *src, size_t count) {
  INFINI_RETURN_IF_ERROR(writeAt(nextOffset, src, count));
  nextOffset += count;
  return Status::ok();
}

Status AtomicFile::resize(uint64_t size) {
  if (fd < 0)
    return Status::error(finalPath + ": resize after commit or failure");
  // Reserve the blocks now so a full disk fails before any work is done;
  // filesystems without fallocate just get a sparse file.
  if (size > nextOffset &&
      ::fallocate(fd, 0, off_t(nextOffset), off_t(size - nextOffset)) != 0 &&
      errno != EOPNOTSUPP && errno != ENOSYS && errno != EINTR)
    return Status::error(finalPath + ": cannot reserve " +
                         std::to_string(size) + " bytes: " + errnoText());
  if (::ftruncate(fd, off_t(size)) != 0)
    return Status::error(finalPath + ": cannot set size to " +
                         std::to_string(size) + " bytes: " + errnoText());
  return Status::ok();
}

Status AtomicFile::commit() {
  if (fd < 0)
    return Status::error(finalPath + ": already committed or failed");
  // close() can report a deferred write error (NFS, quota); check it.
  int closed = ::close(fd);
  fd = -1;
  if (closed != 0) {
    Status status = Status::error(finalPath + ": write failed: " + errnoText());
    discard();
    return status;
  }
  if (::rename(tempPath.c_str(), finalPath.c_str()) != 0) {
    Status status =
        Status::error(finalPath + ": cannot rename into place: " + errnoText());
    discard();
    return status;
  }
  tempPath.clear();
  return Status::ok();
}
