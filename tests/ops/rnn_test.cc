// RNN, GRU and LSTM (ops/rnn.cc, kernels/reference/rnn.cc) beyond ONNX's node tests: single
// steps computed by hand (clip, GRU's linear_before_reset, LSTM's peepholes and coupled gates,
// activation lists with alphas), the reverse direction as the forward one over reversed
// sequences (with sequence lengths), bidirectional as both directions stacked, layout 1 as the
// transpose of layout 0, and the errors of bad nodes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/op_case.h"
#include "random_values.h"

namespace qs::ops {
namespace {

using ::testing::HasSubstr;

Tensor f32(Shape s, std::vector<float> v) { return Tensor::FromVector<float>(s, v); }

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

int64_t gates(const std::string& op) { return op == "RNN" ? 1 : op == "GRU" ? 3 : 4; }
size_t output_count(const std::string& op) { return op == "LSTM" ? 3 : 2; }

// Declares each input of `in` (nullptr: absent) to the case, runs it, returns its outputs.
std::vector<Tensor> run(OpCase& c, const std::vector<const Tensor*>& in) {
  for (const Tensor* t : in) {
    if (t) c.input(t->dtype(), t->shape());
    else c.absent();
  }
  return c.run_ptrs(in);
}

TEST(Rnn, HandComputedSingleSteps) {
  const Tensor x = f32({1, 1, 1}, {2.f});
  const Tensor h0 = f32({1, 1, 1}, {0.4f});
  {  // RNN: tanh(clip(1.5 * 2 + 0.1 + 0.5 * 0.4 + 0.2)) with clip 1, and Relu without it
    const Tensor w = f32({1, 1, 1}, {1.5f}), r = f32({1, 1, 1}, {0.5f}), b = f32({1, 2}, {0.1f, 0.2f});
    OpCase c("RNN", 14, 2);
    c.float_attr("clip", 1.f);
    auto out = run(c, {&x, &w, &r, &b, nullptr, &h0});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_NEAR(out[0].values<float>()[0], std::tanh(1.0), 1e-6);
    EXPECT_NEAR(out[1].values<float>()[0], std::tanh(1.0), 1e-6);
    OpCase relu("RNN", 14, 2);
    relu.strings("activations", {"LeakyRelu"}).floats("activation_alpha", {0.5f});
    const Tensor wn = f32({1, 1, 1}, {-1.5f});
    auto o2 = run(relu, {&x, &wn, &r, &b, nullptr, &h0});
    EXPECT_NEAR(o2[1].values<float>()[0], 0.5 * (-3.0 + 0.1 + 0.2 + 0.2), 1e-6);
  }
  {  // GRU (z, r, h), both placements of the reset gate
    const Tensor w = f32({1, 3, 1}, {0.3f, -0.2f, 0.7f}), r = f32({1, 3, 1}, {0.5f, 0.9f, -0.6f});
    const Tensor b = f32({1, 6}, {0.1f, 0.2f, 0.3f, -0.1f, 0.05f, 0.4f});
    const double hp = 0.4, xv = 2.0;
    const double z = sigmoid(0.3 * xv + 0.1 + 0.5 * hp - 0.1);
    const double rr = sigmoid(-0.2 * xv + 0.2 + 0.9 * hp + 0.05);
    const double before = std::tanh(0.7 * xv + 0.3 + (rr * hp) * -0.6 + 0.4);
    const double after = std::tanh(0.7 * xv + 0.3 + rr * (hp * -0.6 + 0.4));
    for (int lbr : {0, 1}) {
      OpCase c("GRU", 14, 2);
      c.int_attr("linear_before_reset", lbr);
      auto out = run(c, {&x, &w, &r, &b, nullptr, &h0});
      const double hh = lbr ? after : before;
      EXPECT_NEAR(out[1].values<float>()[0], (1 - z) * hh + z * hp, 1e-6) << "linear_before_reset " << lbr;
    }
  }
  {  // LSTM (i, o, f, c) with peepholes (i, o, f), an initial cell, and the coupled forget gate
    const Tensor w = f32({1, 4, 1}, {0.3f, -0.2f, 0.7f, 0.1f}), r = f32({1, 4, 1}, {0.5f, 0.9f, -0.6f, 0.2f});
    const Tensor b = f32({1, 8}, {0.1f, 0.2f, 0.3f, -0.1f, 0.05f, 0.4f, 0.0f, 0.25f});
    const Tensor c0 = f32({1, 1, 1}, {-0.3f}), p = f32({1, 3}, {0.2f, -0.4f, 0.6f});
    const double hp = 0.4, cp = -0.3, xv = 2.0;
    for (int coupled : {0, 1}) {
      const double i = sigmoid(0.3 * xv + 0.1 + 0.5 * hp + 0.05 + 0.2 * cp);
      const double f = coupled ? 1 - i : sigmoid(0.7 * xv + 0.3 + -0.6 * hp + 0.0 + 0.6 * cp);
      const double g = std::tanh(0.1 * xv - 0.1 + 0.2 * hp + 0.25);
      const double c = f * cp + i * g;
      const double o = sigmoid(-0.2 * xv + 0.2 + 0.9 * hp + 0.4 + -0.4 * c);
      OpCase op("LSTM", 14, 3);
      op.int_attr("input_forget", coupled);
      auto out = run(op, {&x, &w, &r, &b, nullptr, &h0, &c0, &p});
      ASSERT_EQ(out.size(), 3u);
      EXPECT_NEAR(out[1].values<float>()[0], o * std::tanh(c), 1e-6) << "input_forget " << coupled;
      EXPECT_NEAR(out[2].values<float>()[0], c, 1e-6) << "input_forget " << coupled;
    }
  }
}

struct Problem {
  int64_t seq = 5, batch = 3, input = 4, hidden = 3;
};

// One direction's weights, random.
struct Weights {
  Tensor w, r, b, h0, c0, p;
  Weights(const std::string& op, const Problem& s, int64_t dirs, uint32_t seed) {
    const int64_t g = gates(op), h = s.hidden;
    w = f32({dirs, g * h, s.input}, random_values(dirs * g * h * s.input, seed));
    r = f32({dirs, g * h, h}, random_values(dirs * g * h * h, seed + 1));
    b = f32({dirs, 2 * g * h}, random_values(dirs * 2 * g * h, seed + 2));
    h0 = f32({dirs, s.batch, h}, random_values(dirs * s.batch * h, seed + 3));
    c0 = f32({dirs, s.batch, h}, random_values(dirs * s.batch * h, seed + 4));
    p = f32({dirs, 3 * h}, random_values(dirs * 3 * h, seed + 5));
  }
};

std::vector<Tensor> run_case(const std::string& op, const std::string& direction, const Tensor& x, const Weights& w,
                             const Tensor* lens, int64_t layout = 0) {
  OpCase c(op, 14, output_count(op));
  c.str("direction", direction).int_attr("layout", layout);
  std::vector<const Tensor*> in{&x, &w.w, &w.r, &w.b, lens, &w.h0};
  if (op == "LSTM") in.insert(in.end(), {&w.c0, &w.p});
  return run(c, in);
}

// Tensor[d] of a [dirs, ...] tensor as its own [1, ...] tensor.
Tensor direction_of(const Tensor& t, int64_t d) {
  Shape s = t.shape();
  const int64_t per = t.numel() / s[0];
  s[0] = 1;
  const float* v = t.data<float>() + d * per;
  return f32(s, std::vector<float>(v, v + per));
}

TEST(Rnn, ReverseIsForwardOverTheReversedSequences) {
  const Problem s;
  const Tensor x = f32({s.seq, s.batch, s.input}, random_values(s.seq * s.batch * s.input, 7));
  const std::vector<int32_t> len_values{5, 3, 0};
  const Tensor lens = Tensor::FromVector<int32_t>({s.batch}, len_values);
  // Each sequence reversed within its length.
  Tensor xr = f32(x.shape(), std::vector<float>(x.data<float>(), x.data<float>() + x.numel()));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t t = 0; t < len_values[n]; ++t)
      for (int64_t k = 0; k < s.input; ++k)
        xr.data<float>()[(t * s.batch + n) * s.input + k] =
            x.data<float>()[((len_values[n] - 1 - t) * s.batch + n) * s.input + k];
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    SCOPED_TRACE(op);
    const Weights w(op, s, 1, 11);
    auto rev = run_case(op, "reverse", x, w, &lens);
    auto fwd = run_case(op, "forward", xr, w, &lens);
    ASSERT_EQ(rev.size(), fwd.size());
    const float* yr = rev[0].data<float>();
    const float* yf = fwd[0].data<float>();
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t t = 0; t < s.seq; ++t)
        for (int64_t j = 0; j < s.hidden; ++j) {
          const float got = yr[(t * s.batch + n) * s.hidden + j];
          if (t >= len_values[n]) {
            EXPECT_EQ(got, 0.f) << "past the length: n " << n << " t " << t;
            continue;
          }
          EXPECT_NEAR(got, yf[((len_values[n] - 1 - t) * s.batch + n) * s.hidden + j], 1e-6) << "n " << n << " t " << t;
        }
    for (size_t k = 1; k < rev.size(); ++k)
      for (int64_t i = 0; i < rev[k].numel(); ++i)
        EXPECT_NEAR(rev[k].data<float>()[i], fwd[k].data<float>()[i], 1e-6) << "state output " << k;
    // The empty sequence keeps its initial state.
    for (int64_t j = 0; j < s.hidden; ++j)
      EXPECT_EQ(rev[1].data<float>()[2 * s.hidden + j], w.h0.data<float>()[2 * s.hidden + j]);
  }
}

TEST(Rnn, BidirectionalStacksBothDirectionsAndLayoutOneIsTheTranspose) {
  const Problem s;
  const Tensor x = f32({s.seq, s.batch, s.input}, random_values(s.seq * s.batch * s.input, 8));
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    SCOPED_TRACE(op);
    const Weights both(op, s, 2, 21);
    auto bi = run_case(op, "bidirectional", x, both, nullptr);
    for (int64_t d = 0; d < 2; ++d) {
      Weights one(op, s, 1, 99);
      one.w = direction_of(both.w, d), one.r = direction_of(both.r, d), one.b = direction_of(both.b, d);
      one.h0 = direction_of(both.h0, d), one.c0 = direction_of(both.c0, d), one.p = direction_of(both.p, d);
      auto single = run_case(op, d == 0 ? "forward" : "reverse", x, one, nullptr);
      // Y [seq, 2, batch, hidden] holds this direction at index d; the states at [d].
      const int64_t bh = s.batch * s.hidden;
      for (int64_t t = 0; t < s.seq; ++t)
        for (int64_t i = 0; i < bh; ++i)
          ASSERT_NEAR(bi[0].data<float>()[(t * 2 + d) * bh + i], single[0].data<float>()[t * bh + i], 1e-6)
              << "direction " << d << " t " << t;
      for (size_t k = 1; k < bi.size(); ++k)
        for (int64_t i = 0; i < bh; ++i)
          ASSERT_NEAR(bi[k].data<float>()[d * bh + i], single[k].data<float>()[i], 1e-6) << "state " << k;
    }
    // Layout 1: X [batch, seq, input], states [batch, dirs, hidden], Y [batch, seq, dirs, hidden].
    auto transpose3 = [](const Tensor& t) {  // [a, b, c] -> [b, a, c]
      const Shape sh = t.shape();
      std::vector<float> v(static_cast<size_t>(t.numel()));
      for (int64_t i = 0; i < sh[0]; ++i)
        for (int64_t j = 0; j < sh[1]; ++j)
          for (int64_t k = 0; k < sh[2]; ++k) v[(j * sh[0] + i) * sh[2] + k] = t.data<float>()[(i * sh[1] + j) * sh[2] + k];
      return f32({sh[1], sh[0], sh[2]}, v);
    };
    Weights batch_first = both;
    batch_first.h0 = transpose3(both.h0), batch_first.c0 = transpose3(both.c0);
    auto bf = run_case(op, "bidirectional", transpose3(x), batch_first, nullptr, 1);
    ASSERT_EQ(bf[0].shape(), (Shape{s.batch, s.seq, 2, s.hidden}));
    for (int64_t t = 0; t < s.seq; ++t)
      for (int64_t d = 0; d < 2; ++d)
        for (int64_t n = 0; n < s.batch; ++n)
          for (int64_t j = 0; j < s.hidden; ++j)
            ASSERT_EQ(bf[0].data<float>()[((n * s.seq + t) * 2 + d) * s.hidden + j],
                      bi[0].data<float>()[((t * 2 + d) * s.batch + n) * s.hidden + j]);
    for (size_t k = 1; k < bf.size(); ++k) {
      const Tensor want = transpose3(bi[k]);
      for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(bf[k].data<float>()[i], want.data<float>()[i]);
    }
  }
}

TEST(Rnn, BadNodesAreErrors) {
  auto error = [](OpCase c, Shape w, Shape r) {
    c.input(DType::kFloat32, {5, 2, 4}).input(DType::kFloat32, w).input(DType::kFloat32, r);
    return c.error();
  };
  EXPECT_THAT(error(OpCase("LSTM", 14, 3), {1, 10, 4}, {1, 10, 3}),
              HasSubstr("node 'n' (LSTM): input 1 (W) has shape [1,10,4], expected [1, 4 * hidden_size, 4]"));
  EXPECT_THAT(error(OpCase("GRU", 14, 2), {1, 9, 4}, {1, 9, 4}), HasSubstr("input 2 (R) has shape [1,9,4], expected [1,9,3]"));
  EXPECT_THAT(error(std::move(OpCase("GRU", 14, 2).int_attr("hidden_size", 4)), {1, 9, 4}, {1, 9, 3}),
              HasSubstr("'hidden_size' is 4"));
  EXPECT_THAT(error(std::move(OpCase("RNN", 14, 2).str("direction", "both")), {1, 3, 4}, {1, 3, 3}),
              HasSubstr("'direction' is 'both'"));
  EXPECT_THAT(error(std::move(OpCase("RNN", 14, 2).str("direction", "bidirectional")), {1, 3, 4}, {1, 3, 3}),
              HasSubstr("input 1 (W) has shape [1,3,4], expected [2,"));
  EXPECT_THAT(error(std::move(OpCase("GRU", 14, 2).strings("activations", {"Sigmoid"})), {1, 9, 4}, {1, 9, 3}),
              HasSubstr("'activations' has 1 entries, expected 2"));
  EXPECT_THAT(error(std::move(OpCase("RNN", 14, 2).strings("activations", {"Swish"})), {1, 3, 4}, {1, 3, 3}),
              HasSubstr("activation 'Swish' is not one of"));
  EXPECT_THAT(error(std::move(OpCase("RNN", 14, 2).float_attr("clip", -1.f)), {1, 3, 4}, {1, 3, 3}),
              HasSubstr("'clip' is -1"));
  // 10^5 steps of a 4096-wide LSTM: about 10^13 products, refused rather than run for hours.
  OpCase huge("LSTM", 14, 3);
  huge.input(DType::kFloat32, {100000, 1, 1000}).input(DType::kFloat32, {1, 16384, 1000}).input(DType::kFloat32, {1, 16384, 4096});
  EXPECT_THAT(huge.error(), HasSubstr("the reference kernel stops at 1e11"));
}

}  // namespace
}  // namespace qs::ops
