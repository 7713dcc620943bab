//===- LaunchGraphs.cpp - A step's kernel launches as one graph -----------===//
//
// Part of the Infini runtime; see LaunchGraphs.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/LaunchGraphs.h"

#include <algorithm>
#include <cstring>
#include <functional>

using namespace infini::rt;

/// Keys remembered for seenBefore.
constexpr size_t kSeenKeys = 64;

void RecordedLaunch::copyParameters(void *const *params,
                                    const std::vector<size_t> &sizes) {
  bytes.clear();
  offsets.clear();
  for (size_t i = 0; i < sizes.size(); ++i) {
    offsets.push_back(bytes.size());
    const auto *first = static_cast<const unsigned char *>(params[i]);
    bytes.insert(bytes.end(), first, first + sizes[i]);
  }
}

std::vector<void *> RecordedLaunch::parameterPointers() {
  std::vector<void *> pointers;
  for (size_t offset : offsets)
    pointers.push_back(bytes.data() + offset);
  return pointers;
}

void LaunchSequence::add(RecordedLaunch launch) {
  // The key spells out every field; the parameter count and sizes come
  // before the bytes, so that no two sequences read the same.
  auto append = [&](const void *data, size_t size) {
    identity.append(static_cast<const char *>(data), size);
  };
  append(&launch.function, sizeof(launch.function));
  append(launch.grid, sizeof(launch.grid));
  append(launch.block, sizeof(launch.block));
  append(&launch.sharedBytes, sizeof(launch.sharedBytes));
  uint64_t count = launch.offsets.size(), size = launch.bytes.size();
  append(&count, sizeof(count));
  append(launch.offsets.data(), count * sizeof(size_t));
  append(&size, sizeof(size));
  append(launch.bytes.data(), size);
  recorded.push_back(std::move(launch));
}

void *LaunchGraphCache::find(const std::string &key) {
  for (Entry &entry : entries)
    if (entry.key == key) {
      entry.lastUse = ++uses;
      return entry.graph;
    }
  return nullptr;
}

bool LaunchGraphCache::seenBefore(const std::string &key) {
  size_t hash = std::hash<std::string>()(key);
  if (std::find(seen.begin(), seen.end(), hash) != seen.end())
    return true;
  seen.push_back(hash);
  if (seen.size() > kSeenKeys)
    seen.pop_front();
  return false;
}

std::vector<void *> LaunchGraphCache::insert(const std::string &key,
                                             void *graph) {
  std::vector<void *> evicted;
  while (!entries.empty() && entries.size() >= capacity) {
    auto oldest = std::min_element(
        entries.begin(), entries.end(),
        [](const Entry &a, const Entry &b) { return a.lastUse < b.lastUse; });
    evicted.push_back(oldest->graph);
    entries.erase(oldest);
  }
  if (capacity == 0) {
    evicted.push_back(graph);
    return evicted;
  }
  entries.push_back({key, graph, ++uses});
  return evicted;
}

std::vector<void *> LaunchGraphCache::clear() {
  std::vector<void *> graphs;
  for (const Entry &entry : entries)
    graphs.push_back(entry.graph);
  entries.clear();
  seen.clear();
  return graphs;
}
