// Conv1dS8 (kernels/fast/conv1d_s8.h) against the reference int8 convolution
// (ref::conv_s8s8s32): the same int32 sums, transposed to channels-last, for filters that end
// inside and at the end of a lane's 4 taps, strides 1 to 5, padding, 1 to 4 input channels,
// output channels around its blocks of 16 and 64, and outputs around its tiles of 6 and its
// work units of 96; the extreme int8 values; and what it declines.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/fast/conv1d_s8.h"
#include "kernels/fast/int8_avx512.h"
#include "kernels/reference/conv_int8.h"
#include "random_values.h"

namespace qs::kernels {
namespace {

using ref::ConvParams;

ConvParams conv1d(int64_t batch, int64_t cin, int64_t cout, int64_t length, int64_t k, int64_t s, int64_t pad_l,
                  int64_t pad_r) {
  return ConvParams{batch, cin, cout, 1, {length}, {(length + pad_l + pad_r - k) / s + 1}, {k}, {s}, {1}, {pad_l}, {pad_r}};
}

std::string describe(const ConvParams& p) {
  return std::to_string(p.batch) + "x" + std::to_string(p.in_channels) + "->" + std::to_string(p.out_channels) +
         " length " + std::to_string(p.in_size[0]) + " k" + std::to_string(p.kernel[0]) + " s" +
         std::to_string(p.stride[0]) + " pads " + std::to_string(p.pad_begin[0]) + "," + std::to_string(p.pad_end[0]);
}

// The reference's sums [N, OC, OW], as [N, OW, OC].
std::vector<int32_t> reference(const ConvParams& p, const std::vector<int8_t>& x, const std::vector<int8_t>& w) {
  const int64_t ow = p.out_size[0], oc = p.out_channels;
  std::vector<int32_t> plain(static_cast<size_t>(p.batch * oc * ow));
  ref::conv_s8s8s32(p, x.data(), w.data(), plain.data());
  std::vector<int32_t> cl(plain.size());
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t c = 0; c < oc; ++c)
      for (int64_t o = 0; o < ow; ++o) cl[static_cast<size_t>((b * ow + o) * oc + c)] = plain[static_cast<size_t>((b * oc + c) * ow + o)];
  return cl;
}

void expect_reference_sums(const ConvParams& p, const std::vector<int8_t>& x, const std::vector<int8_t>& w) {
  std::string why;
  auto k = fast::Conv1dS8::Create(p, w.data(), &why);
  ASSERT_NE(k, nullptr) << describe(p) << ": " << why;
  const std::vector<int32_t> want = reference(p, x, w);
  std::vector<int32_t> got(want.size(), -7);
  k->run(x.data(), got.data());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << describe(p) << ": element " << i;
}

TEST(Conv1dS8, SameSumsAsTheReference) {
  if (!fast::int8_avx512::cpu_ok()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const std::vector<ConvParams> shapes = {
      conv1d(1, 1, 128, 1000, 80, 4, 38, 38),  // an M5 network's first layer, shorter
      conv1d(2, 1, 32, 400, 10, 5, 0, 0),      // wav2vec 2.0-style
      conv1d(1, 2, 40, 301, 11, 2, 5, 5),      // 40 channels: a partial block
      conv1d(3, 4, 17, 50, 3, 1, 2, 2),        // padding past the filter's reach
      conv1d(1, 1, 16, 7, 9, 3, 4, 4),         // a filter longer than the input
      conv1d(1, 3, 24, 193, 5, 3, 0, 1),       // stride 3
      conv1d(2, 1, 80, 1157, 251, 1, 125, 125),  // a bank of long filters: 5 blocks
      conv1d(1, 1, 1, 13, 1, 1, 0, 0),         // one tap, one output channel
      conv1d(1, 2, 64, 97, 4, 1, 0, 0),        // whole lanes and one whole pass of blocks
  };
  uint32_t seed = 500;
  for (const ConvParams& p : shapes) {
    const auto x = random_s8(p.batch * p.in_channels * p.in_size[0], -128, seed);
    const auto w = random_s8(p.out_channels * p.in_channels * p.kernel[0], -127, seed + 1);
    expect_reference_sums(p, x, w);
    seed += 2;
  }
}

TEST(Conv1dS8, ExtremeValuesSumExactly) {
  if (!fast::int8_avx512::cpu_ok()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  // -128 inputs under -127 weights everywhere: the largest products, and the padding's
  // zeros next to them.
  const ConvParams p = conv1d(1, 4, 48, 300, 251, 2, 7, 3);
  expect_reference_sums(p, std::vector<int8_t>(4 * 300, -128), std::vector<int8_t>(48 * 4 * 251, -127));
  expect_reference_sums(p, std::vector<int8_t>(4 * 300, 127), std::vector<int8_t>(48 * 4 * 251, -127));
}

TEST(Conv1dS8, DeclinesWhatItDoesNotCompute) {
  if (!fast::int8_avx512::cpu_ok()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const std::vector<int8_t> w(64 * 8 * 9, 1);
  std::string why;
  const ConvParams wide = conv1d(1, 8, 16, 50, 3, 1, 1, 1);
  EXPECT_EQ(fast::Conv1dS8::Create(wide, w.data(), &why), nullptr);
  EXPECT_EQ(why, "not 1 to 4 input channels");
  EXPECT_FALSE(fast::Conv1dS8::outruns_onednn(wide));
  ConvParams dilated = conv1d(1, 1, 16, 50, 3, 1, 0, 0);
  dilated.dilation = {2};
  dilated.out_size = {46};
  EXPECT_EQ(fast::Conv1dS8::Create(dilated, w.data(), &why), nullptr);
  EXPECT_EQ(why, "dilated");
  ConvParams grouped = conv1d(1, 4, 16, 50, 3, 1, 0, 0);
  grouped.group = 2;
  EXPECT_EQ(fast::Conv1dS8::Create(grouped, w.data(), &why), nullptr);
  EXPECT_EQ(why, "grouped");
  const ConvParams two_d{1, 1, 16, 1, {8, 8}, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}};
  EXPECT_EQ(fast::Conv1dS8::Create(two_d, w.data(), &why), nullptr);
  EXPECT_EQ(why, "not a 1-D convolution");
}

}  // namespace
}  // namespace qs::kernels
