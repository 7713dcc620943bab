//===- Npz.h - NumPy .npz archives ------------------------------*- C++ -*-===//
//
// An .npz is a zip archive whose members are .npy files named `<key>.npy`.
// The reader takes stored and deflated members (np.savez and
// np.savez_compressed) and checks every member's CRC; archives that need
// zip64 records are rejected. The writer stores members uncompressed, which
// numpy.load reads, and publishes the archive atomically.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_NPZ_H
#define INFINI_RUNTIME_NPZ_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace infini::rt {

/// Reads every array of the .npz archive at `path`, keyed by member name
/// without the ".npy" suffix. Errors name the file and, where one is at
/// fault, the member.
StatusOr<std::map<std::string, Tensor>> readNpz(const std::string &path);

/// One array to store in an .npz archive.
struct NpzEntry {
  /// The key; the member is named `<key>.npy`.
  std::string key;
  const Tensor *tensor;
};

/// Writes `entries`, in order, as an .npz archive at `path`, atomically.
Status writeNpz(const std::string &path, const std::vector<NpzEntry> &entries);

} // namespace infini::rt

#endif // INFINI_RUNTIME_NPZ_H
