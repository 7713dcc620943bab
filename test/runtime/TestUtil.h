//===- TestUtil.h - Fixtures shared by the runtime tests --------*- C++ -*-===//
//
// Tests write their fixture files themselves, into a fresh directory per
// test that is removed afterwards.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_TEST_RUNTIME_TESTUTIL_H
#define INFINI_TEST_RUNTIME_TESTUTIL_H

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace infini::rt::test {

/// A fresh directory, removed with its files when destroyed.
class TempDir {
public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "infini-rt-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const char *made = ::mkdtemp(buffer.data());
    EXPECT_NE(made, nullptr) << "cannot create " << pattern;
    root = made ? made : "/nonexistent";
  }
  ~TempDir() {
    for (const std::string &name : list())
      ::unlink((root + "/" + name).c_str());
    ::rmdir(root.c_str());
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  /// The path of `name` inside the directory.
  std::string path(const std::string &name) const { return root + "/" + name; }

  /// Names of the files in the directory, sorted.
  std::vector<std::string> list() const {
    std::vector<std::string> names;
    if (DIR *dir = ::opendir(root.c_str())) {
      while (dirent *entry = ::readdir(dir)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..")
          names.push_back(name);
      }
      ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

private:
  std::string root;
};

/// Writes `bytes` to `path`, replacing it.
inline void writeFile(const std::string &path, const std::string &bytes) {
  // A fresh inode: truncating a file in place makes ext4 flush it on close,
  // which slows the corruption sweeps a hundredfold.
  ::unlink(path.c_str());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

/// The whole content of `path`.
inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline bool fileExists(const std::string &path) {
  return ::access(path.c_str(), F_OK) == 0;
}

/// The raw bytes of a vector of trivially copyable values.
template <typename T> std::string bytesOf(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(T));
}

/// Builds a safetensors file from a header text and a data section.
inline std::string makeSafetensorsRaw(const std::string &header,
                                      const std::string &data) {
  std::string file(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    file[size_t(i)] = char((length >> (8 * i)) & 0xff);
  return file + header + data;
}

/// One tensor of a hand-built safetensors file.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string data;
};

/// Builds a safetensors file: length, JSON header, data, in entry order.
inline std::string makeSafetensors(const std::vector<SafetensorsEntry> &entries,
                                   const std::string &metadata = "") {
  std::string header = "{";
  if (!metadata.empty())
    header += "\"__metadata__\":" + metadata + ",";
  std::string data;
  for (size_t i = 0; i < entries.size(); ++i) {
    const SafetensorsEntry &entry = entries[i];
    if (i)
      header += ",";
    header +=
        "\"" + entry.name + "\":{\"dtype\":\"" + entry.dtype + "\",\"shape\":[";
    for (size_t d = 0; d < entry.shape.size(); ++d)
      header += (d ? "," : "") + std::to_string(entry.shape[d]);
    header += "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + entry.data.size()) + "]}";
    data += entry.data;
  }
  header += "}";
  return makeSafetensorsRaw(header, data);
}

} // namespace infini::rt::test

#endif // INFINI_TEST_RUNTIME_TESTUTIL_H
