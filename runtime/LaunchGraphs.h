//===- LaunchGraphs.h - A step's kernel launches as one graph ---*- C++ -*-===//
//
// A compiled step launches a few dozen kernels one at a time, and on a GPU
// the small ones take less time than launching them does: a segment of a
// small model is bound by the launches. From one segment to the next a run
// launches the same kernels with the same arguments (step temporaries come
// back from DeviceBlockCache as the same blocks; the state alternates
// between two buffers), so the CUDA backend records the launches queued on
// a stream until it is synchronized, each as its kernel, shape and the bytes
// of its parameters, and submits a sequence it has seen before as one
// instantiated CUDA graph: one cuGraphLaunch where there were dozens of
// cuLaunchKernel.
//
// This part needs no driver: the recorded sequences and the cache of the
// graphs instantiated for them. Graphs are opaque here.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_LAUNCHGRAPHS_H
#define INFINI_RUNTIME_LAUNCHGRAPHS_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace infini::rt {

/// One kernel launch, its parameters copied (host code's own copies live
/// only for the call).
struct RecordedLaunch {
  const void *function = nullptr;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
  /// The parameters' bytes back to back, and where each starts.
  std::vector<unsigned char> bytes;
  std::vector<size_t> offsets;

  /// Copies the parameters `params[i]` of `sizes[i]` bytes.
  void copyParameters(void *const *params, const std::vector<size_t> &sizes);
  /// Pointers to each parameter in `bytes`, as cuLaunchKernel takes them;
  /// valid while this launch is neither changed nor moved from.
  std::vector<void *> parameterPointers();
};

/// The launches queued on one stream since it was last synchronized.
class LaunchSequence {
public:
  void add(RecordedLaunch launch);
  bool empty() const { return recorded.empty(); }
  std::vector<RecordedLaunch> &launches() { return recorded; }
  /// Bytes that identify the sequence: equal exactly when the sequences
  /// launch the same kernels, in the same shapes, on the same parameters.
  const std::string &key() const { return identity; }

private:
  std::vector<RecordedLaunch> recorded;
  std::string identity;
};

/// Instantiated graphs by the key of the sequence they launch, at most
/// `capacity` of them, the least recently used evicted first.
class LaunchGraphCache {
public:
  explicit LaunchGraphCache(size_t capacity) : capacity(capacity) {}

  /// The graph stored for `key`, or null.
  void *find(const std::string &key);
  /// Whether a sequence of this key came before (and records that it
  /// came): a sequence gets a graph the second time it is seen, so that a
  /// step that never repeats costs no instantiation.
  bool seenBefore(const std::string &key);
  /// Stores `graph` for `key`; returns the graphs evicted to make room, for
  /// the caller to destroy.
  std::vector<void *> insert(const std::string &key, void *graph);
  /// Empties the cache; returns every graph, for the caller to destroy.
  std::vector<void *> clear();
  size_t size() const { return entries.size(); }

private:
  struct Entry {
    std::string key;
    void *graph;
    uint64_t lastUse;
  };
  size_t capacity;
  uint64_t uses = 0;
  std::vector<Entry> entries;
  /// Hashes of the keys seen lately without a graph (a collision only makes
  /// a graph one sequence early).
  std::deque<size_t> seen;
};

} // namespace infini::rt

#endif // INFINI_RUNTIME_LAUNCHGRAPHS_H
