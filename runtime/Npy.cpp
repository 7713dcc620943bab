//===- Npy.cpp - NumPy .npy arrays, whole or streamed ---------------------===//
//
// Part of the Infini runtime; see Npy.h. The header is a Python dict literal;
// it is parsed by a small recursive-descent reader of the literals NumPy
// writes (strings, integers, booleans, tuples and lists), with a nesting
// limit, rather than by anything that evaluates it.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>

using namespace infini::rt;

static const char kMagic[] = "\x93NUMPY";
/// Headers longer than this are rejected before being read (NumPy itself
/// refuses headers over 10000 bytes by default).
static constexpr uint64_t kMaxHeaderLength = 1 << 20;

//===----------------------------------------------------------------------===//
// Header literal parsing
//===----------------------------------------------------------------------===//

namespace {
/// A Python literal value as far as .npy headers need.
struct PyValue {
  enum Kind { String, Integer, Bool, None, Sequence } kind = None;
  std::string text;
  int64_t integer = 0;
  bool boolean = false;
  std::vector<PyValue> items;
};

/// Recursive-descent reader of one Python literal dict.
class LiteralParser {
public:
  explicit LiteralParser(const std::string &text) : text(text) {}

  /// Parses the dict; on failure sets `error` and returns false.
  bool parseDict(std::map<std::string, PyValue> &dict) {
    skipSpace();
    if (!consume('{'))
      return fail("expected '{'");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      PyValue key;
      if (!parseValue(key, 0))
        return false;
      if (key.kind != PyValue::String)
        return fail("dict keys must be strings");
      skipSpace();
      if (!consume(':'))
        return fail("expected ':' after '" + key.text + "'");
      PyValue value;
      if (!parseValue(value, 0))
        return false;
      if (dict.count(key.text))
        return fail("duplicate key '" + key.text + "'");
      dict[key.text] = std::move(value);
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume('}'))
        break;
      return fail("expected ',' or '}'");
    }
    skipSpace();
    if (pos != text.size())
      return fail("unexpected text after the dict");
    return true;
  }

  std::string error;

private:
  bool fail(const std::string &message) {
    if (error.empty())
      error = message;
    return false;
  }

  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n' ||
                                 text[pos] == '\t' || text[pos] == '\r'))
      ++pos;
  }

  bool consume(char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  bool startsWith(const char *word) {
    size_t length = std::strlen(word);
    if (text.compare(pos, length, word) != 0)
      return false;
    // A keyword must not run into an identifier character.
    size_t next = pos + length;
    if (next < text.size() &&
        (std::isalnum((unsigned char)text[next]) || text[next] == '_'))
      return false;
    pos = next;
    return true;
  }

  bool parseValue(PyValue &value, int depth) {
    if (depth > 16)
      return fail("literal nested too deeply");
    skipSpace();
    if (pos >= text.size())
      return fail("unexpected end of header");
    char c = text[pos];
    if (c == '\'' || c == '"') {
      ++pos;
      value.kind = PyValue::String;
      while (pos < text.size() && text[pos] != c) {
        // NumPy never escapes inside descr or keys; refuse rather than guess.
        if (text[pos] == '\\')
          return fail("escape sequences are not supported in strings");
        value.text += text[pos++];
      }
      if (!consume(c))
        return fail("unterminated string");
      return true;
    }
    if (c == '(' || c == '[') {
      char close = c == '(' ? ')' : ']';
      ++pos;
      value.kind = PyValue::Sequence;
      while (true) {
        skipSpace();
        if (consume(close))
          return true;
        PyValue item;
        if (!parseValue(item, depth + 1))
          return false;
        value.items.push_back(std::move(item));
        skipSpace();
        if (consume(','))
          continue;
        if (consume(close))
          return true;
        return fail(std::string("expected ',' or '") + close + "'");
      }
    }
    if (std::isdigit((unsigned char)c) || c == '-') {
      bool negative = consume('-');
      if (pos >= text.size() || !std::isdigit((unsigned char)text[pos]))
        return fail("malformed integer");
      int64_t number = 0;
      while (pos < text.size() && std::isdigit((unsigned char)text[pos])) {
        int digit = text[pos++] - '0';
        if (number > (INT64_MAX - digit) / 10)
          return fail("integer too large");
        number = number * 10 + digit;
      }
      // Python 2 era files write long integers as "10L".
      consume('L');
      value.kind = PyValue::Integer;
      value.integer = negative ? -number : number;
      return true;
    }
    if (startsWith("True") || startsWith("False")) {
      value.kind = PyValue::Bool;
      value.boolean = text[pos - 4] == 'T';
      return true;
    }
    if (startsWith("None")) {
      value.kind = PyValue::None;
      return true;
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

  const std::string &text;
  size_t pos = 0;
};
} // namespace

/// Maps an .npy descr to a dtype, or explains why it is not supported.
static Status parseDescr(const std::string &descr, DType &dtype) {
  auto unsupported = [&] {
    return Status::error("unsupported dtype '" + descr +
                         "' (expected '<f4', '<f8', '<i4' or '<i8')");
  };
  if (descr.size() < 3)
    return unsupported();
  char order = descr[0];
  std::string kind = descr.substr(1);
  struct Known {
    const char *code;
    DType dtype;
  };
  static const Known known[] = {{"f4", DType::F32},
                                {"f8", DType::F64},
                                {"f2", DType::F16},
                                {"i4", DType::I32},
                                {"i8", DType::I64}};
  const Known *match = nullptr;
  for (const Known &entry : known)
    if (kind == entry.code)
      match = &entry;
  if (order == '>' && match)
    return Status::error("big-endian dtype '" + descr +
                         "' is not supported (save with "
                         "astype('<" +
                         kind + "'))");
  // '|' means "byte order not applicable", which NumPy only writes for
  // one-byte types; none of those is supported here.
  if (order == '|' && match)
    return Status::error("dtype '" + descr +
                         "' has no byte order but is wider than one byte");
  if ((order != '<' && order != '=') || !match)
    return unsupported();
  dtype = match->dtype;
  return Status::ok();
}

/// Interprets the header dict text; everything but dataOffset is filled in.
static StatusOr<NpyHeader> parseHeaderText(const std::string &text,
                                           const std::string &where) {
  std::map<std::string, PyValue> dict;
  LiteralParser parser(text);
  if (!parser.parseDict(dict))
    return Status::error(where + ": malformed .npy header: " + parser.error);
  for (const char *key : {"descr", "fortran_order", "shape"})
    if (!dict.count(key))
      return Status::error(where + ": malformed .npy header: missing '" +
                           std::string(key) + "'");
  if (dict.size() != 3)
    return Status::error(where + ": malformed .npy header: unexpected keys "
                                 "besides 'descr', 'fortran_order', 'shape'");

  NpyHeader header;
  const PyValue &descr = dict["descr"];
  if (descr.kind != PyValue::String)
    return Status::error(where + ": structured dtypes are not supported");
  Status dtypeStatus = parseDescr(descr.text, header.dtype);
  if (!dtypeStatus)
    return Status::error(where + ": " + dtypeStatus.message());

  const PyValue &fortran = dict["fortran_order"];
  if (fortran.kind != PyValue::Bool)
    return Status::error(where +
                         ": malformed .npy header: 'fortran_order' is not a "
                         "boolean");
  if (fortran.boolean)
    return Status::error(where +
                         ": fortran_order arrays are not supported (save a "
                         "C-contiguous array, e.g. np.ascontiguousarray)");

  const PyValue &shape = dict["shape"];
  if (shape.kind != PyValue::Sequence)
    return Status::error(where + ": malformed .npy header: 'shape' is not a "
                                 "tuple");
  for (const PyValue &dim : shape.items) {
    if (dim.kind != PyValue::Integer || dim.integer < 0)
      return Status::error(where + ": malformed .npy header: 'shape' entries "
                                   "must be non-negative integers");
    header.shape.push_back(dim.integer);
  }
  if (!checkedNumElements(header.shape, dtypeSize(header.dtype),
                          header.numElements))
    return Status::error(where + ": shape " + formatShape(header.shape) +
                         " is too large");
  return header;
}

StatusOr<NpyHeader> infini::rt::readNpyHeader(ByteSource &source,
                                              const std::string &where) {
  unsigned char preamble[12];
  if (source.size() < 10)
    return Status::error(where + ": not an .npy file (only " +
                         std::to_string(source.size()) + " bytes)");
  INFINI_RETURN_IF_ERROR(source.read(preamble, 8));
  if (std::memcmp(preamble, kMagic, 6) != 0)
    return Status::error(where + ": not an .npy file (bad magic bytes)");
  unsigned major = preamble[6];
  uint64_t headerLength = 0;
  uint64_t preambleLength;
  if (major == 1) {
    INFINI_RETURN_IF_ERROR(source.read(preamble + 8, 2));
    headerLength = preamble[8] | (uint64_t(preamble[9]) << 8);
    preambleLength = 10;
  } else if (major == 2 || major == 3) {
    if (source.size() < 12)
      return Status::error(where + ": truncated .npy header");
    INFINI_RETURN_IF_ERROR(source.read(preamble + 8, 4));
    for (int i = 11; i >= 8; --i)
      headerLength = (headerLength << 8) | preamble[i];
    preambleLength = 12;
  } else {
    return Status::error(where + ": unsupported .npy format version " +
                         std::to_string(major) + "." +
                         std::to_string(preamble[7]));
  }
  if (headerLength > source.size() - preambleLength)
    return Status::error(where + ": .npy header length " +
                         std::to_string(headerLength) +
                         " runs past the end of the file");
  if (headerLength > kMaxHeaderLength)
    return Status::error(where + ": .npy header length " +
                         std::to_string(headerLength) + " is implausible");
  std::string text(size_t(headerLength), '\0');
  INFINI_RETURN_IF_ERROR(source.read(text.data(), text.size()));

  StatusOr<NpyHeader> header = parseHeaderText(text, where);
  if (!header)
    return header;
  header->dataOffset = preambleLength + headerLength;
  uint64_t needed = uint64_t(header->numElements) * dtypeSize(header->dtype);
  uint64_t available = source.size() - header->dataOffset;
  if (needed > available)
    return Status::error(where + ": truncated: header declares " +
                         std::string(numpyDtypeName(header->dtype)) + " " +
                         formatShape(header->shape) + " (" +
                         std::to_string(needed) + " bytes of data) but only " +
                         std::to_string(available) + " bytes follow");
  return header;
}

StatusOr<Tensor> infini::rt::readNpyArray(ByteSource &source,
                                          const std::string &where) {
  StatusOr<NpyHeader> header = readNpyHeader(source, where);
  if (!header)
    return header.status();
  StatusOr<Tensor> tensor = Tensor::zeros(header->dtype, header->shape);
  if (!tensor)
    return Status::error(where + ": " + tensor.status().message());
  INFINI_RETURN_IF_ERROR(source.read(tensor->data(), tensor->byteSize()));
  return tensor;
}

std::string infini::rt::buildNpyHeader(DType dtype,
                                       const std::vector<int64_t> &shape) {
  const char *descr = "<f4";
  switch (dtype) {
  case DType::F32:
    descr = "<f4";
    break;
  case DType::F64:
    descr = "<f8";
    break;
  case DType::F16:
  case DType::BF16:
    descr = "<f2";
    break;
  case DType::I32:
    descr = "<i4";
    break;
  case DType::I64:
    descr = "<i8";
    break;
  }
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      dict += ", ";
    dict += std::to_string(shape[i]);
  }
  // A one-element tuple needs its trailing comma.
  dict += shape.size() == 1 ? ",), }" : "), }";

  // Pad with spaces and a final newline so the data starts 64-byte aligned,
  // as NumPy does; version 2 only when the header outgrows 16 bits.
  size_t preambleLength = 10;
  size_t total = preambleLength + dict.size() + 1;
  if ((total + 63) / 64 * 64 - preambleLength > 0xffff) {
    preambleLength = 12;
    total = preambleLength + dict.size() + 1;
  }
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  uint64_t headerLength = dict.size();

  std::string result(kMagic, 6);
  result += char(preambleLength == 10 ? 1 : 2);
  result += char(0);
  for (size_t i = 0; i < preambleLength - 8; ++i)
    result += char((headerLength >> (8 * i)) & 0xff);
  return result + dict;
}

//===----------------------------------------------------------------------===//
// NpyReader
//===----------------------------------------------------------------------===//

namespace {
/// Sequential reads over a ReadableFile.
class FileSource : public ByteSource {
public:
  explicit FileSource(const ReadableFile &file) : file(file) {}
  uint64_t size() const override { return file.size(); }
  Status read(void *dst, size_t count) override {
    INFINI_RETURN_IF_ERROR(file.readAt(offset, dst, count));
    offset += count;
    return Status::ok();
  }

private:
  const ReadableFile &file;
  uint64_t offset = 0;
};
} // namespace

StatusOr<NpyReader> NpyReader::open(const std::string &path) {
  StatusOr<ReadableFile> file = ReadableFile::open(path);
  if (!file)
    return file.status();
  FileSource source(*file);
  StatusOr<NpyHeader> header = readNpyHeader(source, path);
  if (!header)
    return header.status();
  return NpyReader(std::move(*file), std::move(*header));
}

Status NpyReader::read(int64_t first, int64_t count, void *dst) const {
  if (first < 0 || count < 0 || first > header.numElements ||
      count > header.numElements - first)
    return Status::error(path() + ": element range [" + std::to_string(first) +
                         ", " + std::to_string(first + count) +
                         ") is outside the array of " +
                         std::to_string(header.numElements) + " elements");
  size_t itemSize = dtypeSize(header.dtype);
  return file.readAt(header.dataOffset + uint64_t(first) * itemSize, dst,
                     size_t(count) * itemSize);
}

StatusOr<Tensor> NpyReader::readAll() const {
  StatusOr<Tensor> tensor = Tensor::zeros(header.dtype, header.shape);
  if (!tensor)
    return Status::error(path() + ": " + tensor.status().message());
  INFINI_RETURN_IF_ERROR(read(0, header.numElements, tensor->data()));
  return tensor;
}

StatusOr<Tensor> infini::rt::readNpy(const std::string &path) {
  StatusOr<NpyReader> reader = NpyReader::open(path);
  if (!reader)
    return reader.status();
  return reader->readAll();
}

//===----------------------------------------------------------------------===//
// NpyWriter
//===----------------------------------------------------------------------===//

StatusOr<NpyWriter> NpyWriter::create(const std::string &path, DType dtype,
                                      std::vector<int64_t> shape) {
  if (dtype == DType::BF16)
    return Status::error(path + ": bfloat16 has no .npy dtype");
  int64_t count;
  if (!checkedNumElements(shape, dtypeSize(dtype), count))
    return Status::error(path + ": invalid array shape " + formatShape(shape));
  StatusOr<AtomicFile> file = AtomicFile::create(path);
  if (!file)
    return file.status();
  std::string header = buildNpyHeader(dtype, shape);
  INFINI_RETURN_IF_ERROR(file->append(header.data(), header.size()));
  // Sized up front so ranges may arrive in any order and the file is complete
  // even where nothing was written.
  INFINI_RETURN_IF_ERROR(
      file->resize(header.size() + uint64_t(count) * dtypeSize(dtype)));
  return NpyWriter(std::move(*file), dtype, std::move(shape), count,
                   header.size());
}

Status NpyWriter::write(int64_t first, int64_t count, const void *src) {
  if (first < 0 || count < 0 || first > elementCount ||
      count > elementCount - first)
    return Status::error(path() + ": element range [" + std::to_string(first) +
                         ", " + std::to_string(first + count) +
                         ") is outside the array of " +
                         std::to_string(elementCount) + " elements");
  size_t itemSize = dtypeSize(dtype);
  return file.writeAt(dataOffset + uint64_t(first) * itemSize, src,
                      size_t(count) * itemSize);
}

Status infini::rt::writeNpy(const std::string &path, const Tensor &tensor) {
  StatusOr<NpyWriter> writer =
      NpyWriter::create(path, tensor.dtype(), tensor.shape());
  if (!writer)
    return writer.status();
  INFINI_RETURN_IF_ERROR(writer->write(0, tensor.numElements(), tensor.data()));
  return writer->commit();
}
