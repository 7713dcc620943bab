//===- CodegenSupportTest.cpp - runtime/support, as compiled code calls it ===//

#include "runtime/support/CodegenSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

bool isAligned(const void *pointer, size_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

TEST(StepAllocatorTest, ReusesAFreedBlockOfTheSameSize) {
  void *first = _mlir_memref_to_llvm_alloc(3 << 20);
  ASSERT_NE(first, nullptr);
  std::memset(first, 1, 3 << 20);
  _mlir_memref_to_llvm_free(first);
  void *second = _mlir_memref_to_llvm_alloc(3 << 20);
  EXPECT_EQ(second, first);
  // A block of another size is not handed out for this one.
  void *other = _mlir_memref_to_llvm_alloc((3 << 20) + 4);
  EXPECT_NE(other, first);
  _mlir_memref_to_llvm_free(second);
  _mlir_memref_to_llvm_free(other);
}

TEST(StepAllocatorTest, BlocksAreAlignedAndDisjoint) {
  void *a = _mlir_memref_to_llvm_alloc(100);
  void *b = _mlir_memref_to_llvm_alloc(100);
  void *wide = _mlir_memref_to_llvm_aligned_alloc(256, 1000);
  EXPECT_TRUE(isAligned(a, 64));
  EXPECT_TRUE(isAligned(b, 64));
  EXPECT_TRUE(isAligned(wide, 256));
  EXPECT_NE(a, b);
  std::memset(a, 0xaa, 100);
  std::memset(b, 0xbb, 100);
  std::memset(wide, 0xcc, 1000);
  EXPECT_EQ(static_cast<unsigned char *>(a)[99], 0xaa);
  EXPECT_EQ(static_cast<unsigned char *>(b)[0], 0xbb);
  _mlir_memref_to_llvm_free(a);
  _mlir_memref_to_llvm_free(b);
  _mlir_memref_to_llvm_free(wide);
  _mlir_memref_to_llvm_free(nullptr);
  // A cached block keeps its alignment when it is handed out again.
  void *again = _mlir_memref_to_llvm_aligned_alloc(256, 1000);
  EXPECT_TRUE(isAligned(again, 256));
  _mlir_memref_to_llvm_free(again);
}

TEST(StepAllocatorTest, ThreadsNeverShareALiveBlock) {
  constexpr int kThreads = 4, kRounds = 2000;
  std::atomic<int> overwritten{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        auto *block = static_cast<int *>(_mlir_memref_to_llvm_alloc(4096));
        for (int i = 0; i < 1024; ++i)
          block[i] = t;
        for (int i = 0; i < 1024; ++i)
          if (block[i] != t) {
            ++overwritten; // Another thread had the same block.
            break;
          }
        _mlir_memref_to_llvm_free(block);
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(overwritten.load(), 0);
}

TEST(MemRefCopyTest, CopiesAStridedColumnIntoAContiguousOne) {
  // A [4, 3] row-major matrix; copy its column 1 ([4, 1], strides [3, 1]).
  float matrix[12];
  for (int i = 0; i < 12; ++i)
    matrix[i] = float(i);
  float column[4] = {};
  struct Descriptor2D {
    float *allocated, *aligned;
    int64_t offset, sizes[2], strides[2];
  };
  struct Unranked {
    int64_t rank;
    void *descriptor;
  };
  Descriptor2D source = {matrix, matrix, 1, {4, 1}, {3, 1}};
  Descriptor2D destination = {column, column, 0, {4, 1}, {1, 1}};
  Unranked sourceMemref = {2, &source}, destinationMemref = {2, &destination};
  memrefCopy(sizeof(float), &sourceMemref, &destinationMemref);
  EXPECT_EQ(column[0], 1.0f);
  EXPECT_EQ(column[1], 4.0f);
  EXPECT_EQ(column[2], 7.0f);
  EXPECT_EQ(column[3], 10.0f);
}

} // namespace
