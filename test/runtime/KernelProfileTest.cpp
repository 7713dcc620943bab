//===- KernelProfileTest.cpp - Device time per kernel ---------------------===//

#include "runtime/KernelProfile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace infini::rt;
using ::testing::HasSubstr;

TEST(KernelProfileTest, KindIsTheNameAfterTheKernelIndex) {
  EXPECT_EQ(KernelProfile::kindOf("step_kernel_7_attention"), "attention");
  EXPECT_EQ(KernelProfile::kindOf("step_prepare_kernel_12_elementwise"),
            "elementwise");
  EXPECT_EQ(KernelProfile::kindOf("my_kernel_fn_kernel_3_matmul"), "matmul");
  EXPECT_EQ(KernelProfile::kindOf("step_kernel_7"), "other");
  EXPECT_EQ(KernelProfile::kindOf("step_kernel_x_matmul"), "other");
  EXPECT_EQ(KernelProfile::kindOf("custom"), "other");
}

TEST(KernelProfileTest, SumsLaunchesPerKernelAndKind) {
  KernelProfile profile;
  EXPECT_TRUE(profile.empty());
  profile.add("step_kernel_1_matmul", 2e-3);
  profile.add("step_kernel_1_matmul", 4e-3);
  profile.add("step_kernel_2_matmul", 1e-3);
  profile.add("step_kernel_3_attention", 5e-3);
  EXPECT_EQ(profile.totalLaunches(), 4);
  EXPECT_DOUBLE_EQ(profile.totalSeconds(), 12e-3);

  std::vector<KernelProfile::Entry> kernels = profile.entries();
  ASSERT_EQ(kernels.size(), 3u);
  EXPECT_EQ(kernels[0].name, "step_kernel_1_matmul");
  EXPECT_EQ(kernels[0].launches, 2);
  EXPECT_DOUBLE_EQ(kernels[0].seconds, 6e-3);
  EXPECT_EQ(kernels[1].name, "step_kernel_3_attention");
  EXPECT_EQ(kernels[2].name, "step_kernel_2_matmul");

  std::vector<KernelProfile::Entry> kinds = profile.byKind();
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].name, "matmul");
  EXPECT_EQ(kinds[0].launches, 3);
  EXPECT_DOUBLE_EQ(kinds[0].seconds, 7e-3);
  EXPECT_EQ(kinds[1].name, "attention");
}

TEST(KernelProfileTest, TableHasARowPerKernelATotalAndKinds) {
  KernelProfile profile;
  profile.add("step_kernel_1_matmul", 3e-3);
  profile.add("step_kernel_1_matmul", 3e-3);
  profile.add("step_kernel_2_attention", 2e-3);
  std::string table = profile.format();
  EXPECT_THAT(table, HasSubstr("kernel"));
  EXPECT_THAT(table, HasSubstr("mean us"));
  // 2 launches, 6 ms, 3000 us each, 75% of 8 ms.
  EXPECT_THAT(table,
              ::testing::ContainsRegex(
                  "step_kernel_1_matmul +2 +6\\.000 +3000\\.0 +75\\.0%"));
  EXPECT_THAT(table, ::testing::ContainsRegex("total +3 +8\\.000 .* 100\\.0%"));
  EXPECT_THAT(
      table, ::testing::ContainsRegex("kind attention +1 +2\\.000 .* 25\\.0%"));
}
