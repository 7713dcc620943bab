//===- Npz.cpp - NumPy .npz archives --------------------------------------===//
//
// Part of the Infini runtime; see Npz.h. Sizes and offsets are taken from the
// central directory, which is authoritative: np.savez writes zip64 extra
// fields with placeholder sizes into local headers even for small members, so
// local headers are only used to find where a member's data starts.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npz.h"

#include "runtime/File.h"
#include "runtime/Npy.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

using namespace infini::rt;

static constexpr uint32_t kLocalHeaderSig = 0x04034b50;
static constexpr uint32_t kCentralHeaderSig = 0x02014b50;
static constexpr uint32_t kEndRecordSig = 0x06054b50;
static constexpr uint32_t kZip64LocatorSig = 0x07064b50;
static constexpr size_t kLocalHeaderSize = 30;
static constexpr size_t kCentralHeaderSize = 46;
static constexpr size_t kEndRecordSize = 22;
/// DOS date of 1980-01-01; members carry no meaningful time.
static constexpr uint16_t kDosDate = (1 << 5) | 1;

static uint16_t load16(const unsigned char *p) {
  return uint16_t(p[0] | (p[1] << 8));
}
static uint32_t load32(const unsigned char *p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) |
         (uint32_t(p[3]) << 24);
}
static void store16(std::string &out, uint16_t v) {
  out += char(v & 0xff);
  out += char(v >> 8);
}
static void store32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out += char((v >> (8 * i)) & 0xff);
}

/// CRC-32 of a buffer of any size (zlib takes 32-bit lengths).
static uLong crcUpdate(uLong crc, const void *data, size_t size) {
  const Bytef *bytes = static_cast<const Bytef *>(data);
  while (size > 0) {
    uInt chunk = uInt(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, bytes, chunk);
    bytes += chunk;
    size -= chunk;
  }
  return crc;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
/// One central directory entry, validated.
struct Member {
  std::string name;
  uint16_t method;
  uint32_t crc;
  uint64_t compressedSize;
  uint64_t size;
  uint64_t dataStart;
};

/// The uncompressed bytes of one member, inflated as they are read, with
/// the CRC accumulated on the way.
class MemberSource : public ByteSource {
public:
  MemberSource(const ReadableFile &file, const Member &member,
               std::string where)
      : file(file), member(member), where(std::move(where)) {}
  ~MemberSource() override {
    if (inflating)
      inflateEnd(&stream);
  }

  Status init() {
    if (member.method != 8)
      return Status::ok();
    std::memset(&stream, 0, sizeof(stream));
    // Negative window bits: raw deflate data, as zip stores it.
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
      return Status::error(where + ": cannot initialize zlib");
    inflating = true;
    return Status::ok();
  }

  uint64_t size() const override { return member.size; }

  Status read(void *dst, size_t count) override {
    if (count > member.size - produced)
      return Status::error(where + ": member data ends early");
    if (member.method == 0)
      INFINI_RETURN_IF_ERROR(
          file.readAt(member.dataStart + produced, dst, count));
    else
      INFINI_RETURN_IF_ERROR(inflateInto(static_cast<Bytef *>(dst), count));
    crc = crcUpdate(crc, dst, count);
    produced += count;
    return Status::ok();
  }

  /// Checks that the member was consumed whole and matches its CRC.
  Status finish() {
    if (produced != member.size)
      return Status::error(where + ": " +
                           std::to_string(member.size - produced) +
                           " bytes after the array data");
    if (member.method == 8 && !ended) {
      // The end-of-stream marker may still be pending; it must produce
      // nothing more.
      Bytef scratch;
      INFINI_RETURN_IF_ERROR(pump(&scratch, 1));
      if (!ended || stream.avail_out == 0)
        return Status::error(where + ": compressed data is longer than the "
                                     "declared size");
    }
    if (uint32_t(crc) != member.crc)
      return Status::error(where + ": CRC mismatch, the member is corrupt");
    return Status::ok();
  }

private:
  Status inflateInto(Bytef *dst, size_t count) {
    while (count > 0) {
      uInt chunk = uInt(std::min<size_t>(count, 1u << 30));
      INFINI_RETURN_IF_ERROR(pump(dst, chunk));
      if (stream.avail_out != 0)
        return Status::error(where + ": compressed data ends before the "
                                     "declared size");
      dst += chunk;
      count -= chunk;
    }
    return Status::ok();
  }

  /// Inflates into [dst, dst + count) until it is full or the stream ends.
  Status pump(Bytef *dst, uInt count) {
    stream.next_out = dst;
    stream.avail_out = count;
    while (stream.avail_out > 0 && !ended) {
      if (stream.avail_in == 0) {
        uint64_t left = member.compressedSize - consumed;
        if (left == 0)
          return Status::error(where + ": compressed data is truncated");
        size_t take = size_t(std::min<uint64_t>(left, sizeof(input)));
        INFINI_RETURN_IF_ERROR(
            file.readAt(member.dataStart + consumed, input, take));
        consumed += take;
        stream.next_in = input;
        stream.avail_in = uInt(take);
      }
      int result = inflate(&stream, Z_NO_FLUSH);
      if (result == Z_STREAM_END)
        ended = true;
      else if (result != Z_OK)
        return Status::error(where + ": corrupt deflate data" +
                             (stream.msg ? std::string(" (") + stream.msg + ")"
                                         : std::string()));
    }
    return Status::ok();
  }

  const ReadableFile &file;
  const Member &member;
  std::string where;
  z_stream stream;
  bool inflating = false;
  bool ended = false;
  uint64_t produced = 0;
  uint64_t consumed = 0;
  uLong crc = crc32(0, Z_NULL, 0);
  Bytef input[1 << 16];
};
} // namespace

/// Parses the central directory of `file` into `members`.
static Status readDirectory(const ReadableFile &file,
                            std::vector<Member> &members) {
  const std::string &path = file.path();
  uint64_t fileSize = file.size();
  if (fileSize < kEndRecordSize)
    return Status::error(path + ": not a zip archive (" +
                         std::to_string(fileSize) + " bytes)");

  // The end record sits in the last 22 bytes plus a comment of up to 64 KiB.
  size_t tailSize =
      size_t(std::min<uint64_t>(fileSize, kEndRecordSize + 0xffff));
  std::vector<unsigned char> tail(tailSize);
  uint64_t tailStart = fileSize - tailSize;
  INFINI_RETURN_IF_ERROR(file.readAt(tailStart, tail.data(), tailSize));
  const unsigned char *end = nullptr;
  for (size_t i = tailSize - kEndRecordSize + 1; i-- > 0;) {
    const unsigned char *p = tail.data() + i;
    if (load32(p) == kEndRecordSig &&
        i + kEndRecordSize + load16(p + 20) <= tailSize) {
      end = p;
      break;
    }
  }
  if (!end)
    return Status::error(path + ": not a zip archive (no end of central "
                                "directory record)");
  uint64_t endOffset = tailStart + uint64_t(end - tail.data());
  uint16_t disk = load16(end + 4), directoryDisk = load16(end + 6);
  uint16_t diskEntries = load16(end + 8), entries = load16(end + 10);
  uint32_t directorySize = load32(end + 12);
  uint32_t directoryOffset = load32(end + 16);
  if (entries == 0xffff || directorySize == 0xffffffff ||
      directoryOffset == 0xffffffff ||
      (end - tail.data() >= 20 && load32(end - 20) == kZip64LocatorSig))
    return Status::error(path + ": zip64 archives are not supported");
  if (disk != 0 || directoryDisk != 0 || diskEntries != entries)
    return Status::error(path + ": multi-part zip archives are not supported");
  if (uint64_t(directoryOffset) + directorySize > endOffset)
    return Status::error(
        path + ": central directory [" + std::to_string(directoryOffset) +
        ", +" + std::to_string(directorySize) + ") runs past the end record");

  std::vector<unsigned char> directory(directorySize);
  INFINI_RETURN_IF_ERROR(
      file.readAt(directoryOffset, directory.data(), directory.size()));
  size_t pos = 0;
  for (unsigned index = 0; index < entries; ++index) {
    std::string where =
        path + ": central directory entry " + std::to_string(index);
    if (directory.size() - pos < kCentralHeaderSize)
      return Status::error(where + " is truncated");
    const unsigned char *p = directory.data() + pos;
    if (load32(p) != kCentralHeaderSig)
      return Status::error(where + " has a bad signature");
    uint16_t flags = load16(p + 8);
    Member member;
    member.method = load16(p + 10);
    member.crc = load32(p + 16);
    member.compressedSize = load32(p + 20);
    member.size = load32(p + 24);
    size_t nameLength = load16(p + 28), extraLength = load16(p + 30),
           commentLength = load16(p + 32);
    uint32_t localOffset = load32(p + 42);
    size_t entrySize =
        kCentralHeaderSize + nameLength + extraLength + commentLength;
    if (directory.size() - pos < entrySize)
      return Status::error(where + " is truncated");
    member.name.assign(reinterpret_cast<const char *>(p + kCentralHeaderSize),
                       nameLength);
    pos += entrySize;

    where = path + ": member '" + member.name + "'";
    if (member.compressedSize == 0xffffffff || member.size == 0xffffffff ||
        localOffset == 0xffffffff)
      return Status::error(where + " needs zip64, which is not supported");
    if (flags & 1)
      return Status::error(where + " is encrypted");
    if (member.method != 0 && member.method != 8)
      return Status::error(where + " uses compression method " +
                           std::to_string(member.method) +
                           " (only stored and deflate are supported)");
    if (member.method == 0 && member.compressedSize != member.size)
      return Status::error(where + " is stored but its sizes differ");
    // Deflate expands at most about 1032:1; a larger claim is corruption and
    // would otherwise size an allocation.
    if (member.method == 8 && member.size > member.compressedSize * 1032 + 64)
      return Status::error(where + " declares an implausible size of " +
                           std::to_string(member.size) + " bytes");

    // The local header repeats the name and may carry a different extra
    // field; only its lengths matter here.
    unsigned char local[kLocalHeaderSize];
    if (uint64_t(localOffset) + kLocalHeaderSize > directoryOffset)
      return Status::error(where + ": local header offset " +
                           std::to_string(localOffset) +
                           " is outside the archive data");
    INFINI_RETURN_IF_ERROR(file.readAt(localOffset, local, sizeof(local)));
    if (load32(local) != kLocalHeaderSig)
      return Status::error(where + ": bad local header signature");
    member.dataStart = uint64_t(localOffset) + kLocalHeaderSize +
                       load16(local + 26) + load16(local + 28);
    if (member.dataStart > directoryOffset ||
        member.compressedSize > directoryOffset - member.dataStart)
      return Status::error(where + ": data runs past the archive data");
    members.push_back(std::move(member));
  }
  return Status::ok();
}

StatusOr<std::map<std::string, Tensor>>
infini::rt::readNpz(const std::string &path) {
  StatusOr<ReadableFile> file = ReadableFile::open(path);
  if (!file)
    return file.status();
  std::vector<Member> members;
  INFINI_RETURN_IF_ERROR(readDirectory(*file, members));

  std::map<std::string, Tensor> arrays;
  for (const Member &member : members) {
    // Directory entries carry no data.
    if (!member.name.empty() && member.name.back() == '/')
      continue;
    std::string where = path + ": member '" + member.name + "'";
    const std::string suffix = ".npy";
    if (member.name.size() <= suffix.size() ||
        member.name.compare(member.name.size() - suffix.size(), suffix.size(),
                            suffix) != 0)
      return Status::error(where + " is not a .npy array");
    std::string key = member.name.substr(0, member.name.size() - suffix.size());
    if (arrays.count(key))
      return Status::error(where + " appears twice");

    // The source holds a 64 KiB input buffer; keep it off the stack.
    auto source = std::make_unique<MemberSource>(*file, member, where);
    INFINI_RETURN_IF_ERROR(source->init());
    StatusOr<Tensor> tensor = readNpyArray(*source, where);
    if (!tensor)
      return tensor.status();
    INFINI_RETURN_IF_ERROR(source->finish());
    arrays.emplace(std::move(key), std::move(*tensor));
  }
  return arrays;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

Status infini::rt::writeNpz(const std::string &path,
                            const std::vector<NpzEntry> &entries) {
  if (entries.size() >= 0xffff)
    return Status::error(path + ": too many arrays for a zip without zip64");
  StatusOr<AtomicFile> file = AtomicFile::create(path);
  if (!file)
    return file.status();

  std::string directory;
  for (const NpzEntry &entry : entries) {
    std::string name = entry.key + ".npy";
    const Tensor &tensor = *entry.tensor;
    if (tensor.dtype() == DType::BF16)
      return Status::error(path + ": '" + entry.key +
                           "' is bfloat16, which has no .npy dtype");
    if (name.size() > 0xffff)
      return Status::error(path + ": key '" + entry.key + "' is too long");
    std::string header = buildNpyHeader(tensor.dtype(), tensor.shape());
    uint64_t size = header.size() + uint64_t(tensor.byteSize());
    uint64_t offset = file->appendOffset();
    if (size >= 0xffffffff || offset >= 0xffffffff)
      return Status::error(path + ": '" + entry.key +
                           "' does not fit a zip without zip64 (4 GiB)");
    uLong crc = crc32(0, Z_NULL, 0);
    crc = crcUpdate(crc, header.data(), header.size());
    crc = crcUpdate(crc, tensor.data(), tensor.byteSize());

    // Fields shared by the local and the central header, from "version
    // needed" to the name length.
    std::string common;
    store16(common, 20); // version needed: 2.0
    store16(common, 0);  // flags
    store16(common, 0);  // method: stored
    store16(common, 0);  // time
    store16(common, kDosDate);
    store32(common, uint32_t(crc));
    store32(common, uint32_t(size)); // compressed
    store32(common, uint32_t(size)); // uncompressed
    store16(common, uint16_t(name.size()));
    store16(common, 0); // extra length

    std::string local;
    store32(local, kLocalHeaderSig);
    local += common;
    local += name;
    INFINI_RETURN_IF_ERROR(file->append(local.data(), local.size()));
    INFINI_RETURN_IF_ERROR(file->append(header.data(), header.size()));
    INFINI_RETURN_IF_ERROR(file->append(tensor.data(), tensor.byteSize()));

    store32(directory, kCentralHeaderSig);
    store16(directory, 20); // version made by: MS-DOS, 2.0
    directory += common;
    store16(directory, 0); // comment length
    store16(directory, 0); // disk number
    store16(directory, 0); // internal attributes
    store32(directory, 0); // external attributes
    store32(directory, uint32_t(offset));
    directory += name;
  }

  uint64_t directoryOffset = file->appendOffset();
  if (directoryOffset + directory.size() >= 0xffffffff)
    return Status::error(path + ": archive does not fit a zip without zip64");
  std::string end;
  store32(end, kEndRecordSig);
  store16(end, 0); // this disk
  store16(end, 0); // directory disk
  store16(end, uint16_t(entries.size()));
  store16(end, uint16_t(entries.size()));
  store32(end, uint32_t(directory.size()));
  store32(end, uint32_t(directoryOffset));
  store16(end, 0); // comment length
  INFINI_RETURN_IF_ERROR(file->append(directory.data(), directory.size()));
  INFINI_RETURN_IF_ERROR(file->append(end.data(), end.size()));
  return file->commit();
}
