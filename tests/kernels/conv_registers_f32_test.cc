// The in-register float convolutions, Conv1x1F32 (channels-last in and out) and StemConvF32
// (plain in, channels-last out), against the reference convolution and epilogue
// (ref::conv_f32 + ref::float_epilogue): shapes around their tiles (pixels per tile, blocks of
// 16 channels), strides and padding, every activation they take, the residual, non-finite
// inputs, and what they decline.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/fast/conv1x1_f32.h"
#include "kernels/fast/stem_f32.h"
#include "kernels/naive_layout.h"
#include "core/shape.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/int8.h"
#include "random_values.h"

namespace qs::kernels {
namespace {

using Act = ref::Epilogue::Act;
using ref::ConvParams;

ConvParams pointwise(int64_t batch, int64_t cin, int64_t cout, int64_t h, int64_t w, int64_t stride) {
  return ConvParams{batch, cin, cout, 1, {h, w}, {(h - 1) / stride + 1, (w - 1) / stride + 1}, {1, 1}, {stride, stride},
                    {1, 1}, {0, 0}, {0, 0}};
}

std::unique_ptr<fast::Conv1x1F32> create(const ConvParams& p, const std::vector<float>& w, const float* b,
                                         const ref::Epilogue& e) {
  std::string why;
  auto k = fast::Conv1x1F32::Create(p, w.data(), b, e, &why);
  if (!k) ADD_FAILURE() << why;
  return k;
}

bool avx512() {
  std::string why;
  const ConvParams p = pointwise(1, 1, 1, 1, 1, 1);
  const std::vector<float> w{1.f};
  return fast::Conv1x1F32::Create(p, w.data(), nullptr, {}, &why) != nullptr || why != "the CPU has no AVX-512";
}

struct Expected {
  std::vector<float> y;      // channels-last
  std::vector<float> bound;  // sum |x w| + |b| + |r| at each output: the scale of its rounding
};

// The reference: plain NCHW convolution and epilogue, then channels-last. x is channels-last
// unless x_plain.
Expected reference(const ConvParams& p, const std::vector<float>& x_in, const std::vector<float>& w, const float* b,
                   const std::vector<float>* r_nhwc, const ref::Epilogue& e, bool x_plain = false) {
  const int64_t in_sp = qs::numel(p.in_size), out_sp = qs::numel(p.out_size);
  const auto x = x_plain ? x_in : naive::to_nchw(p.batch, p.in_channels, in_sp, x_in);
  std::vector<float> y(static_cast<size_t>(p.batch * p.out_channels * out_sp));
  ref::conv_f32(p, x.data(), w.data(), b, y.data());
  std::vector<float> r;
  if (r_nhwc) r = naive::to_nchw(p.batch, p.out_channels, out_sp, *r_nhwc);
  ref::float_epilogue(y.data(), p.batch, p.out_channels, out_sp, nullptr, r_nhwc ? r.data() : nullptr, e, y.data());
  // The bound, from |x| and |w| by the same convolution.
  std::vector<float> ax(x.size()), aw(w.size()), bound(y.size());
  for (size_t i = 0; i < x.size(); ++i) ax[i] = std::fabs(x[i]);
  for (size_t i = 0; i < w.size(); ++i) aw[i] = std::fabs(w[i]);
  std::vector<float> ab;
  if (b)
    for (int64_t c = 0; c < p.out_channels; ++c) ab.push_back(std::fabs(b[c]));
  ref::conv_f32(p, ax.data(), aw.data(), b ? ab.data() : nullptr, bound.data());
  if (r_nhwc)
    for (size_t i = 0; i < bound.size(); ++i) bound[i] += std::fabs(r[i]);
  return {naive::to_nhwc(p.batch, p.out_channels, out_sp, y), naive::to_nhwc(p.batch, p.out_channels, out_sp, bound)};
}

std::string describe(const ConvParams& p) {
  std::string size;
  for (int64_t d : p.in_size) {
    if (!size.empty()) size += 'x';
    size += std::to_string(d);
  }
  return std::to_string(p.batch) + "x" + std::to_string(p.in_channels) + "->" + std::to_string(p.out_channels) + " k" +
         std::to_string(p.kernel[0]) + " s" + std::to_string(p.stride[0]) + " " + size;
}

// The kernel that create(p, w, bias, e, &why) builds, on every activation it takes, with and
// without bias and residual, against the reference (x plain or channels-last).
template <typename Create>
void expect_reference_values(const ConvParams& p, bool x_plain, uint32_t seed, Create create) {
  const std::vector<ref::Epilogue> acts = {
      {Act::kNone, 0, 0}, {Act::kRelu, 0, 0}, {Act::kClip, -0.5f, 0.75f}, {Act::kLeakyRelu, 0.2f, 0}};
  const int64_t out_n = p.batch * p.out_channels * qs::numel(p.out_size);
  const auto x = random_values(p.batch * p.in_channels * qs::numel(p.in_size), seed);
  const auto w = random_values(p.out_channels * p.in_channels * qs::numel(p.kernel), seed + 1);
  const auto b = random_values(p.out_channels, seed + 2);
  const auto r = random_values(out_n, seed + 3);
  for (const ref::Epilogue& e : acts)
    for (const bool with_bias : {true, false})
      for (const bool with_residual : {false, true}) {
        const std::string what = describe(p) + " act " + std::to_string(static_cast<int>(e.act)) +
                                 (with_bias ? " bias" : "") + (with_residual ? " residual" : "");
        const float* bp = with_bias ? b.data() : nullptr;
        const Expected want = reference(p, x, w, bp, with_residual ? &r : nullptr, e, x_plain);
        std::string why;
        auto k = create(p, w.data(), bp, e, &why);
        ASSERT_NE(k, nullptr) << what << ": " << why;
        std::vector<float> got(static_cast<size_t>(out_n), -7.f);
        EXPECT_TRUE(k->run(x.data(), with_residual ? r.data() : nullptr, got.data())) << what;
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_LE(std::fabs(got[i] - want.y[i]), 1e-5f * want.bound[i] + 1e-30f)
              << what << ": element " << i << " got " << got[i] << " want " << want.y[i];
      }
}

// got against the reference's want where the input held NaN and infinity: NaN where it has
// NaN, its infinities, finite values within the rounding bound (or equal, where the bound is
// infinite and the activation bounded the value); `finite` is what the kernel's run returned.
void expect_reference_non_finite(const std::vector<float>& got, const Expected& want, bool finite,
                                 const std::string& what) {
  bool want_finite = true;
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string at = what + " element " + std::to_string(i);
    want_finite = want_finite && std::isfinite(want.y[i]);
    ASSERT_EQ(std::isnan(got[i]), std::isnan(want.y[i])) << at << " got " << got[i] << " want " << want.y[i];
    if (std::isinf(want.y[i])) {
      ASSERT_EQ(got[i], want.y[i]) << at;
    } else if (std::isfinite(want.y[i]) && std::isfinite(want.bound[i])) {
      ASSERT_LE(std::fabs(got[i] - want.y[i]), 1e-5f * want.bound[i]) << at;
    } else if (std::isfinite(want.y[i])) {
      ASSERT_EQ(got[i], want.y[i]) << at;  // an infinite sum, bounded by the activation
    }
  }
  EXPECT_EQ(finite, want_finite) << what;
  EXPECT_FALSE(want_finite) << what << ": the NaN and the infinities must reach the outputs";
}

TEST(Conv1x1F32, MatchesTheReferenceAroundItsTiles) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  struct Shape {
    int64_t batch, cin, cout, h, w, stride;
  };
  // Output channels below, at and past one and six blocks of 16; pixel counts that leave a
  // partial tile of every size; strides 1 and 2; one input channel.
  const std::vector<Shape> shapes = {{1, 16, 96, 7, 5, 1},  {2, 3, 17, 5, 5, 1},  {1, 32, 16, 9, 9, 2},
                                     {1, 1, 8, 3, 7, 1},    {2, 24, 144, 6, 6, 1}, {1, 17, 112, 4, 3, 2},
                                     {3, 8, 33, 5, 4, 1},   {1, 12, 200, 3, 3, 1}, {1, 32, 48, 11, 1, 1}};
  uint32_t seed = 1;
  for (const Shape& s : shapes) {
    expect_reference_values(pointwise(s.batch, s.cin, s.cout, s.h, s.w, s.stride), false, seed,
                            fast::Conv1x1F32::Create);
    seed += 4;
  }
}

// The residual may be y itself (the planner may run the block in place).
TEST(Conv1x1F32, ResidualMayBeTheOutput) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const ConvParams p = pointwise(1, 8, 40, 5, 5, 1);
  const auto x = random_values(8 * 25, 1), w = random_values(40 * 8, 2), b = random_values(40, 3);
  const auto r = random_values(40 * 25, 4);
  const ref::Epilogue e{Act::kRelu, 0, 0};
  const Expected want = reference(p, x, w, b.data(), &r, e);
  auto k = create(p, w, b.data(), e);
  ASSERT_NE(k, nullptr);
  std::vector<float> y = r;
  k->run(x.data(), y.data(), y.data());
  for (size_t i = 0; i < y.size(); ++i) ASSERT_LE(std::fabs(y[i] - want.y[i]), 1e-5f * want.bound[i]) << i;
}

// Large enough to be split over threads (when OpenMP gives more than one).
TEST(Conv1x1F32, ManyPixelsMatchTheReference) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const ConvParams p = pointwise(2, 16, 96, 56, 56, 1);
  const auto x = random_values(2 * 16 * 56 * 56, 5), w = random_values(96 * 16, 6), b = random_values(96, 7);
  const ref::Epilogue e{Act::kClip, 0.f, 6.f};
  const Expected want = reference(p, x, w, b.data(), nullptr, e);
  auto k = create(p, w, b.data(), e);
  ASSERT_NE(k, nullptr);
  std::vector<float> got(want.y.size(), -1.f);
  EXPECT_TRUE(k->run(x.data(), nullptr, got.data()));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_LE(std::fabs(got[i] - want.y[i]), 1e-5f * want.bound[i]) << i;
}

// NaN and infinity as the reference treats them: Relu turns NaN into 0, Clip and LeakyRelu
// pass it on, an infinite sum stays infinite unless the clip bounds it; run() says whether
// anything non-finite was written.
TEST(Conv1x1F32, NonFiniteInputsAsTheReference) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const ConvParams p = pointwise(1, 8, 20, 4, 4, 1);
  auto x = random_values(8 * 16, 8);
  const auto w = random_values(20 * 8, 9), b = random_values(20, 10);
  x[3 * 8 + 2] = std::numeric_limits<float>::quiet_NaN();   // pixel 3
  x[9 * 8 + 5] = std::numeric_limits<float>::infinity();    // pixel 9
  x[12 * 8 + 0] = -std::numeric_limits<float>::infinity();  // pixel 12
  for (const ref::Epilogue& e : std::vector<ref::Epilogue>{
           {Act::kNone, 0, 0}, {Act::kRelu, 0, 0}, {Act::kClip, -1.f, 1.f}, {Act::kLeakyRelu, 0.1f, 0}}) {
    const Expected want = reference(p, x, w, b.data(), nullptr, e);
    auto k = create(p, w, b.data(), e);
    ASSERT_NE(k, nullptr);
    std::vector<float> got(want.y.size());
    const bool finite = k->run(x.data(), nullptr, got.data());
    expect_reference_non_finite(got, want, finite, "act " + std::to_string(static_cast<int>(e.act)));
  }
}

TEST(Conv1x1F32, DeclinesWhatItDoesNotCompute) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const std::vector<float> w(9 * 16 * 16, 0.5f);
  std::string why;
  ConvParams p = pointwise(1, 16, 16, 4, 4, 1);
  EXPECT_EQ(fast::Conv1x1F32::Create(p, w.data(), nullptr, {Act::kSilu, 0, 0}, &why), nullptr);
  EXPECT_NE(why.find("Silu"), std::string::npos) << why;
  ConvParams grouped = p;
  grouped.group = 2;
  EXPECT_EQ(fast::Conv1x1F32::Create(grouped, w.data(), nullptr, {}, &why), nullptr);
  EXPECT_EQ(why, "grouped");
  ConvParams padded = p;
  padded.pad_begin = {1, 1};
  padded.pad_end = {1, 1};
  padded.out_size = {6, 6};
  EXPECT_EQ(fast::Conv1x1F32::Create(padded, w.data(), nullptr, {}, &why), nullptr);
  EXPECT_EQ(why, "padded");
  ConvParams three = p;
  three.kernel = {3, 3};
  three.out_size = {2, 2};
  EXPECT_EQ(fast::Conv1x1F32::Create(three, w.data(), nullptr, {}, &why), nullptr);
  EXPECT_EQ(why, "not a 2-D 1x1 convolution");
  EXPECT_FALSE(fast::Conv1x1F32::outruns_onednn(three));
}

// ---- StemConvF32 ----

// A convolution with kernel k x k, stride s and pads (top, left, bottom, right); out_size by
// the ONNX formula.
ConvParams stem(int64_t batch, int64_t cin, int64_t cout, int64_t h, int64_t w, int64_t k, int64_t s,
                std::vector<int64_t> pads) {
  return ConvParams{batch,
                    cin,
                    cout,
                    1,
                    {h, w},
                    {(h + pads[0] + pads[2] - k) / s + 1, (w + pads[1] + pads[3] - k) / s + 1},
                    {k, k},
                    {s, s},
                    {1, 1},
                    {pads[0], pads[1]},
                    {pads[2], pads[3]}};
}

TEST(StemConvF32, MatchesTheReferenceOverPaddingStridesAndTiles) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  // MobileNetV2's and ResNet's first layers, small; one to four channels; output channels
  // below, at and past one and four blocks; rows of outputs that leave a partial tile of
  // every size; asymmetric padding, padding wider than the filter reaches, none.
  const std::vector<ConvParams> shapes = {
      stem(2, 3, 32, 15, 17, 3, 2, {1, 1, 1, 1}), stem(1, 3, 64, 20, 19, 7, 2, {3, 3, 3, 3}),
      stem(1, 1, 16, 28, 28, 3, 1, {1, 1, 1, 1}), stem(2, 4, 24, 9, 13, 5, 1, {2, 0, 1, 3}),
      stem(1, 2, 72, 6, 30, 3, 3, {0, 0, 0, 0}),  stem(1, 3, 8, 5, 5, 1, 1, {0, 0, 0, 0}),
      stem(1, 3, 40, 7, 26, 2, 2, {0, 1, 1, 0}),  stem(3, 1, 17, 4, 4, 3, 1, {2, 2, 2, 2})};
  uint32_t seed = 100;
  for (const ConvParams& p : shapes) {
    expect_reference_values(p, true, seed, fast::StemConvF32::Create);
    seed += 4;
  }
}

// A 1-D convolution of `length` samples: kernel k, stride s, pads (left, right).
ConvParams stem1d(int64_t batch, int64_t cin, int64_t cout, int64_t length, int64_t k, int64_t s, int64_t pad_l,
                  int64_t pad_r) {
  return ConvParams{batch, cin, cout, 1, {length}, {(length + pad_l + pad_r - k) / s + 1}, {k}, {s}, {1}, {pad_l}, {pad_r}};
}

TEST(StemConvF32, OneDimensionalMatchesTheReference) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  // Raw-audio first layers, small: an M5 network's (a filter of 80 at stride 4) and a wav2vec
  // 2.0-style one (stride 5); strides 1 to 5 (1, 2 and 4 address a tile from one pointer, the
  // others pixel by pixel); outputs over several runs of columns (96 each) and ending in a
  // partial tile; one to four channels; padding wider than the filter reaches; a filter longer
  // than the input; output channels below, at and past one block.
  const std::vector<ConvParams> shapes = {
      stem1d(1, 1, 128, 1000, 80, 4, 38, 38), stem1d(2, 1, 32, 400, 10, 5, 0, 0), stem1d(1, 2, 40, 301, 11, 2, 5, 5),
      stem1d(3, 4, 17, 50, 3, 1, 2, 2),       stem1d(1, 1, 16, 7, 9, 3, 4, 4),     stem1d(1, 3, 24, 193, 5, 3, 0, 1),
      stem1d(2, 1, 48, 1157, 251, 1, 125, 125)};
  uint32_t seed = 300;
  for (const ConvParams& p : shapes) {
    EXPECT_TRUE(fast::StemConvF32::outruns_onednn(p)) << describe(p);
    expect_reference_values(p, true, seed, fast::StemConvF32::Create);
    seed += 4;
  }
}

TEST(StemConvF32, ImageBatchOverThreadsMatchesTheReference) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const ConvParams p = stem(2, 3, 32, 64, 64, 3, 2, {1, 1, 1, 1});
  const auto x = random_values(2 * 3 * 64 * 64, 11), w = random_values(32 * 27, 12), b = random_values(32, 13);
  const ref::Epilogue e{Act::kClip, 0.f, 6.f};
  const Expected want = reference(p, x, w, b.data(), nullptr, e, true);
  std::string why;
  auto k = fast::StemConvF32::Create(p, w.data(), b.data(), e, &why);
  ASSERT_NE(k, nullptr) << why;
  std::vector<float> got(want.y.size(), -1.f);
  EXPECT_TRUE(k->run(x.data(), nullptr, got.data()));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_LE(std::fabs(got[i] - want.y[i]), 1e-5f * want.bound[i]) << i;
}

TEST(StemConvF32, NonFiniteInputsAsTheReference) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const ConvParams p = stem(1, 3, 20, 8, 8, 3, 1, {1, 1, 1, 1});
  auto x = random_values(3 * 64, 14);
  const auto w = random_values(20 * 27, 15), b = random_values(20, 16);
  x[0 * 64 + 9] = std::numeric_limits<float>::quiet_NaN();    // channel 0, row 1, column 1
  x[2 * 64 + 54] = std::numeric_limits<float>::infinity();    // channel 2, row 6, column 6
  for (const ref::Epilogue& e : std::vector<ref::Epilogue>{
           {Act::kNone, 0, 0}, {Act::kRelu, 0, 0}, {Act::kClip, -1.f, 1.f}, {Act::kLeakyRelu, 0.1f, 0}}) {
    const Expected want = reference(p, x, w, b.data(), nullptr, e, true);
    std::string why;
    auto k = fast::StemConvF32::Create(p, w.data(), b.data(), e, &why);
    ASSERT_NE(k, nullptr) << why;
    std::vector<float> got(want.y.size());
    const bool finite = k->run(x.data(), nullptr, got.data());
    expect_reference_non_finite(got, want, finite, "act " + std::to_string(static_cast<int>(e.act)));
  }
}

TEST(StemConvF32, DeclinesWhatItDoesNotCompute) {
  if (!avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const std::vector<float> w(64 * 8 * 9, 0.5f);
  std::string why;
  const ConvParams p = stem(1, 3, 16, 8, 8, 3, 1, {1, 1, 1, 1});
  EXPECT_EQ(fast::StemConvF32::Create(p, w.data(), nullptr, {Act::kSilu, 0, 0}, &why), nullptr);
  EXPECT_NE(why.find("Silu"), std::string::npos) << why;
  const ConvParams wide = stem(1, 8, 16, 8, 8, 3, 1, {1, 1, 1, 1});
  EXPECT_EQ(fast::StemConvF32::Create(wide, w.data(), nullptr, {}, &why), nullptr);
  EXPECT_EQ(why, "more than 4 input channels");
  EXPECT_FALSE(fast::StemConvF32::outruns_onednn(wide));
  ConvParams dilated = p;
  dilated.dilation = {2, 2};
  dilated.out_size = {6, 6};
  EXPECT_EQ(fast::StemConvF32::Create(dilated, w.data(), nullptr, {}, &why), nullptr);
  EXPECT_EQ(why, "dilated");
  ConvParams grouped = stem(1, 4, 16, 8, 8, 3, 1, {1, 1, 1, 1});
  grouped.group = 2;
  EXPECT_EQ(fast::StemConvF32::Create(grouped, w.data(), nullptr, {}, &why), nullptr);
  EXPECT_EQ(why, "grouped");
}

}  // namespace
}  // namespace qs::kernels
