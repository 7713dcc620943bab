//===- DeviceBlockCacheTest.cpp - Tests of the step temporaries' cache ----===//
//
// The cache runs over a fake raw allocator that hands out host blocks and
// counts what it was asked for, so reuse, the wait for a stream and the
// limits are visible without a GPU.
//
//===----------------------------------------------------------------------===//

#include "runtime/DeviceBlockCache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

using namespace infini::rt;

namespace {
class CountingAllocator final : public RawDeviceAllocator {
public:
  void *allocate(size_t bytes) override {
    ++allocations;
    if (live.size() == capacityInBlocks)
      return nullptr;
    void *block = std::malloc(bytes);
    live.insert(block);
    requestedSizes.push_back(bytes);
    return block;
  }
  void release(void *block) override {
    ++releases;
    EXPECT_EQ(live.erase(block), 1u) << "released a block twice or not ours";
    std::free(block);
  }
  ~CountingAllocator() override {
    for (void *block : live)
      std::free(block);
  }

  size_t capacityInBlocks = size_t(-1);
  int allocations = 0;
  int releases = 0;
  std::set<void *> live;
  std::vector<size_t> requestedSizes;
};

// Two "streams": only their addresses matter.
char streamA, streamB;

TEST(DeviceBlockCacheTest, StepsAfterTheFirstAllocateNothing) {
  CountingAllocator raw;
  DeviceBlockCache cache(raw, size_t(1) << 30);
  const size_t sizes[] = {4096, 1000, 4096, 70000};
  for (int step = 0; step < 3; ++step) {
    std::vector<void *> blocks;
    for (size_t size : sizes)
      blocks.push_back(cache.allocate(size));
    EXPECT_EQ(std::set<void *>(blocks.begin(), blocks.end()).size(), 4u);
    for (void *block : blocks)
      cache.release(block, &streamA);
    cache.streamFinished(&streamA);
  }
  EXPECT_EQ(raw.allocations, 4);
  EXPECT_EQ(raw.releases, 0);
  EXPECT_EQ(cache.cachedBytes(), 4096u + 1024u + 4096u + 70144u);
  cache.trim();
  EXPECT_EQ(raw.releases, 4);
  EXPECT_TRUE(raw.live.empty());
}

TEST(DeviceBlockCacheTest, SizesRoundUpToTheGranule) {
  CountingAllocator raw;
  DeviceBlockCache cache(raw, size_t(1) << 30);
  void *small = cache.allocate(0);
  void *odd = cache.allocate(DeviceBlockCache::kGranule + 1);
  EXPECT_EQ(raw.requestedSizes,
            (std::vector<size_t>{DeviceBlockCache::kGranule,
                                 2 * DeviceBlockCache::kGranule}));
  cache.release(odd, nullptr);
  // Another size in the same granule takes the same block.
  EXPECT_EQ(cache.allocate(2 * DeviceBlockCache::kGranule - 3), odd);
  cache.release(small, nullptr);
  cache.release(odd, nullptr);
}

TEST(DeviceBlockCacheTest, BlocksWaitForTheirStream) {
  CountingAllocator raw;
  DeviceBlockCache cache(raw, size_t(1) << 30);
  void *first = cache.allocate(4096);
  cache.release(first, &streamA);
  EXPECT_TRUE(cache.hasPending(&streamA));
  EXPECT_FALSE(cache.hasPending(&streamB));
  // Stream A may still be running kernels on it: another stream, or a later
  // allocation on A itself, gets a new block.
  void *second = cache.allocate(4096);
  EXPECT_NE(second, first);
  cache.release(second, &streamB);
  // B finishing frees only B's block.
  cache.streamFinished(&streamB);
  EXPECT_EQ(cache.allocate(4096), second);
  cache.streamFinished(&streamA);
  EXPECT_FALSE(cache.hasPending(&streamA));
  EXPECT_EQ(cache.allocate(4096), first);
  EXPECT_EQ(raw.allocations, 2);
  cache.release(first, nullptr);
  cache.release(second, nullptr);
}

TEST(DeviceBlockCacheTest, AFullDeviceGetsTheFreeBlocksBack) {
  CountingAllocator raw;
  raw.capacityInBlocks = 2;
  DeviceBlockCache cache(raw, size_t(1) << 30);
  void *a = cache.allocate(1024);
  void *b = cache.allocate(2048);
  cache.release(a, nullptr);
  // No free block of this size and no room: the cached one goes back to the
  // device and the allocation is retried.
  void *c = cache.allocate(4096);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(raw.releases, 1);
  EXPECT_EQ(cache.cachedBytes(), 0u);
  // Nothing left to give back: null, which the backend reports.
  EXPECT_EQ(cache.allocate(8192), nullptr);
  cache.release(b, nullptr);
  cache.release(c, nullptr);
}

TEST(DeviceBlockCacheTest, KeepsNoMoreThanItsLimit) {
  CountingAllocator raw;
  DeviceBlockCache cache(raw, /*maxCachedBytes=*/3000);
  void *a = cache.allocate(2048);
  void *b = cache.allocate(2048);
  cache.release(a, &streamA);
  cache.release(b, &streamA);
  cache.streamFinished(&streamA);
  EXPECT_EQ(cache.cachedBytes(), 2048u);
  EXPECT_EQ(raw.releases, 1);
  EXPECT_EQ(raw.live.size(), 1u);
}

TEST(DeviceBlockCacheTest, IgnoresPointersItDidNotHandOut) {
  CountingAllocator raw;
  DeviceBlockCache cache(raw, size_t(1) << 30);
  int notABlock = 0;
  cache.release(&notABlock, nullptr);
  cache.release(nullptr, &streamA);
  EXPECT_FALSE(cache.hasPending(&streamA));
  EXPECT_EQ(cache.cachedBytes(), 0u);
  EXPECT_EQ(raw.releases, 0);
}
} // namespace
