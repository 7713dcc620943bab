//===- LaunchGraphsTest.cpp - Tests of the recorded launch sequences ------===//
//
// What decides whether a stream's launches go as one CUDA graph, without a
// driver: a sequence's key tells apart every change of kernel, shape or
// parameter, the copied parameters outlive host code's, a sequence gets a
// graph the second time it comes, and the cache keeps the graphs used last.
//
//===----------------------------------------------------------------------===//

#include "runtime/LaunchGraphs.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

using namespace infini::rt;

namespace {
int kernelA, kernelB;

/// A launch of `kernel` on two 8-byte parameters and a 4-byte one.
RecordedLaunch launch(const void *kernel, uint64_t first, uint64_t second,
                      uint32_t third = 7, unsigned gridX = 4) {
  RecordedLaunch recorded;
  recorded.function = kernel;
  recorded.grid[0] = gridX;
  recorded.block[0] = 128;
  recorded.sharedBytes = 1024;
  void *params[] = {&first, &second, &third};
  recorded.copyParameters(params, {8, 8, 4});
  return recorded;
}

std::string key(std::initializer_list<RecordedLaunch> launches) {
  LaunchSequence sequence;
  for (const RecordedLaunch &recorded : launches)
    sequence.add(recorded);
  return sequence.key();
}

TEST(LaunchGraphsTest, ParametersAreCopiedAndPointedAt) {
  RecordedLaunch recorded = launch(&kernelA, 0x1111, 0x2222, 0x33);
  ASSERT_EQ(recorded.bytes.size(), 20u);
  std::vector<void *> pointers = recorded.parameterPointers();
  ASSERT_EQ(pointers.size(), 3u);
  uint64_t second = 0;
  uint32_t third = 0;
  std::memcpy(&second, pointers[1], 8);
  std::memcpy(&third, pointers[2], 4);
  EXPECT_EQ(second, 0x2222u);
  EXPECT_EQ(third, 0x33u);
}

TEST(LaunchGraphsTest, KeysDifferWithAnyField) {
  std::string base = key({launch(&kernelA, 1, 2), launch(&kernelB, 3, 4)});
  EXPECT_EQ(base, key({launch(&kernelA, 1, 2), launch(&kernelB, 3, 4)}));
  // Another kernel, order, parameter, shape or count.
  EXPECT_NE(base, key({launch(&kernelB, 1, 2), launch(&kernelB, 3, 4)}));
  EXPECT_NE(base, key({launch(&kernelB, 3, 4), launch(&kernelA, 1, 2)}));
  EXPECT_NE(base, key({launch(&kernelA, 1, 2), launch(&kernelB, 3, 5)}));
  EXPECT_NE(base, key({launch(&kernelA, 1, 2, 8), launch(&kernelB, 3, 4)}));
  EXPECT_NE(base, key({launch(&kernelA, 1, 2, 7, 5), launch(&kernelB, 3, 4)}));
  EXPECT_NE(base, key({launch(&kernelA, 1, 2)}));
  // The same bytes split into other parameters.
  RecordedLaunch resplit = launch(&kernelA, 1, 2);
  resplit.offsets = {0, 4, 16};
  EXPECT_NE(key({launch(&kernelA, 1, 2)}), key({resplit}));
}

TEST(LaunchGraphsTest, SequenceGetsAGraphTheSecondTime) {
  LaunchGraphCache cache(4);
  std::string even = key({launch(&kernelA, 1, 2)});
  std::string odd = key({launch(&kernelA, 2, 1)});
  // A run alternates between two sequences (the state's two buffers).
  EXPECT_FALSE(cache.seenBefore(even));
  EXPECT_FALSE(cache.seenBefore(odd));
  EXPECT_EQ(cache.find(even), nullptr);
  EXPECT_TRUE(cache.seenBefore(even));
  int graphEven, graphOdd;
  EXPECT_TRUE(cache.insert(even, &graphEven).empty());
  EXPECT_EQ(cache.find(even), &graphEven);
  EXPECT_EQ(cache.find(odd), nullptr);
  EXPECT_TRUE(cache.seenBefore(odd));
  EXPECT_TRUE(cache.insert(odd, &graphOdd).empty());
  EXPECT_EQ(cache.find(odd), &graphOdd);
  EXPECT_EQ(cache.find(even), &graphEven);
}

TEST(LaunchGraphsTest, LeastRecentlyUsedGraphIsEvicted) {
  LaunchGraphCache cache(2);
  int graphs[3];
  std::string keys[3] = {key({launch(&kernelA, 0, 0)}),
                         key({launch(&kernelA, 1, 0)}),
                         key({launch(&kernelA, 2, 0)})};
  cache.insert(keys[0], &graphs[0]);
  cache.insert(keys[1], &graphs[1]);
  cache.find(keys[0]);
  std::vector<void *> evicted = cache.insert(keys[2], &graphs[2]);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0], &graphs[1]);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find(keys[1]), nullptr);
  std::vector<void *> all = cache.clear();
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.seenBefore(keys[0]));
}

TEST(LaunchGraphsTest, SeenKeysAreBounded) {
  LaunchGraphCache cache(1);
  std::string first = key({launch(&kernelA, 0, 0)});
  EXPECT_FALSE(cache.seenBefore(first));
  // Sequences that never repeat (the first is forgotten after 64 others).
  for (uint64_t i = 1; i <= 64; ++i)
    EXPECT_FALSE(cache.seenBefore(key({launch(&kernelA, i, 0)})));
  EXPECT_FALSE(cache.seenBefore(first));
}
} // namespace
