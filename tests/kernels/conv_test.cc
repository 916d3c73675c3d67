// Conv / ConvTranspose kernels: the reference against hand-computed values, and oneDNN
// against the reference on shapes around the vector widths.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "kernels/fast/conv_onednn.h"
#include "kernels/reference/conv.h"
#include "kernels/naive_layout.h"
#include "kernels/reference/int8.h"
#include "random_values.h"

namespace qs::kernels {
namespace {

using ref::ConvParams;

// A Conv geometry; out_size follows from the ONNX formula.
ConvParams conv_params(int64_t batch, int64_t cin, int64_t cout, int64_t group, std::vector<int64_t> in,
                       std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> d,
                       std::vector<int64_t> pb, std::vector<int64_t> pe) {
  ConvParams p{batch, cin, cout, group, in, {}, k, s, d, pb, pe};
  for (size_t i = 0; i < in.size(); ++i)
    p.out_size.push_back((in[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1)) / s[i] + 1);
  return p;
}

// A ConvTranspose geometry with ONNX pads and output_padding.
ConvParams deconv_params(int64_t batch, int64_t cin, int64_t cout, int64_t group, std::vector<int64_t> in,
                         std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> d,
                         std::vector<int64_t> pb, std::vector<int64_t> pe, std::vector<int64_t> out_pad) {
  ConvParams p{batch, cin, cout, group, in, {}, k, s, d, pb, {}};
  for (size_t i = 0; i < in.size(); ++i) {
    p.out_size.push_back(s[i] * (in[i] - 1) + out_pad[i] + (k[i] - 1) * d[i] + 1 - pb[i] - pe[i]);
    p.pad_end.push_back(pe[i] - out_pad[i]);
  }
  return p;
}

int64_t prod(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

// ---- reference against hand-computed values ----

TEST(ConvReference, Basic2dWithAndWithoutPadding) {
  // ONNX's basic_conv example: 5x5 ramp, 3x3 kernel of ones.
  std::vector<float> x(25);
  for (int i = 0; i < 25; ++i) x[i] = static_cast<float>(i);
  const std::vector<float> w(9, 1.f);
  auto p = conv_params(1, 1, 1, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0});
  std::vector<float> y(9);
  ref::conv_f32(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{54, 63, 72, 99, 108, 117, 144, 153, 162}));

  p = conv_params(1, 1, 1, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  y.assign(25, 0.f);
  ref::conv_f32(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                                   93, 144, 153, 162, 111, 72, 111, 117, 123, 84}));
}

TEST(ConvReference, StridedDilatedAsymmetricPadWithBias1d) {
  // x = 1..5, w = [2, -1], dilation 2, stride 2, pads (1, 2): padded input 0 1 2 3 4 5 0 0.
  const std::vector<float> x{1, 2, 3, 4, 5}, w{2, -1}, b{0.5f};
  auto p = conv_params(1, 1, 1, 1, {5}, {2}, {2}, {2}, {1}, {2});
  ASSERT_EQ(p.out_size[0], 3);
  std::vector<float> y(3);
  ref::conv_f32(p, x.data(), w.data(), b.data(), y.data());
  // out[o] = 2*pad[2o] - pad[2o+2] + 0.5
  EXPECT_EQ(y, (std::vector<float>{2 * 0 - 2 + 0.5f, 2 * 2 - 4 + 0.5f, 2 * 4 - 0 + 0.5f}));
}

TEST(ConvReference, GroupedAndDepthwise) {
  // Two groups, two output channels each: 1x1 kernels scale one input channel.
  const std::vector<float> x{3, 5}, w{1, 2, 3, 4}, b{0, 0, 0, 100};
  auto p = conv_params(1, 2, 4, 2, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0});
  std::vector<float> y(4);
  ref::conv_f32(p, x.data(), w.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{3, 6, 15, 120}));
}

TEST(ConvReference, ThreeD) {
  // 2x2x2 input, 2x2x2 kernel of ones: the sum, plus a second batch.
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
  const std::vector<float> w(8, 1.f);
  auto p = conv_params(2, 1, 1, 1, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0});
  std::vector<float> y(2);
  ref::conv_f32(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{28, 92}));
}

TEST(ConvTransposeReference, OneD) {
  const std::vector<float> x{1, 2, 3}, w{1, 1, 1};
  auto p = deconv_params(1, 1, 1, 1, {3}, {3}, {1}, {1}, {0}, {0}, {0});
  std::vector<float> y(5);
  ref::conv_transpose_f32(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 3, 6, 5, 3}));

  // Stride 2: copies of w*x[i] start at 2i.
  p = deconv_params(1, 1, 1, 1, {3}, {3}, {2}, {1}, {0}, {0}, {0});
  y.assign(7, 0.f);
  ref::conv_transpose_f32(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 1, 3, 2, 5, 3, 3}));

  // Pads crop one each side; output_padding adds a trailing zero (then the bias).
  p = deconv_params(1, 1, 1, 1, {3}, {3}, {2}, {1}, {1}, {1}, {1});
  ASSERT_EQ(p.out_size[0], 6);
  y.assign(6, 0.f);
  const std::vector<float> b{10};
  ref::conv_transpose_f32(p, x.data(), w.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{11, 13, 12, 15, 13, 13}));
}

TEST(ConvTransposeReference, OnnxOneDExampleTwoOutputChannels) {
  // onnx test_convtranspose_1d: x [1,1,3] = 0 1 2, W [1,2,3] all ones.
  const std::vector<float> x{0, 1, 2}, w(6, 1.f);
  auto p = deconv_params(1, 1, 2, 1, {3}, {3}, {1}, {1}, {0}, {0}, {0});
  std::vector<float> y(10);
  ref::conv_transpose_f32(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{0, 1, 3, 3, 2, 0, 1, 3, 3, 2}));
}

TEST(ConvTransposeReference, GroupedAndDilated) {
  // Two groups of one channel; dilation 2 puts the taps two apart.
  const std::vector<float> x{1, 2}, w{1, 2, 3, 4};  // W [2,1,2]
  auto p = deconv_params(1, 2, 2, 2, {1}, {2}, {1}, {2}, {0}, {0}, {0});
  ASSERT_EQ(p.out_size[0], 3);
  std::vector<float> y(6);
  ref::conv_transpose_f32(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 0, 2, 6, 0, 8}));
}

// ---- oneDNN against the reference ----

struct Case {
  std::string name;
  ConvParams p;
};

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f * (1.f + std::fabs(want[i])))) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", reference " << want[i];
      ++bad;
    }
}

// Runs one geometry through oneDNN with constant weights (reordered at build) and with
// weights given per run, both with and without bias, against the reference.
void check_against_reference(const ConvParams& p, bool transposed, const std::string& name) {
  const int64_t k = prod(p.kernel);
  const int64_t w_n = transposed ? p.in_channels * (p.out_channels / p.group) * k
                                 : p.out_channels * (p.in_channels / p.group) * k;
  const auto x = random_values(p.batch * p.in_channels * prod(p.in_size), 1);
  const auto w = random_values(w_n, 2);
  const auto b = random_values(p.out_channels, 3);
  const int64_t y_n = p.batch * p.out_channels * prod(p.out_size);
  for (bool with_bias : {true, false}) {
    const float* bias = with_bias ? b.data() : nullptr;
    std::vector<float> want(static_cast<size_t>(y_n));
    (transposed ? ref::conv_transpose_f32 : ref::conv_f32)(p, x.data(), w.data(), bias, want.data());
    for (bool constant : {true, false}) {
      std::string why;
      auto fast = transposed ? fast::ConvOneDnn::ConvTranspose(p, constant ? w.data() : nullptr,
                                                               constant ? bias : nullptr, with_bias, &why)
                             : fast::ConvOneDnn::Conv(p, constant ? w.data() : nullptr, constant ? bias : nullptr,
                                                      with_bias, &why);
      const std::string what = name + (with_bias ? " bias" : " nobias") + (constant ? " const-w" : " runtime-w");
      ASSERT_NE(fast, nullptr) << what << ": oneDNN declined: " << why;
      std::vector<float> got(static_cast<size_t>(y_n), -777.f);
      fast->run(x.data(), w.data(), bias, got.data());
      expect_close(got, want, what);
      // A second run must give the same answer (no state carried between runs).
      std::vector<float> again(static_cast<size_t>(y_n), 123.f);
      fast->run(x.data(), w.data(), bias, again.data());
      EXPECT_EQ(again, got) << what;
    }
  }
}

std::vector<Case> conv_cases() {
  std::vector<Case> cs;
  const int64_t channels[] = {1, 3, 7, 8, 9, 15, 16, 17, 33};
  const int64_t sizes[] = {7, 8, 9, 15, 16, 17};
  int i = 0;
  for (int64_t c : channels) {
    const int64_t cout = channels[(i + 4) % 9], hw = sizes[i % 6], hw2 = sizes[(i + 2) % 6];
    cs.push_back({"c" + std::to_string(c) + "to" + std::to_string(cout) + "_3x3",
                  conv_params(1 + i % 2, c, cout, 1, {hw, hw2}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})});
    ++i;
  }
  for (int64_t c : {8, 16, 17, 33})
    cs.push_back({"depthwise" + std::to_string(c),
                  conv_params(2, c, c, c, {9, 16}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})});
  cs.push_back({"depthwise_mult2", conv_params(1, 8, 16, 8, {15, 15}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1})});
  cs.push_back({"grouped3", conv_params(1, 12, 18, 3, {16, 16}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})});
  cs.push_back({"grouped4", conv_params(2, 32, 64, 4, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})});
  cs.push_back({"strided", conv_params(1, 16, 32, 1, {17, 17}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1})});
  cs.push_back({"stride3_7x7", conv_params(1, 3, 16, 1, {33, 31}, {7, 7}, {3, 2}, {1, 1}, {3, 3}, {3, 3})});
  cs.push_back({"dilated", conv_params(1, 9, 17, 1, {16, 15}, {3, 3}, {1, 1}, {2, 3}, {2, 3}, {2, 3})});
  cs.push_back({"asym_pad", conv_params(1, 8, 8, 1, {9, 16}, {3, 2}, {1, 2}, {1, 1}, {0, 1}, {2, 0})});
  cs.push_back({"pointwise", conv_params(2, 33, 17, 1, {8, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0})});
  cs.push_back({"pointwise_s2", conv_params(1, 16, 32, 1, {16, 16}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0})});
  cs.push_back({"conv1d", conv_params(2, 7, 9, 1, {33}, {5}, {2}, {1}, {2}, {1})});
  cs.push_back({"conv1d_grouped_dilated", conv_params(1, 16, 16, 4, {17}, {3}, {1}, {2}, {0}, {3})});
  cs.push_back({"conv3d", conv_params(1, 3, 8, 1, {7, 8, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1})});
  cs.push_back({"conv3d_strided_grouped",
                conv_params(1, 8, 16, 2, {9, 8, 7}, {3, 1, 3}, {2, 1, 2}, {1, 1, 2}, {1, 0, 2}, {0, 0, 1})});
  cs.push_back({"kernel_equals_input", conv_params(1, 4, 5, 1, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0})});
  // Long filters on few channels (oneDNN's im2col + GEMM: prefers_gemm in conv_onednn.cc).
  cs.push_back({"conv1d_long_filter", conv_params(2, 1, 24, 1, {400}, {40}, {2}, {1}, {19}, {20})});
  cs.push_back({"few_channels_9x9", conv_params(1, 2, 16, 1, {20, 19}, {9, 9}, {1, 1}, {1, 1}, {4, 4}, {4, 4})});
  return cs;
}

TEST(ConvOneDnn, MatchesReference) {
  for (const Case& c : conv_cases()) {
    SCOPED_TRACE(c.name);
    check_against_reference(c.p, false, c.name);
  }
}

// Kernels built from equal weights share one reordered copy (shared_reordered_constant): found by
// the weights' values, never by their address, and never written after it is made.
TEST(ConvOneDnn, KernelsOfEqualWeightsShareACopyFoundByValue) {
  const ConvParams p = conv_params(1, 16, 32, 1, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  const auto x = random_values(16 * 81, 21);
  auto w = random_values(32 * 16 * 9, 22);
  const std::vector<float> w_copy = w;  // equal values at another address
  auto reference = [&](const std::vector<float>& weights) {
    std::vector<float> y(32 * 81);
    ref::conv_f32(p, x.data(), weights.data(), nullptr, y.data());
    return y;
  };
  auto run = [&](const fast::ConvOneDnn& conv) {
    std::vector<float> y(32 * 81, -777.f);
    conv.run(x.data(), nullptr, nullptr, y.data());
    return y;
  };
  std::string why;
  const auto a = fast::ConvOneDnn::Conv(p, w.data(), nullptr, false, &why);
  const auto b = fast::ConvOneDnn::Conv(p, w_copy.data(), nullptr, false, &why);
  ASSERT_TRUE(a && b) << why;
  const std::vector<float> want = reference(w);
  expect_close(run(*a), want, "first kernel");
  expect_close(run(*b), want, "kernel of a copy of the weights");
  // The same buffer with other values: a new copy; the first kernel keeps the values it was built with.
  w[5] += 3.f;
  const auto c = fast::ConvOneDnn::Conv(p, w.data(), nullptr, false, &why);
  ASSERT_NE(c, nullptr) << why;
  expect_close(run(*c), reference(w), "kernel of changed weights");
  expect_close(run(*a), want, "first kernel after the change");
  EXPECT_NE(run(*c), run(*a));
}

// Channels-last x and/or y, with the epilogue (residual, activation) inside oneDNN or left to
// the caller, against the plain reference conv + ref::float_epilogue.
TEST(ConvOneDnn, ChannelsLastAndFusedEpilogueMatchReference) {
  using Act = ref::Epilogue::Act;
  const std::vector<Case> cases = {
      {"3x3", conv_params(2, 16, 24, 1, {9, 10}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})},
      {"pointwise", conv_params(1, 33, 64, 1, {8, 8}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0})},
      {"pointwise_to_24", conv_params(2, 40, 24, 1, {7, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0})},
      {"depthwise_s2", conv_params(1, 32, 32, 32, {15, 15}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1})},
      {"stem7x7", conv_params(1, 3, 16, 1, {32, 32}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3})},
      {"1d_3", conv_params(2, 16, 24, 1, {50}, {3}, {1}, {1}, {1}, {1})},
      {"1d_depthwise_33", conv_params(1, 32, 32, 32, {60}, {33}, {1}, {1}, {16}, {16})}};
  const std::vector<ref::Epilogue> acts = {{Act::kNone, 0, 0}, {Act::kRelu, 0, 0}, {Act::kClip, 0.f, 6.f},
                                           {Act::kLeakyRelu, 0.2f, 0}, {Act::kSilu, 0, 0}};
  for (const Case& c : cases) {
    const ConvParams& p = c.p;
    const int64_t in_sp = prod(p.in_size), out_sp = prod(p.out_size);
    const auto x = random_values(p.batch * p.in_channels * in_sp, 1);
    const auto w = random_values(p.out_channels * (p.in_channels / p.group) * prod(p.kernel), 2);
    const auto b = random_values(p.out_channels, 3);
    const auto r = random_values(p.batch * p.out_channels * out_sp, 4);
    for (const ref::Epilogue& e : acts)
      for (bool residual : {false, true})
        for (int layout = 0; layout < 4; ++layout) {
          const bool x_cl = layout & 1, y_cl = layout & 2;
          if (residual && !y_cl) continue;  // the residual follows y; plain y never fuses it
          std::vector<float> want(r.size());
          ref::conv_f32(p, x.data(), w.data(), b.data(), want.data());
          ref::float_epilogue(want.data(), p.batch, p.out_channels, out_sp, nullptr, residual ? r.data() : nullptr, e,
                              want.data());
          fast::ConvFastOptions o;
          o.src_channels_last = x_cl;
          o.dst_channels_last = y_cl;
          o.residual = residual;
          o.epilogue = e;
          std::string why;
          auto conv = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
          const std::string what = c.name + " act=" + std::to_string(static_cast<int>(e.act)) +
                                   (residual ? " residual" : "") + (x_cl ? " x_cl" : "") + (y_cl ? " y_cl" : "");
          ASSERT_NE(conv, nullptr) << what << ": " << why;
          const auto xin = x_cl ? naive::to_nhwc(p.batch, p.in_channels, in_sp, x) : x;
          const auto rin = y_cl ? naive::to_nhwc(p.batch, p.out_channels, out_sp, r) : r;
          std::vector<float> got(r.size(), -5.f);
          conv->run(xin.data(), w.data(), b.data(), got.data(), conv->residual_fused() ? rin.data() : nullptr);
          // What the caller does then: the rest of the epilogue on y in y's layout.
          ref::Epilogue rest = e;
          if (conv->activation_fused()) rest.act = Act::kNone;
          const int64_t outer = y_cl ? p.batch * out_sp : p.batch, inner = y_cl ? 1 : out_sp;
          ref::float_epilogue(got.data(), outer, p.out_channels, inner, nullptr,
                              residual && !conv->residual_fused() ? rin.data() : nullptr, rest, got.data());
          // oneDNN may take the residual only when it writes a channels-last y, Relu / LeakyRelu
          // into a channels-last y or a plain one without a residual, and never through its
          // reference implementation.
          const bool exact_act = e.act == Act::kRelu || e.act == Act::kLeakyRelu;
          if (conv->residual_fused()) {
            EXPECT_TRUE(y_cl && residual) << what;
          }
          if (conv->activation_fused()) {
            EXPECT_TRUE(exact_act && (y_cl || !residual)) << what;
            EXPECT_EQ(conv->residual_fused(), residual) << what;
          }
          if (!y_cl && !residual && exact_act) {
            EXPECT_TRUE(conv->activation_fused()) << what << ": " << conv->impl_info();
          }
          EXPECT_NE(conv->impl_info().rfind("ref", 0), 0u) << what << ": " << conv->impl_info();
          const auto want_y = y_cl ? naive::to_nhwc(p.batch, p.out_channels, out_sp, want) : want;
          expect_close(got, want_y, what);
          if (conv->residual_fused()) {
            // In place: y is r's buffer.
            std::vector<float> in_place = rin;
            conv->run(xin.data(), w.data(), b.data(), in_place.data(), in_place.data());
            ref::float_epilogue(in_place.data(), outer, p.out_channels, inner, nullptr, nullptr, rest, in_place.data());
            expect_close(in_place, want_y, what + " in place");
          }
          if (x_cl && y_cl && c.name == "3x3" && e.act == Act::kRelu) {
            // The ResNet case: both fuse.
            EXPECT_TRUE(conv->activation_fused()) << what;
            EXPECT_EQ(conv->residual_fused(), residual) << what;
          }
        }
  }
}

// 1x1 convolutions to between 16 and 32 channels take oneDNN's jit_1x1 kernel, not the brgemm
// one it lists first (conv_onednn.cc, prefers_jit_1x1); 16 and 32 channels keep oneDNN's choice.
TEST(ConvOneDnn, NarrowPointwiseTakesJit1x1) {
  if (!fast::channels_last_preferred()) GTEST_SKIP() << "no channels-last convolutions on this CPU";
  for (const int64_t out : {16, 20, 24, 31, 32}) {
    const ConvParams p = conv_params(8, 96, out, 1, {56, 56}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0});
    const auto w = random_values(out * 96, 2), b = random_values(out, 3);
    fast::ConvFastOptions o;
    o.src_channels_last = o.dst_channels_last = true;
    std::string why;
    auto conv = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
    ASSERT_NE(conv, nullptr) << why;
    const bool jit = conv->impl_info().rfind("jit_1x1", 0) == 0;
    EXPECT_EQ(jit, out > 16 && out < 32) << out << ": " << conv->impl_info();
  }
}

// Strided 1x1 convolutions with large weights and enough output pixels on a channels-last x
// gather the pixels they read and run at unit stride (conv_onednn.cc, gathers_strided_input):
// the same answer as the reference and as oneDNN's strided kernel, on 1-, 2- and 3-D shapes,
// batches, uneven sizes, groups, with the residual added in place; padded, plain-x, small or
// opted-out ones do not gather.
TEST(ConvOneDnn, StridedPointwiseGathersItsInput) {
  using Act = ref::Epilogue::Act;
  struct Gathered {
    std::string name;
    ConvParams p;
    bool gathers;  // with a channels-last x and the option on
  };
  const std::vector<Gathered> cases = {
      {"2d_s2", conv_params(1, 512, 256, 1, {28, 29}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}), true},
      {"2d_s2_batch2", conv_params(2, 256, 512, 1, {28, 27}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}), true},
      {"2d_s3x1", conv_params(1, 384, 384, 1, {40, 15}, {1, 1}, {3, 1}, {1, 1}, {0, 0}, {0, 0}), true},
      {"1d_s3", conv_params(2, 512, 320, 1, {599}, {1}, {3}, {1}, {0}, {0}), true},
      {"3d_s2", conv_params(1, 256, 512, 1, {3, 14, 28}, {1, 1, 1}, {2, 1, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}), true},
      {"grouped_s2", conv_params(1, 1024, 512, 2, {28, 28}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}), true},
      {"few_pixels", conv_params(1, 512, 256, 1, {9, 10}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}), false},
      {"small_weights", conv_params(1, 64, 128, 1, {28, 28}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}), false},
      {"padded", conv_params(1, 512, 256, 1, {28, 28}, {1, 1}, {2, 2}, {1, 1}, {1, 1}, {0, 0}), false},
      {"unit_stride", conv_params(1, 512, 256, 1, {14, 14}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}), false}};
  for (const Gathered& c : cases) {
    SCOPED_TRACE(c.name);
    const ConvParams& p = c.p;
    const int64_t in_sp = prod(p.in_size), out_sp = prod(p.out_size);
    const auto x = random_values(p.batch * p.in_channels * in_sp, 1);
    const auto w = random_values(p.out_channels * (p.in_channels / p.group), 2);
    const auto b = random_values(p.out_channels, 3);
    const auto r = random_values(p.batch * p.out_channels * out_sp, 4);
    const ref::Epilogue relu{Act::kRelu, 0, 0};
    std::vector<float> want(r.size());
    ref::conv_f32(p, x.data(), w.data(), b.data(), want.data());
    ref::float_epilogue(want.data(), p.batch, p.out_channels, out_sp, nullptr, r.data(), relu, want.data());
    const auto want_y = naive::to_nhwc(p.batch, p.out_channels, out_sp, want);
    const auto xin = naive::to_nhwc(p.batch, p.in_channels, in_sp, x);
    const auto rin = naive::to_nhwc(p.batch, p.out_channels, out_sp, r);
    for (int variant = 0; variant < 3; ++variant) {  // gather allowed; opted out; plain x
      fast::ConvFastOptions o;
      o.src_channels_last = variant != 2;
      o.dst_channels_last = o.residual = true;
      o.epilogue = relu;
      o.gather_strided = variant != 1;
      std::string why;
      auto conv = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
      const std::string what = c.name + " variant " + std::to_string(variant);
      ASSERT_NE(conv, nullptr) << what << ": " << why;
      EXPECT_EQ(conv->gathers_input(), c.gathers && variant == 0) << what;
      const std::vector<float>& xv = variant == 2 ? x : xin;
      // y holds r: the residual added in place, then what oneDNN did not fuse.
      std::vector<float> got = rin;
      conv->run(xv.data(), nullptr, nullptr, got.data(), got.data());
      ASSERT_TRUE(conv->residual_fused()) << what << ": " << conv->impl_info();
      if (!conv->activation_fused())
        ref::float_epilogue(got.data(), p.batch * out_sp, p.out_channels, 1, nullptr, nullptr, relu, got.data());
      expect_close(got, want_y, what);
    }
  }
}

// Long filters at a small stride on few input channels (a waveform's first layer) take oneDNN's
// im2col + GEMM, not the brgemm kernel it lists first (conv_onednn.cc, prefers_gemm); shorter or
// more strided filters, and more channels keep oneDNN's choice. GEMM takes no activation into a
// plain y.
TEST(ConvOneDnn, LongFiltersOnFewChannelsTakeGemm) {
  struct Shape1d {
    int64_t in, out, group, kernel, stride;
    bool gemm;
  };
  for (const Shape1d& s : std::vector<Shape1d>{{1, 128, 1, 80, 4, true},
                                               {2, 40, 1, 251, 1, true},
                                               {1, 64, 1, 64, 8, false},
                                               {1, 512, 1, 10, 5, false},
                                               {8, 64, 1, 80, 4, false}}) {
    const ConvParams p =
        conv_params(1, s.in, s.out, s.group, {1600}, {s.kernel}, {s.stride}, {1}, {s.kernel / 2}, {s.kernel / 2});
    const auto w = random_values(s.out * s.in / s.group * s.kernel, 2), b = random_values(s.out, 3);
    std::string why;
    auto conv = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why);
    ASSERT_NE(conv, nullptr) << why;
    const bool gemm = conv->impl_info().find("gemm") != std::string::npos;
    EXPECT_EQ(gemm, s.gemm) << s.in << " -> " << s.out << ", filter " << s.kernel << ", stride " << s.stride << ": "
                            << conv->impl_info();
    // With a Relu: GEMM keeps it out (its post-ops run element by element), the others take it.
    fast::ConvFastOptions o;
    o.epilogue.act = ref::Epilogue::Act::kRelu;
    auto relu = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
    ASSERT_NE(relu, nullptr) << why;
    EXPECT_EQ(relu->impl_info().find("gemm") != std::string::npos, s.gemm) << relu->impl_info();
    EXPECT_EQ(relu->activation_fused(), !s.gemm) << relu->impl_info();
  }
}

// A 1-D layer runs as the 2-D one of a single row (onednn_common.h, conv_as_2d): oneDNN's only
// 1-D depthwise kernel is im2col + GEMM group by group, 25x slower than its 2-D one.
TEST(ConvOneDnn, OneDimensionalDepthwiseLayersTakeATwoDimensionalKernel) {
  const ConvParams p = conv_params(1, 64, 64, 64, {400}, {33}, {1}, {1}, {16}, {16});
  const auto w = random_values(64 * 33, 2), b = random_values(64, 3);
  for (int layout = 0; layout < 2; ++layout) {
    fast::ConvFastOptions o;
    o.src_channels_last = o.dst_channels_last = layout == 1;
    std::string why;
    auto conv = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
    ASSERT_NE(conv, nullptr) << why;
    EXPECT_EQ(conv->impl_info().find("gemm"), std::string::npos) << conv->impl_info();
    EXPECT_NE(conv->impl_info().rfind("ref", 0), 0u) << conv->impl_info();
  }
}

// A NaN input: the fused conv gives NaN (or not) exactly where the reference conv + epilogue
// does (Relu turns NaN into 0, LeakyRelu and Clip pass it on).
TEST(ConvOneDnn, FusedEpilogueTreatsNanAsTheReferenceDoes) {
  using Act = ref::Epilogue::Act;
  const ConvParams p = conv_params(1, 16, 16, 1, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  auto x = random_values(16 * 64, 1);
  x[5 * 64 + 27] = std::numeric_limits<float>::quiet_NaN();
  const auto w = random_values(16 * 16 * 9, 2), b = random_values(16, 3);
  for (const ref::Epilogue& e : std::vector<ref::Epilogue>{{Act::kRelu, 0, 0}, {Act::kLeakyRelu, 0.1f, 0}, {Act::kClip, 0, 6}}) {
    std::vector<float> want(16 * 64);
    ref::conv_f32(p, x.data(), w.data(), b.data(), want.data());
    ref::float_epilogue(want.data(), 1, 16, 64, nullptr, nullptr, e, want.data());
    fast::ConvFastOptions o;
    o.src_channels_last = o.dst_channels_last = true;
    o.epilogue = e;
    std::string why;
    auto conv = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
    ASSERT_NE(conv, nullptr) << why;
    std::vector<float> got(want.size());
    conv->run(naive::to_nhwc(1, 16, 64, x).data(), w.data(), b.data(), got.data());
    ref::Epilogue rest = e;
    if (conv->activation_fused()) rest.act = Act::kNone;
    ref::float_epilogue(got.data(), 64, 16, 1, nullptr, nullptr, rest, got.data());
    const auto want_cl = naive::to_nhwc(1, 16, 64, want);
    int nans = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      nans += std::isnan(want_cl[i]);
      ASSERT_EQ(std::isnan(got[i]), std::isnan(want_cl[i])) << "act " << static_cast<int>(e.act) << " element " << i;
      if (!std::isnan(got[i])) {
        EXPECT_NEAR(got[i], want_cl[i], 1e-4f * (1 + std::fabs(want_cl[i])));
      }
    }
    EXPECT_EQ(nans > 0, e.act != Act::kRelu) << "the NaN reaches 3x3 outputs unless Relu clears it";
  }
}

// Clip with nan_free (the caller runs it on inputs without NaN or infinity): oneDNN takes the
// clip as a post-op, residual included, and gives the reference's values.
TEST(ConvOneDnn, NanFreeClipRunsInsideTheConvolution) {
  using Act = ref::Epilogue::Act;
  if (!fast::channels_last_preferred()) GTEST_SKIP() << "no channels-last convolutions on this CPU";
  for (const bool depthwise : {false, true}) {
    const int64_t g = depthwise ? 16 : 1;
    const ConvParams p = conv_params(2, 16, 16, g, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
    auto x = random_values(2 * 16 * 81, 4);
    for (auto& v : x) v *= 4.f;  // wide enough to reach both bounds
    const auto w = random_values(16 * (16 / g) * 9, 5), b = random_values(16, 6), r = random_values(2 * 16 * 81, 7);
    const ref::Epilogue e{Act::kClip, -0.5f, 1.5f};
    std::vector<float> want(2 * 16 * 81);
    ref::conv_f32(p, x.data(), w.data(), b.data(), want.data());
    ref::float_epilogue(want.data(), 2, 16, 81, nullptr, r.data(), e, want.data());
    fast::ConvFastOptions o;
    o.src_channels_last = o.dst_channels_last = true;
    o.residual = true;
    o.epilogue = e;
    o.nan_free = true;
    std::string why;
    auto conv = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
    ASSERT_NE(conv, nullptr) << why;
    EXPECT_TRUE(conv->activation_fused()) << depthwise << ": " << conv->impl_info();
    EXPECT_TRUE(conv->residual_fused()) << depthwise;
    std::vector<float> got(want.size());
    conv->run(naive::to_nhwc(2, 16, 81, x).data(), w.data(), b.data(), got.data(),
              naive::to_nhwc(2, 16, 81, r).data());
    const auto want_cl = naive::to_nhwc(2, 16, 81, want);
    int at_bounds = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      at_bounds += want_cl[i] == e.alpha || want_cl[i] == e.beta;
      ASSERT_NEAR(got[i], want_cl[i], 1e-4f * (1 + std::fabs(want_cl[i]))) << depthwise << ": element " << i;
    }
    EXPECT_GT(at_bounds, 0) << "the clip must bite";
  }
}

// Winograd (nan_free inputs): 3x3 stride-1 convolutions with enough output pixels run as
// Winograd, within its rounding of the reference (1e-5 of sum |x w| + |b| at each output), with
// Relu inside it giving the reference's +0; other geometries and callers keep the direct one.
TEST(ConvOneDnn, WinogradMatchesTheReferenceWithinItsRounding) {
  using Act = ref::Epilogue::Act;
  if (!fast::channels_last_preferred()) GTEST_SKIP() << "no AVX-512 convolutions on this CPU";
  const std::vector<Case> cases = {
      {"64ch_14x14", conv_params(1, 64, 64, 1, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})},
      {"32to80_b2", conv_params(2, 32, 80, 1, {16, 12}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})}};
  for (const Case& c : cases) {
    const ConvParams& p = c.p;
    const int64_t in_sp = prod(p.in_size), out_sp = prod(p.out_size);
    auto x = random_values(p.batch * p.in_channels * in_sp, 11);
    for (size_t i = 0; i < x.size(); i += 7) x[i] *= 100.f;  // a wide range of magnitudes
    const auto w = random_values(p.out_channels * p.in_channels * 9, 12), b = random_values(p.out_channels, 13);
    std::vector<float> conv(static_cast<size_t>(p.batch * p.out_channels * out_sp)), bound(conv.size());
    ref::conv_f32(p, x.data(), w.data(), b.data(), conv.data());
    std::vector<float> ax(x.size()), aw(w.size()), ab(b.size());
    for (size_t i = 0; i < x.size(); ++i) ax[i] = std::fabs(x[i]);
    for (size_t i = 0; i < w.size(); ++i) aw[i] = std::fabs(w[i]);
    for (size_t i = 0; i < b.size(); ++i) ab[i] = std::fabs(b[i]);
    ref::conv_f32(p, ax.data(), aw.data(), ab.data(), bound.data());
    for (const Act act : {Act::kNone, Act::kRelu})
      for (bool channels_last : {false, true}) {
        const std::string what = c.name + (act == Act::kRelu ? " relu" : "") + (channels_last ? " nhwc" : " nchw");
        fast::ConvFastOptions o;
        o.src_channels_last = o.dst_channels_last = channels_last;
        o.epilogue = {act, 0.f, 0.f};
        o.nan_free = o.winograd = true;
        std::string why;
        auto f = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why, o);
        ASSERT_NE(f, nullptr) << what << ": " << why;
        EXPECT_TRUE(f->winograd()) << what << ": " << f->impl_info();
        EXPECT_NE(f->impl_info().find("wino"), std::string::npos) << what << ": " << f->impl_info();
        EXPECT_EQ(f->activation_fused(), act == Act::kRelu) << what;
        std::vector<float> got(conv.size(), -3.f);
        f->run(channels_last ? naive::to_nhwc(p.batch, p.in_channels, in_sp, x).data() : x.data(), w.data(), b.data(),
               got.data());
        if (channels_last) got = naive::to_nchw(p.batch, p.out_channels, out_sp, got);
        int zeros = 0;
        for (size_t i = 0; i < got.size(); ++i) {
          const float want = act == Act::kRelu ? std::max(conv[i], 0.f) : conv[i];
          ASSERT_LE(std::fabs(got[i] - want), 1e-5f * bound[i]) << what << ": element " << i;
          if (act == Act::kRelu && conv[i] < 0) {
            ++zeros;
            ASSERT_EQ(got[i], 0.f) << what << ": element " << i;
            ASSERT_FALSE(std::signbit(got[i])) << what << ": Relu gives +0, element " << i;
          }
        }
        if (act == Act::kRelu) {
          EXPECT_GT(zeros, 0) << what;
        }
      }
  }
  // Not Winograd: without the caller's leave, a strided or grouped 3x3, too few pixels or channels.
  const ConvParams big = cases[0].p;
  const auto w = random_values(64 * 64 * 9, 14);
  fast::ConvFastOptions o;
  o.nan_free = o.winograd = true;
  fast::ConvFastOptions direct_only;
  direct_only.nan_free = true;
  std::string why;
  const auto direct = fast::ConvOneDnn::Conv(big, w.data(), nullptr, false, &why, direct_only);
  ASSERT_NE(direct, nullptr) << why;
  EXPECT_FALSE(direct->winograd());
  EXPECT_FALSE(fast::winograd_candidate(conv_params(1, 64, 64, 1, {28, 28}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1})));
  EXPECT_FALSE(fast::winograd_candidate(conv_params(1, 64, 64, 2, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})));
  const ConvParams small = conv_params(1, 64, 64, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  EXPECT_FALSE(fast::winograd_candidate(small));
  const auto few_pixels = fast::ConvOneDnn::Conv(small, w.data(), nullptr, false, &why, o);
  ASSERT_NE(few_pixels, nullptr) << why;
  EXPECT_FALSE(few_pixels->winograd());
  EXPECT_TRUE(fast::winograd_candidate(conv_params(4, 64, 64, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})));
  for (const auto& [in, out] : {std::pair<int64_t, int64_t>{1, 16}, {3, 64}, {16, 16}, {32, 32}, {8, 512}})
    EXPECT_FALSE(fast::winograd_candidate(conv_params(1, in, out, 1, {28, 28}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})))
        << in << " -> " << out;
  EXPECT_TRUE(fast::winograd_candidate(conv_params(1, 16, 128, 1, {28, 28}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1})));
}

std::vector<Case> deconv_cases() {
  std::vector<Case> cs;
  for (int64_t c : {1, 3, 8, 9, 16, 17})
    cs.push_back({"c" + std::to_string(c),
                  deconv_params(1, c, 17 - c / 2, 1, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0, 0})});
  cs.push_back({"stride2_pad_outpad",
                deconv_params(2, 16, 8, 1, {8, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1})});
  cs.push_back({"stride2_k4", deconv_params(1, 8, 16, 1, {9, 15}, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {0, 0})});
  cs.push_back({"grouped", deconv_params(1, 12, 6, 3, {8, 9}, {3, 3}, {2, 1}, {1, 1}, {0, 1}, {1, 0}, {1, 0})});
  cs.push_back({"depthwise", deconv_params(1, 16, 16, 16, {16, 16}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1})});
  cs.push_back({"dilated", deconv_params(1, 3, 5, 1, {6, 7}, {3, 3}, {1, 2}, {2, 2}, {0, 1}, {2, 0}, {0, 1})});
  cs.push_back({"outpad_exceeds_pad",
                deconv_params(1, 2, 3, 1, {5, 5}, {3, 3}, {3, 3}, {1, 1}, {0, 0}, {0, 0}, {2, 1})});
  cs.push_back({"deconv1d", deconv_params(2, 7, 9, 1, {17}, {5}, {2}, {1}, {2}, {1}, {1})});
  cs.push_back({"deconv3d",
                deconv_params(1, 4, 8, 2, {4, 5, 6}, {3, 3, 2}, {2, 1, 2}, {1, 1, 1}, {1, 0, 0}, {0, 1, 0}, {1, 0, 1})});
  return cs;
}

TEST(ConvTransposeOneDnn, MatchesReference) {
  for (const Case& c : deconv_cases()) {
    SCOPED_TRACE(c.name);
    check_against_reference(c.p, true, c.name);
  }
}

// One kernel object run from several threads at once: each thread has its own stream and
// staging buffers, so all get the reference's answer.
TEST(ConvOneDnn, ConcurrentRunsFromSeveralThreads) {
  const auto p = conv_params(1, 16, 16, 1, {17, 17}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  const auto w = random_values(16 * 16 * 9, 2), b = random_values(16, 3);
  std::string why;
  auto fast = fast::ConvOneDnn::Conv(p, w.data(), b.data(), true, &why);
  ASSERT_NE(fast, nullptr) << why;
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> xs, want, got;
  for (int t = 0; t < kThreads; ++t) {
    xs.push_back(random_values(16 * 17 * 17, 10 + t));
    want.emplace_back(16 * 17 * 17);
    got.emplace_back(16 * 17 * 17);
    ref::conv_f32(p, xs[t].data(), w.data(), b.data(), want[t].data());
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) fast->run(xs[t].data(), nullptr, nullptr, got[t].data());
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) expect_close(got[t], want[t], "thread " + std::to_string(t));
}

TEST(ConvOneDnn, EmptyBatchIsDeclined) {
  auto p = conv_params(0, 3, 4, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0});
  std::string why;
  EXPECT_EQ(fast::ConvOneDnn::Conv(p, nullptr, nullptr, false, &why), nullptr);
  EXPECT_EQ(why, "empty batch");
}

}  // namespace
}  // namespace qs::kernels
