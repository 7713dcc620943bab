//===- Safetensors.cpp - Reading model weights ----------------------------===//
//
// Part of the Infini runtime; see Safetensors.h. The JSON header is parsed
// without exceptions (the runtime may be built with -fno-exceptions), and
// every value is type-checked before it is read.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

using namespace infini::rt;
using json = nlohmann::json;

namespace {
struct DTypeEntry {
  const char *name;
  size_t itemSize;
  std::optional<DType> dtype;
};
} // namespace

/// Every dtype the safetensors format defines, so files holding tensors the
/// runtime does not load still validate.
static const DTypeEntry kDTypes[] = {
    {"F64", 8, DType::F64},      {"F32", 4, DType::F32},
    {"F16", 2, DType::F16},      {"BF16", 2, DType::BF16},
    {"I64", 8, DType::I64},      {"I32", 4, DType::I32},
    {"I16", 2, std::nullopt},    {"I8", 1, std::nullopt},
    {"U64", 8, std::nullopt},    {"U32", 4, std::nullopt},
    {"U16", 2, std::nullopt},    {"U8", 1, std::nullopt},
    {"BOOL", 1, std::nullopt},   {"F8_E4M3", 1, std::nullopt},
    {"F8_E5M2", 1, std::nullopt}};

static const DTypeEntry *lookupDType(const std::string &name) {
  for (const DTypeEntry &entry : kDTypes)
    if (name == entry.name)
      return &entry;
  return nullptr;
}

/// Reads a non-negative JSON integer below 2^62 into `value`.
static bool readIndex(const json &node, int64_t &value) {
  if (node.is_number_unsigned()) {
    uint64_t raw = node.get<uint64_t>();
    if (raw >= (uint64_t(1) << 62))
      return false;
    value = int64_t(raw);
    return true;
  }
  if (node.is_number_integer()) {
    int64_t raw = node.get<int64_t>();
    if (raw < 0)
      return false;
    value = raw;
    return true;
  }
  return false;
}

StatusOr<WeightFile> WeightFile::open(const std::string &path) {
  StatusOr<ReadableFile> opened = ReadableFile::open(path);
  if (!opened)
    return opened.status();
  WeightFile weights(std::move(*opened));
  uint64_t fileSize = weights.file.size();
  auto fail = [&](const std::string &what) {
    return Status::error(path + ": " + what);
  };

  if (fileSize < 8)
    return fail("not a safetensors file: " + std::to_string(fileSize) +
                " bytes, shorter than the 8-byte header length");
  unsigned char lengthBytes[8];
  INFINI_RETURN_IF_ERROR(weights.file.readAt(0, lengthBytes, 8));
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | lengthBytes[i];
  if (headerLength > fileSize - 8)
    return fail("header length " + std::to_string(headerLength) +
                " runs past the end of the file (" + std::to_string(fileSize) +
                " bytes)");
  std::string header(size_t(headerLength), '\0');
  INFINI_RETURN_IF_ERROR(weights.file.readAt(8, header.data(), header.size()));

  json root = json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    return fail("header is not valid JSON");
  if (!root.is_object())
    return fail("header is not a JSON object");

  uint64_t dataStart = 8 + headerLength;
  uint64_t dataSize = fileSize - dataStart;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string &name = it.key();
    if (name == "__metadata__")
      continue;
    const json &node = it.value();
    std::string where = "tensor '" + name + "'";
    if (!node.is_object())
      return fail(where + ": entry is not a JSON object");

    auto dtypeIt = node.find("dtype");
    if (dtypeIt == node.end() || !dtypeIt->is_string())
      return fail(where + ": missing string 'dtype'");
    const std::string &dtypeName = dtypeIt->get_ref<const std::string &>();
    const DTypeEntry *dtype = lookupDType(dtypeName);
    if (!dtype)
      return fail(where + ": unknown dtype '" + dtypeName + "'");

    auto shapeIt = node.find("shape");
    if (shapeIt == node.end() || !shapeIt->is_array())
      return fail(where + ": missing array 'shape'");
    std::vector<int64_t> shape;
    for (const json &dim : *shapeIt) {
      int64_t value;
      if (!readIndex(dim, value))
        return fail(where + ": shape entries must be non-negative integers");
      shape.push_back(value);
    }

    auto offsetsIt = node.find("data_offsets");
    if (offsetsIt == node.end() || !offsetsIt->is_array() ||
        offsetsIt->size() != 2)
      return fail(where + ": missing 'data_offsets' [begin, end]");
    int64_t begin, end;
    if (!readIndex((*offsetsIt)[0], begin) || !readIndex((*offsetsIt)[1], end))
      return fail(where + ": data_offsets must be non-negative integers");
    if (begin > end)
      return fail(where + ": data_offsets [" + std::to_string(begin) + ", " +
                  std::to_string(end) + "] are reversed");
    if (uint64_t(end) > dataSize)
      return fail(where + ": data_offsets [" + std::to_string(begin) + ", " +
                  std::to_string(end) + "] run past the data section (" +
                  std::to_string(dataSize) + " bytes)");

    int64_t count;
    if (!checkedNumElements(shape, dtype->itemSize, count))
      return fail(where + ": shape " + formatShape(shape) + " is too large");
    uint64_t expectedBytes = uint64_t(count) * dtype->itemSize;
    if (expectedBytes != uint64_t(end - begin))
      return fail(where + ": " + dtypeName + " " + formatShape(shape) +
                  " needs " + std::to_string(expectedBytes) +
                  " bytes but data_offsets span " +
                  std::to_string(end - begin));

    WeightInfo info;
    info.dtypeName = dtypeName;
    info.dtype = dtype->dtype;
    info.shape = std::move(shape);
    info.begin = dataStart + uint64_t(begin);
    info.end = dataStart + uint64_t(end);
    weights.entries[name] = std::move(info);
  }
  return weights;
}

const WeightInfo *WeightFile::find(const std::string &name) const {
  auto it = entries.find(name);
  return it == entries.end() ? nullptr : &it->second;
}

std::vector<std::string> WeightFile::names() const {
  std::vector<std::string> result;
  for (const auto &entry : entries)
    result.push_back(entry.first);
  return result;
}

StatusOr<Tensor> WeightFile::load(const std::string &name) const {
  const WeightInfo *info = find(name);
  if (!info)
    return Status::error(path() + ": missing tensor '" + name + "'");
  if (!info->dtype)
    return Status::error(path() + ": tensor '" + name + "' has dtype " +
                         info->dtypeName + ", which the runtime cannot load");
  StatusOr<Tensor> tensor = Tensor::zeros(*info->dtype, info->shape);
  if (!tensor)
    return Status::error(path() + ": tensor '" + name +
                         "': " + tensor.status().message());
  INFINI_RETURN_IF_ERROR(
      file.readAt(info->begin, tensor->data(), tensor->byteSize()));
  return tensor;
}

StatusOr<Tensor> WeightFile::loadAsF32(const std::string &name) const {
  const WeightInfo *info = find(name);
  if (!info)
    return Status::error(path() + ": missing tensor '" + name + "'");
  if (info->dtype == DType::F32)
    return load(name);
  bool isHalf = info->dtype == DType::F16;
  if (!isHalf && info->dtype != DType::BF16)
    return Status::error(path() + ": tensor '" + name + "' has dtype " +
                         info->dtypeName + ", expected F32, F16 or BF16");

  StatusOr<Tensor> tensor = Tensor::zeros(DType::F32, info->shape);
  if (!tensor)
    return Status::error(path() + ": tensor '" + name +
                         "': " + tensor.status().message());
  // Convert through a bounded staging buffer rather than a second full copy.
  constexpr int64_t kChunk = 1 << 16;
  std::vector<uint16_t> staging(
      size_t(std::min(kChunk, tensor->numElements())));
  float *out = tensor->dataAs<float>();
  for (int64_t first = 0; first < tensor->numElements(); first += kChunk) {
    int64_t count = std::min(kChunk, tensor->numElements() - first);
    INFINI_RETURN_IF_ERROR(file.readAt(info->begin + uint64_t(first) * 2,
                                       staging.data(), size_t(count) * 2));
    for (int64_t i = 0; i < count; ++i)
      out[first + i] = isHalf ? halfToFloat(staging[size_t(i)])
                              : bfloat16ToFloat(staging[size_t(i)]);
  }
  return tensor;
}
