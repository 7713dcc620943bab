//===- KernelProfile.h - Device time per GPU kernel -------------*- C++ -*-===//
//
// With `infini-run --profile-kernels`, the CUDA backend brackets every
// kernel launch with a pair of timing events and adds the time between them
// here, by kernel name. The compiler names kernels
// `<function>_kernel_<i>_<kind>` (matmul, attention, reduction, copy,
// elementwise), so the profile also sums the time per kind: what share of a
// step the fused attention or the matrix products take.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_KERNELPROFILE_H
#define INFINI_RUNTIME_KERNELPROFILE_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace infini::rt {

class KernelProfile {
public:
  struct Entry {
    /// A kernel name, or a kind in byKind().
    std::string name;
    int64_t launches = 0;
    double seconds = 0;
  };

  /// Adds one launch of `kernel` that took `seconds` on the device.
  void add(const std::string &kernel, double seconds);

  bool empty() const { return kernels.empty(); }
  double totalSeconds() const;
  int64_t totalLaunches() const;

  /// The kernels, by decreasing total time (then by name).
  std::vector<Entry> entries() const;
  /// The same summed per kind, by decreasing total time.
  std::vector<Entry> byKind() const;

  /// The kind a kernel's name ends with: `step_kernel_7_attention` is an
  /// `attention` kernel; a name without one is of kind `other`.
  static std::string kindOf(const std::string &kernel);

  /// The table infini-run prints: a row per kernel (launches, total ms,
  /// mean us, share of the device time), a total row, then a row per kind.
  std::string format() const;

private:
  std::map<std::string, Entry> kernels;
};

} // namespace infini::rt

#endif // INFINI_RUNTIME_KERNELPROFILE_H
