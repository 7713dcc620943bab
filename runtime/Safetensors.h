//===- Safetensors.h - Reading model weights --------------------*- C++ -*-===//
//
// A .safetensors file is an 8-byte little-endian header length, a JSON header
// mapping tensor names to {dtype, shape, data_offsets}, then the data section.
// WeightFile validates the whole header when opened and reads tensor data on
// demand, so only the weights a model uses are ever loaded.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_SAFETENSORS_H
#define INFINI_RUNTIME_SAFETENSORS_H

#include "runtime/File.h"
#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace infini::rt {

/// One tensor entry of a safetensors header.
struct WeightInfo {
  /// The dtype as the file spells it: "F32", "BF16", "I8", ...
  std::string dtypeName;
  /// The runtime's dtype, absent for dtypes the runtime cannot load (the
  /// entry is still validated, so unused tensors of such dtypes are fine).
  std::optional<DType> dtype;
  std::vector<int64_t> shape;
  /// Absolute byte range of the data in the file.
  uint64_t begin = 0;
  uint64_t end = 0;
};

/// An opened, validated .safetensors file.
class WeightFile {
public:
  /// Opens `path` and validates its header: length within the file, JSON
  /// syntax, known dtypes, shapes whose byte size matches data_offsets, and
  /// offsets inside the data section. `__metadata__` is ignored.
  static StatusOr<WeightFile> open(const std::string &path);

  const std::string &path() const { return file.path(); }

  /// The entry named `name`, or null.
  const WeightInfo *find(const std::string &name) const;

  /// All tensor names, sorted.
  std::vector<std::string> names() const;

  /// Loads `name` as f32, converting F16 and BF16. Fails, naming the file and
  /// tensor, if it is missing or has another dtype.
  StatusOr<Tensor> loadAsF32(const std::string &name) const;

  /// Loads `name` in its stored dtype (one the runtime knows).
  StatusOr<Tensor> load(const std::string &name) const;

private:
  explicit WeightFile(ReadableFile file) : file(std::move(file)) {}

  ReadableFile file;
  std::map<std::string, WeightInfo> entries;
};

} // namespace infini::rt

#endif // INFINI_RUNTIME_SAFETENSORS_H
