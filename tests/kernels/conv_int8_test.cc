// INT8 Conv / ConvTranspose: the reference against hand-computed values and the float
// reference, and oneDNN against the reference, exactly, on shapes around the vector widths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernels/fast/conv_int8_onednn.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/conv_int8.h"
#include "kernels/naive_layout.h"
#include "kernels/reference/int8.h"
#include "random_values.h"

namespace qs::kernels {
namespace {

using ref::ConvParams;
using V = std::vector<int64_t>;

ConvParams conv_params(int64_t batch, int64_t cin, int64_t cout, int64_t group, V in, V k, V s, V d, V pb, V pe) {
  ConvParams p{batch, cin, cout, group, in, {}, k, s, d, pb, pe};
  for (size_t i = 0; i < in.size(); ++i)
    p.out_size.push_back((in[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1)) / s[i] + 1);
  return p;
}

// ONNX pads and output_padding; pad_end as ConvParams wants it (end pad minus output_padding).
ConvParams deconv_params(int64_t batch, int64_t cin, int64_t cout, int64_t group, V in, V k, V s, V d, V pb, V pe,
                         V out_pad) {
  ConvParams p{batch, cin, cout, group, in, {}, k, s, d, pb, {}};
  for (size_t i = 0; i < in.size(); ++i) {
    p.out_size.push_back(s[i] * (in[i] - 1) + out_pad[i] + (k[i] - 1) * d[i] + 1 - pb[i] - pe[i]);
    p.pad_end.push_back(pe[i] - out_pad[i]);
  }
  return p;
}

int64_t prod(const V& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

std::string join(const V& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "x" : "") + std::to_string(v[i]);
  return s;
}

// A failing case's parameters, printed with every mismatch.
std::string describe(const ConvParams& p, bool transposed) {
  std::ostringstream o;
  o << (transposed ? "ConvTranspose" : "Conv") << " batch=" << p.batch << " cin=" << p.in_channels
    << " cout=" << p.out_channels << " group=" << p.group << " in=" << join(p.in_size) << " out=" << join(p.out_size)
    << " k=" << join(p.kernel) << " s=" << join(p.stride) << " d=" << join(p.dilation) << " pb=" << join(p.pad_begin)
    << " pe=" << join(p.pad_end);
  return o.str();
}

// Activations over the full int8 range, weights over the symmetric weight range.
int64_t weight_count(const ConvParams& p) { return p.out_channels * (p.in_channels / p.group) * prod(p.kernel); }
int64_t in_count(const ConvParams& p) { return p.batch * p.in_channels * prod(p.in_size); }
int64_t out_count(const ConvParams& p) { return p.batch * p.out_channels * prod(p.out_size); }

// "" when equal, else where the first difference is.
std::string first_mismatch(const std::vector<int32_t>& want, const std::vector<int32_t>& got) {
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != got[i])
      return "first mismatch at " + std::to_string(i) + ": want " + std::to_string(want[i]) + ", got " +
             std::to_string(got[i]);
  return "";
}

// ---- reference against hand-computed values ----

TEST(ConvInt8Reference, StridedDilatedAsymmetricPad1d) {
  // x = 1..5, w = [2, -1], dilation 2, stride 2, pads (1, 2): padded 0 1 2 3 4 5 0 0.
  const std::vector<int8_t> x{1, 2, 3, 4, 5}, w{2, -1};
  const auto p = conv_params(1, 1, 1, 1, {5}, {2}, {2}, {2}, {1}, {2});
  ASSERT_EQ(p.out_size[0], 3);
  std::vector<int32_t> acc(3);
  ref::conv_s8s8s32(p, x.data(), w.data(), acc.data());
  // out[0] = 2*0 - 2 = -2; out[1] = 2*2 - 4 = 0; out[2] = 2*4 - 0 = 8
  EXPECT_EQ(acc, (std::vector<int32_t>{-2, 0, 8}));
}

TEST(ConvInt8Reference, ExtremesDoNotOverflow) {
  // 64 channels x 3x3 of (-128) * (-127) (and 127): the largest magnitudes the ranges allow.
  const auto p = conv_params(1, 64, 2, 1, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0});
  const std::vector<int8_t> x(static_cast<size_t>(in_count(p)), -128);
  std::vector<int8_t> w(static_cast<size_t>(weight_count(p)), -127);
  std::fill(w.begin() + 64 * 9, w.end(), int8_t{127});
  std::vector<int32_t> acc(2);
  ref::conv_s8s8s32(p, x.data(), w.data(), acc.data());
  EXPECT_EQ(acc, (std::vector<int32_t>{64 * 9 * 128 * 127, -64 * 9 * 128 * 127}));
}

TEST(ConvInt8Reference, TransposeStride2) {
  // 1-D, x = [1, 2, 3], w = [1, 10, 100], stride 2: y[o] = sum x[i] * w[o - 2i].
  const std::vector<int8_t> x{1, 2, 3}, w{1, 10, 100};
  const auto p = deconv_params(1, 1, 1, 1, {3}, {3}, {2}, {1}, {0}, {0}, {0});
  ASSERT_EQ(p.out_size[0], 7);
  std::vector<int32_t> acc(7);
  ref::conv_transpose_s8s8s32(p, x.data(), w.data(), acc.data());
  EXPECT_EQ(acc, (std::vector<int32_t>{1, 10, 102, 20, 203, 30, 300}));
}

TEST(ConvInt8Reference, ReductionBound) {
  EXPECT_EQ(ref::conv_int8_reduction(conv_params(1, 64, 8, 2, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0})), 32 * 9);
  EXPECT_TRUE(ref::int8_reduction_fits(ref::kMaxInt8Reduction));
  EXPECT_FALSE(ref::int8_reduction_fits(ref::kMaxInt8Reduction + 1));
  // The bound's reason: the largest sum it allows still fits int32.
  EXPECT_LE(ref::kMaxInt8Reduction * 128 * 127, int64_t{INT32_MAX});
}

TEST(ConvInt8Reference, TransposeWeightScalesPerOutputChannel) {
  // group 2, cin 4, cout 6: w [4, 3, 1]; output channel g*3+j collects w[g*2 + i][j].
  const auto p = deconv_params(1, 4, 6, 2, {2}, {1}, {1}, {1}, {0}, {0}, {0});
  std::vector<float> w(12);
  for (int i = 0; i < 12; ++i) w[static_cast<size_t>(i)] = static_cast<float>(i + 1) * (i % 2 ? -1.f : 1.f);
  std::vector<int8_t> q(12);
  std::vector<float> scales(6);
  ref::quantize_conv_transpose_weights_s8(p, w.data(), q.data(), scales.data());
  // Channel (0, j): w[j] and w[3 + j]; channel (1, j): w[6 + j] and w[9 + j]. The max is the second.
  for (int g = 0; g < 2; ++g)
    for (int j = 0; j < 3; ++j) {
      const size_t big = static_cast<size_t>(g * 6 + 3 + j), small = big - 3;
      EXPECT_FLOAT_EQ(scales[static_cast<size_t>(g * 3 + j)], std::abs(w[big]) / 127.f);
      EXPECT_EQ(std::abs(q[big]), 127);
      EXPECT_EQ(q[small], static_cast<int8_t>(std::nearbyint(w[small] / scales[static_cast<size_t>(g * 3 + j)])));
    }
}

// ---- a catalogue of geometries, shared by the checks below ----

std::vector<ConvParams> conv_cases() {
  std::vector<ConvParams> cases;
  const V channels{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65};
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t cin = channels[i], cout = channels[(i + 5) % channels.size()];
    const V hw = i % 2 ? V{7, 9} : V{17, 15};
    cases.push_back(conv_params(1, cin, cout, 1, hw, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));
    cases.push_back(conv_params(1, cin, cout, 1, hw, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}));
    // depthwise, and depthwise with channel multiplier 2
    cases.push_back(conv_params(1, cin, cin, cin, hw, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));
    cases.push_back(conv_params(1, cin, 2 * cin, cin, hw, {3, 3}, {2, 2}, {1, 1}, {0, 1}, {1, 0}));
  }
  // spatial sizes straddling 8 and 16
  for (int64_t s : {7, 8, 9, 15, 16, 17})
    cases.push_back(conv_params(1, 16, 16, 1, {s, s + 1}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));
  // grouped
  cases.push_back(conv_params(1, 16, 24, 2, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));
  cases.push_back(conv_params(2, 32, 64, 4, {8, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}));
  cases.push_back(conv_params(1, 9, 15, 3, {10, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));
  cases.push_back(conv_params(1, 64, 64, 32, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));
  // strides, dilations, asymmetric pads, non-square kernels
  cases.push_back(conv_params(1, 17, 33, 1, {16, 17}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}));
  cases.push_back(conv_params(1, 8, 16, 1, {15, 15}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}));
  cases.push_back(conv_params(1, 7, 9, 1, {13, 11}, {3, 5}, {1, 2}, {2, 1}, {0, 2}, {3, 1}));
  cases.push_back(conv_params(1, 32, 32, 1, {14, 14}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {2, 2}));
  cases.push_back(conv_params(2, 3, 16, 1, {17, 16}, {5, 5}, {2, 2}, {1, 1}, {2, 1}, {1, 2}));
  // 1-D and 3-D
  cases.push_back(conv_params(1, 16, 17, 1, {33}, {3}, {2}, {1}, {1}, {0}));
  cases.push_back(conv_params(2, 9, 31, 1, {20}, {5}, {1}, {2}, {4}, {4}));
  cases.push_back(conv_params(1, 32, 32, 32, {60}, {33}, {1}, {1}, {16}, {16}));  // 1-D depthwise
  cases.push_back(conv_params(1, 24, 48, 24, {41}, {5}, {2}, {1}, {2}, {2}));     // 1-D, multiplier 2
  cases.push_back(conv_params(1, 5, 7, 1, {5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}));
  cases.push_back(conv_params(1, 16, 8, 2, {4, 9, 8}, {3, 1, 3}, {2, 1, 2}, {1, 1, 1}, {1, 0, 0}, {1, 0, 1}));
  cases.push_back(conv_params(1, 8, 8, 8, {6, 6, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}));
  return cases;
}

std::vector<ConvParams> deconv_cases() {
  std::vector<ConvParams> cases;
  const V channels{1, 3, 8, 9, 16, 17, 33, 64};
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t cin = channels[i], cout = channels[(i + 3) % channels.size()];
    cases.push_back(deconv_params(1, cin, cout, 1, {7, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));
    cases.push_back(deconv_params(1, cin, cout, 1, {8, 8}, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {0, 0}));
  }
  cases.push_back(deconv_params(1, 16, 16, 16, {9, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}));  // depthwise
  cases.push_back(deconv_params(2, 16, 24, 4, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {0, 1}, {1, 0}, {1, 0}));  // grouped
  cases.push_back(deconv_params(1, 8, 8, 1, {7, 7}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, {0, 0}));    // dilated
  cases.push_back(deconv_params(1, 7, 5, 1, {9, 8}, {2, 3}, {3, 2}, {1, 1}, {0, 1}, {2, 0}, {2, 1}));    // asymmetric
  cases.push_back(deconv_params(1, 17, 9, 1, {15}, {4}, {2}, {1}, {1}, {1}, {0}));                       // 1-D
  cases.push_back(deconv_params(1, 8, 4, 2, {3, 4, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1},
                                {1, 1, 1}));  // 3-D
  return cases;
}

// On integer data of small magnitude the float reference is exact too, so the two references
// must agree: a check that the int8 loops index like the float ones.
TEST(ConvInt8Reference, MatchesFloatReferenceOnIntegerData) {
  for (bool transposed : {false, true})
    for (const ConvParams& p : transposed ? deconv_cases() : conv_cases()) {
      SCOPED_TRACE(describe(p, transposed));
      const auto x = random_s8(in_count(p), -128, 1), w = random_s8(weight_count(p), -127, 2);
      const std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end());
      std::vector<float> yf(static_cast<size_t>(out_count(p)));
      std::vector<int32_t> acc(yf.size());
      if (transposed) {
        ref::conv_transpose_f32(p, xf.data(), wf.data(), nullptr, yf.data());
        ref::conv_transpose_s8s8s32(p, x.data(), w.data(), acc.data());
      } else {
        ref::conv_f32(p, xf.data(), wf.data(), nullptr, yf.data());
        ref::conv_s8s8s32(p, x.data(), w.data(), acc.data());
      }
      // |sums| < 2^24 here (at most 65*9*16256), so float holds them exactly
      const std::vector<int32_t> want(yf.begin(), yf.end());
      ASSERT_EQ(first_mismatch(want, acc), "");
    }
}

// ---- oneDNN against the reference, exactly ----

std::vector<int32_t> reference(const ConvParams& p, bool transposed, const std::vector<int8_t>& x,
                               const std::vector<int8_t>& w) {
  std::vector<int32_t> acc(static_cast<size_t>(out_count(p)));
  (transposed ? ref::conv_transpose_s8s8s32 : ref::conv_s8s8s32)(p, x.data(), w.data(), acc.data());
  return acc;
}

std::unique_ptr<fast::ConvS8OneDnn> make_fast(const ConvParams& p, bool transposed, const std::vector<int8_t>& w,
                                              std::string* why) {
  return transposed ? fast::ConvS8OneDnn::ConvTranspose(p, w.data(), why) : fast::ConvS8OneDnn::Conv(p, w.data(), why);
}

void expect_fast_matches(const ConvParams& p, bool transposed, const std::vector<int8_t>& x,
                         const std::vector<int8_t>& w) {
  std::string why;
  auto fast = make_fast(p, transposed, w, &why);
  ASSERT_NE(fast, nullptr) << describe(p, transposed) << ": oneDNN declined: " << why;
  std::vector<int32_t> got(static_cast<size_t>(out_count(p)), 12345);
  fast->run(x.data(), got.data());
  EXPECT_EQ(first_mismatch(reference(p, transposed, x, w), got), "")
      << describe(p, transposed) << " impl=" << fast->impl_info();
}

TEST(ConvInt8OneDnn, ConvMatchesReferenceExactly) {
  uint32_t seed = 10;
  for (const ConvParams& p : conv_cases()) {
    expect_fast_matches(p, false, random_s8(in_count(p), -128, seed), random_s8(weight_count(p), -127, seed + 1));
    seed += 2;
  }
}

TEST(ConvInt8OneDnn, ConvTransposeMatchesReferenceExactly) {
  uint32_t seed = 1000;
  for (const ConvParams& p : deconv_cases()) {
    expect_fast_matches(p, true, random_s8(in_count(p), -128, seed), random_s8(weight_count(p), -127, seed + 1));
    seed += 2;
  }
}

// All -128 activations against +-127 weights: the largest sums, and on a CPU without VNNI the
// inputs that would saturate int16 pair sums. Also checks oneDNN's +128 shift compensation.
TEST(ConvInt8OneDnn, ExtremeValuesAreExact) {
  for (bool transposed : {false, true}) {
    const ConvParams p = transposed
                             ? deconv_params(1, 64, 32, 1, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0})
                             : conv_params(1, 256, 32, 1, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
    const std::vector<int8_t> x(static_cast<size_t>(in_count(p)), -128);
    std::vector<int8_t> w(static_cast<size_t>(weight_count(p)));
    for (size_t i = 0; i < w.size(); ++i) w[i] = (i / 7) % 2 ? int8_t{127} : int8_t{-127};
    expect_fast_matches(p, transposed, x, w);
    std::vector<int8_t> x_max(x.size(), 127);
    expect_fast_matches(p, transposed, x_max, w);
  }
}

TEST(ConvInt8OneDnn, DeclinesReductionThatCouldOverflow) {
  // 16384 channels x 3x3 = 147456 products per output > 2^17.
  const auto p = conv_params(1, 16384, 1, 1, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0});
  const std::vector<int8_t> w(static_cast<size_t>(weight_count(p)), 1);
  std::string why;
  EXPECT_EQ(fast::ConvS8OneDnn::Conv(p, w.data(), &why), nullptr);
  EXPECT_NE(why.find("overflow"), std::string::npos) << why;
}

TEST(ConvInt8OneDnn, WeightsAreCopiedAndRunsAreThreadSafe) {
  const auto p = conv_params(2, 33, 17, 1, {16, 15}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  auto w = random_s8(weight_count(p), -127, 7);
  std::string why;
  auto fast = fast::ConvS8OneDnn::Conv(p, w.data(), &why);
  ASSERT_NE(fast, nullptr) << why;
  std::vector<std::vector<int8_t>> xs;
  std::vector<std::vector<int32_t>> want;
  for (uint32_t t = 0; t < 4; ++t) {
    xs.push_back(random_s8(in_count(p), -128, 100 + t));
    want.push_back(reference(p, false, xs.back(), w));
  }
  std::fill(w.begin(), w.end(), int8_t{0});  // the kernel holds its own copy
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<int32_t> got(want[t].size());
      for (int rep = 0; rep < 20 && errors[t].empty(); ++rep) {
        fast->run(xs[t].data(), got.data());
        errors[t] = first_mismatch(want[t], got);
      }
    });
  for (auto& th : threads) th.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
}

// The float epilogue inside oneDNN (run_f32) against ref::conv_s8s8s32 + ref::dequantize_epilogue,
// bit for bit, for every activation, with and without bias and residual, plain and
// channels-last.
TEST(ConvInt8OneDnn, FloatEpilogueMatchesReferenceBitForBit) {
  using Act = ref::Epilogue::Act;
  const std::vector<ConvParams> cases = {
      conv_params(1, 16, 32, 1, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}),
      conv_params(2, 33, 17, 1, {8, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}),
      conv_params(1, 24, 24, 24, {12, 12}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}),  // depthwise, strided
      conv_params(1, 64, 256, 1, {14, 14}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}),
      conv_params(1, 3, 16, 1, {17, 16}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3})};
  const std::vector<ref::Epilogue> acts = {{Act::kNone, 0, 0}, {Act::kRelu, 0, 0}, {Act::kClip, -0.5f, 6.f},
                                           {Act::kLeakyRelu, 0.1f, 0}};
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  uint32_t seed = 300;
  for (const ConvParams& p : cases) {
    const auto x = random_s8(in_count(p), -128, seed++), w = random_s8(weight_count(p), -127, seed++);
    const int64_t ny = out_count(p), oc = p.out_channels, sp = ny / (p.batch * oc);
    std::vector<float> w_scales(static_cast<size_t>(oc)), bias(static_cast<size_t>(oc)), r(static_cast<size_t>(ny));
    for (float& v : w_scales) v = std::abs(u(gen)) * 0.01f + 1e-4f;
    for (float& v : bias) v = u(gen);
    for (float& v : r) v = u(gen);
    const float x_scale = 0.0173f;
    const std::vector<int32_t> acc = reference(p, false, x, w);
    for (const ref::Epilogue& e : acts)
      for (bool with_bias : {false, true})
        for (bool with_residual : {false, true})
          for (bool cl : {false, true})
            for (bool operand : {true, false}) {
              std::vector<float> want(static_cast<size_t>(ny));
              ref::dequantize_epilogue(acc.data(), p.batch, oc, sp, x_scale, w_scales.data(),
                                       with_bias ? bias.data() : nullptr, with_residual ? r.data() : nullptr, e,
                                       want.data());
              fast::ConvS8Epilogue epi;
              for (float ws : w_scales) epi.scales.push_back(x_scale * ws);
              if (with_bias) epi.bias = bias;
              epi.residual = with_residual;
              epi.act = e;
              epi.scales_as_operand = operand;  // a multiply post-op, or output scales
              std::string why;
              auto fast = fast::ConvS8OneDnn::Conv(p, w.data(), &why, {cl, cl}, &epi);
              // On plain NCHW only oneDNN's reference implementation takes the epilogue, which
              // the kernel declines (the caller then uses the int32 path); channels-last must fuse.
              if (!cl && !fast) continue;
              ASSERT_NE(fast, nullptr) << describe(p, false) << ": " << why;
              EXPECT_NE(fast->impl_info().rfind("ref", 0), 0u) << fast->impl_info();
              const int64_t in_sp = in_count(p) / (p.batch * p.in_channels);
              const std::vector<int8_t> xin = cl ? naive::to_nhwc(p.batch, p.in_channels, in_sp, x) : x;
              const std::vector<float> rin = cl ? naive::to_nhwc(p.batch, oc, sp, r) : r;
              std::vector<float> got(static_cast<size_t>(ny), -7.f);
              fast->run_f32(xin.data(), with_residual ? rin.data() : nullptr, got.data());
              const std::vector<float> expect = cl ? naive::to_nhwc(p.batch, oc, sp, want) : want;
              size_t bad = 0;
              for (size_t i = 0; i < got.size(); ++i)
                if (std::memcmp(&got[i], &expect[i], sizeof(float)) != 0 && bad++ == 0)
                  ADD_FAILURE() << describe(p, false) << " act=" << static_cast<int>(e.act) << " bias=" << with_bias
                                << " residual=" << with_residual << " channels_last=" << cl
                                << " scales_as_operand=" << operand << " impl="
                                << fast->impl_info() << ": element " << i << " is " << got[i] << ", want " << expect[i];
              EXPECT_EQ(bad, 0u);
              // The same epilogue written as int8 for the next INT8 layer: the reference's quantize
              // of the float result, with a scale that puts values on both sides of the clamp.
              epi.out_scale = 0.011f;
              auto q8 = fast::ConvS8OneDnn::Conv(p, w.data(), &why, {cl, cl}, &epi);
              if (!cl && !q8) continue;
              ASSERT_NE(q8, nullptr) << describe(p, false) << ": " << why;
              std::vector<int8_t> want_q(expect.size()), got_q(expect.size(), 99);
              ref::quantize_f32_s8(expect.data(), want_q.data(), static_cast<int64_t>(expect.size()), epi.out_scale);
              q8->run_s8(xin.data(), with_residual ? rin.data() : nullptr, got_q.data());
              EXPECT_EQ(got_q, want_q) << describe(p, false) << " int8 out act=" << static_cast<int>(e.act)
                                       << " residual=" << with_residual << " channels_last=" << cl
                                       << " scales_as_operand=" << operand;
            }
  }
}

// Silu has no exact oneDNN counterpart: the kernel declines rather than round differently.
TEST(ConvInt8OneDnn, FloatEpilogueDeclinesSilu) {
  const auto p = conv_params(1, 8, 8, 1, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1});
  const auto w = random_s8(weight_count(p), -127, 3);
  fast::ConvS8Epilogue epi;
  epi.scales.assign(8, 0.01f);
  epi.act.act = ref::Epilogue::Act::kSilu;
  std::string why;
  EXPECT_EQ(fast::ConvS8OneDnn::Conv(p, w.data(), &why, {}, &epi), nullptr);
}

}  // namespace
}  // namespace qs::kernels
