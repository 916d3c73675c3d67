// DFT, STFT, the windows and MelWeightMatrix (ops/signal.cc) beyond ONNX's node tests: the inverse
// undoes the transform, one-sided output is the first half of the full one, dft_length pads with
// zeros, an STFT frame is the DFT of the windowed samples, and bad parameters are errors, not hangs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/op_case.h"
#include "random_values.h"

namespace qs::ops {
namespace {

using ::testing::HasSubstr;

Tensor scalar(int64_t v) { return Tensor::FromVector<int64_t>({}, std::vector<int64_t>{v}); }

std::vector<Tensor> dft(const Tensor& x, int64_t inverse, int64_t onesided, const Tensor* length = nullptr) {
  OpCase c("DFT", 17);
  c.int_attr("inverse", inverse).int_attr("onesided", onesided).input(DType::kFloat32, x.shape());
  if (length) c.constant(*length);
  return c.run_ptrs(length ? std::vector<const Tensor*>{&x, length} : std::vector<const Tensor*>{&x});
}

TEST(Signal, InverseUndoesTheDftAndOneSidedIsTheFirstHalf) {
  const Tensor x = Tensor::FromVector<float>({2, 12, 1}, random_values(24, 5));
  auto full = dft(x, 0, 0);
  ASSERT_EQ(full.size(), 1u);
  ASSERT_EQ(full[0].shape(), (Shape{2, 12, 2}));
  auto back = dft(full[0], 1, 0);
  for (int64_t i = 0; i < 24; ++i) {
    EXPECT_NEAR(back[0].values<float>()[i * 2], x.values<float>()[i], 1e-5) << i;
    EXPECT_NEAR(back[0].values<float>()[i * 2 + 1], 0.f, 1e-5) << i;
  }
  auto half = dft(x, 0, 1);
  ASSERT_EQ(half[0].shape(), (Shape{2, 7, 2}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t k = 0; k < 7 * 2; ++k)
      EXPECT_EQ(half[0].values<float>()[b * 14 + k], full[0].values<float>()[b * 24 + k]);
  // dft_length 16: the 12 samples padded with zeros; bin 0 is their sum either way.
  const Tensor len = scalar(16);
  auto padded = dft(x, 0, 0, &len);
  ASSERT_EQ(padded[0].shape(), (Shape{2, 16, 2}));
  EXPECT_NEAR(padded[0].values<float>()[0], full[0].values<float>()[0], 1e-5);
  EXPECT_THAT(OpCase("DFT", 17).int_attr("inverse", 1).int_attr("onesided", 1).input(DType::kFloat32, {2, 12, 1}).error(),
              HasSubstr("node 'n' (DFT): 'onesided' is not defined for the inverse"));
  EXPECT_THAT(OpCase("DFT", 17).input(DType::kFloat32, {2, 12, 3}).error(), HasSubstr("expected [batch, signal dims..., 1 or 2]"));
  // A 10^6-point transform of 10^6 samples: 10^12 products, refused rather than run for hours.
  const Tensor million = scalar(1000000);
  EXPECT_THAT(OpCase("DFT", 17).input(DType::kFloat32, {1, 1000000, 1}).constant(million).error(),
              HasSubstr("the reference kernel stops at"));
}

TEST(Signal, StftFramesAreDftsOfWindowedSamples) {
  const Tensor x = Tensor::FromVector<float>({1, 20, 1}, random_values(20, 6));
  OpCase hann("HannWindow", 17);
  const Tensor eight = scalar(8);
  hann.constant(eight);
  auto w = hann.run_ptrs({&eight});
  ASSERT_EQ(w[0].shape(), (Shape{8}));
  const Tensor step = scalar(4);
  OpCase stft("STFT", 17);
  stft.input(DType::kFloat32, {1, 20, 1}).constant(step).input(DType::kFloat32, {8});
  auto out = stft.run_ptrs({&x, &step, &w[0]});
  ASSERT_EQ(out[0].shape(), (Shape{1, 4, 5, 2}));  // (20 - 8) / 4 + 1 frames, 8 / 2 + 1 bins
  // Frame 2: samples 8..15 times the window, through the DFT.
  std::vector<float> frame(8);
  for (int t = 0; t < 8; ++t) frame[static_cast<size_t>(t)] = x.values<float>()[8 + t] * w[0].values<float>()[t];
  auto want = dft(Tensor::FromVector<float>({1, 8, 1}, frame), 0, 1);
  for (int k = 0; k < 10; ++k) EXPECT_NEAR(out[0].values<float>()[2 * 10 + k], want[0].values<float>()[k], 1e-5) << k;
  EXPECT_THAT(OpCase("STFT", 17).input(DType::kFloat32, {1, 20, 1}).constant(step).error(),
              HasSubstr("node 'n' (STFT): STFT needs a window or a frame_length"));
}

TEST(Signal, MelTrianglesPeakAtOneAndFarEdgesStayInside) {
  // 40 bands over 20 Hz - 8 kHz of a 400-point DFT at 16 kHz: each band's triangle peaks at 1.
  {
    const std::vector<Tensor> in = {scalar(40), scalar(400), scalar(16000),
                                    Tensor::FromVector<float>({}, std::vector<float>{20.f}),
                                    Tensor::FromVector<float>({}, std::vector<float>{8000.f})};
    OpCase c("MelWeightMatrix", 17);
    for (const Tensor& t : in) c.constant(t);
    auto out = c.run_ptrs({&in[0], &in[1], &in[2], &in[3], &in[4]});
    ASSERT_EQ(out[0].shape(), (Shape{201, 40}));
    for (int64_t band = 0; band < 40; ++band) {
      float peak = 0.f;
      for (int64_t row = 0; row < 201; ++row) peak = std::max(peak, out[0].values<float>()[row * 40 + band]);
      EXPECT_EQ(peak, 1.f) << "band " << band;
    }
  }
  // An upper edge far past Nyquist puts corners outside the matrix: the loops stay inside it.
  const std::vector<Tensor> in = {scalar(4), scalar(64), scalar(16000), Tensor::FromVector<float>({}, std::vector<float>{0.f}),
                                  Tensor::FromVector<float>({}, std::vector<float>{1e9f})};
  OpCase c("MelWeightMatrix", 17);
  for (const Tensor& t : in) c.constant(t);
  auto out = c.run_ptrs({&in[0], &in[1], &in[2], &in[3], &in[4]});
  ASSERT_EQ(out[0].shape(), (Shape{33, 4}));
  for (int64_t i = 0; i < out[0].numel(); ++i) {
    EXPECT_GE(out[0].values<float>()[i], 0.f);
    EXPECT_LE(out[0].values<float>()[i], 1.f);
  }
  const Tensor nan_edge = Tensor::FromVector<float>({}, std::vector<float>{NAN});
  OpCase bad("MelWeightMatrix", 17);
  bad.constant(in[0]).constant(in[1]).constant(in[2]).constant(in[3]).constant(nan_edge);
  EXPECT_THAT(bad.error(), HasSubstr("must be finite and not negative"));
}

}  // namespace
}  // namespace qs::ops
