//===- DeviceBlockCache.cpp - Step temporaries kept on the device ---------===//
//
// Part of the Infini runtime; see DeviceBlockCache.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/DeviceBlockCache.h"

using namespace infini::rt;

void *DeviceBlockCache::allocate(size_t bytes) {
  size_t size = (bytes + kGranule - 1) / kGranule * kGranule;
  if (size == 0)
    size = kGranule;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = freeBlocks.find(size);
    if (found != freeBlocks.end()) {
      void *block = found->second;
      freeBlocks.erase(found);
      freeBytes -= size;
      return block;
    }
  }
  void *block = raw.allocate(size);
  if (!block) {
    trim();
    block = raw.allocate(size);
    if (!block)
      return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex);
  blockSizes.emplace(block, size);
  return block;
}

void DeviceBlockCache::release(void *block, const void *stream) {
  std::vector<void *> excess;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!block || !blockSizes.count(block))
      return;
    if (stream) {
      pending[stream].push_back(block);
      return;
    }
    excess = addFree({block});
  }
  releaseRaw(excess);
}

void DeviceBlockCache::streamFinished(const void *stream) {
  std::vector<void *> excess;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = pending.find(stream);
    if (found == pending.end())
      return;
    excess = addFree(found->second);
    pending.erase(found);
  }
  releaseRaw(excess);
}

bool DeviceBlockCache::hasPending(const void *stream) {
  std::lock_guard<std::mutex> lock(mutex);
  return pending.count(stream) != 0;
}

void DeviceBlockCache::trim() {
  std::vector<void *> blocks;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto &[size, block] : freeBlocks) {
      blocks.push_back(block);
      blockSizes.erase(block);
    }
    freeBlocks.clear();
    freeBytes = 0;
  }
  releaseRaw(blocks);
}

size_t DeviceBlockCache::cachedBytes() {
  std::lock_guard<std::mutex> lock(mutex);
  return freeBytes;
}

std::vector<void *>
DeviceBlockCache::addFree(const std::vector<void *> &blocks) {
  std::vector<void *> excess;
  for (void *block : blocks) {
    size_t size = blockSizes.at(block);
    if (freeBytes + size > maxCachedBytes) {
      blockSizes.erase(block);
      excess.push_back(block);
      continue;
    }
    freeBlocks.emplace(size, block);
    freeBytes += size;
  }
  return excess;
}

void DeviceBlockCache::releaseRaw(const std::vector<void *> &blocks) {
  for (void *block : blocks)
    raw.release(block);
}
