#include "kernels/reference/rnn.h"

#include <algorithm>
#include <cmath>

namespace qs::kernels::ref {

float rnn_activation(const RnnActivation& a, float x) {
  using Fn = RnnActivation::Fn;
  switch (a.fn) {
    case Fn::kRelu: return x > 0.f ? x : 0.f;
    case Fn::kTanh: return std::tanh(x);
    case Fn::kSigmoid: return 1.f / (1.f + std::exp(-x));
    case Fn::kAffine: return a.alpha * x + a.beta;
    case Fn::kLeakyRelu: return x < 0.f ? a.alpha * x : x;
    case Fn::kThresholdedRelu: return x > a.alpha ? x : 0.f;
    case Fn::kScaledTanh: return a.alpha * std::tanh(a.beta * x);
    case Fn::kHardSigmoid: return std::max(0.f, std::min(1.f, a.alpha * x + a.beta));
    case Fn::kElu: return x < 0.f ? a.alpha * (std::exp(x) - 1.f) : x;
    case Fn::kSoftsign: return x / (1.f + std::fabs(x));
    case Fn::kSoftplus: return std::log1p(std::exp(x));
  }
  return x;
}

int64_t rnn_gates(RnnKind kind) { return kind == RnnKind::kRnn ? 1 : kind == RnnKind::kGru ? 3 : 4; }
int64_t rnn_activations(RnnKind kind) { return kind == RnnKind::kRnn ? 1 : kind == RnnKind::kGru ? 2 : 3; }

namespace {

// out[j] = bias[j] + sum_k v[k] * m[j][k] for j < rows (m row-major [rows, cols]); double sums.
void mat_vec(const float* m, const float* v, const float* bias, int64_t rows, int64_t cols, float* out) {
  for (int64_t j = 0; j < rows; ++j) {
    double s = bias ? bias[j] : 0.0;
    for (int64_t k = 0; k < cols; ++k) s += static_cast<double>(m[j * cols + k]) * v[k];
    out[j] = static_cast<float>(s);
  }
}

}  // namespace

void rnn_f32(const RnnParams& p, const float* x, const float* w, const float* r, const float* b,
             const int32_t* seq_lens, const float* h0, const float* c0, const float* peep, float* y, float* y_h,
             float* y_c) {
  const int64_t H = p.hidden, G = rnn_gates(p.kind), D = p.directions, N = p.batch, T = p.seq, I = p.input;
  const int64_t A = rnn_activations(p.kind);
  // Where element (t, b) of X, (t, d, b) of Y and (d, b) of a state live in either layout.
  auto x_at = [&](int64_t t, int64_t n) { return x + (p.batch_first ? n * T + t : t * N + n) * I; };
  auto y_at = [&](int64_t t, int64_t d, int64_t n) { return y + (p.batch_first ? (n * T + t) * D + d : (t * D + d) * N + n) * H; };
  auto state_at = [&](int64_t d, int64_t n) { return (p.batch_first ? n * D + d : d * N + n) * H; };
  auto clip = [&](float v) { return p.clip > 0.f ? std::max(-p.clip, std::min(p.clip, v)) : v; };

  if (y) std::fill_n(y, T * D * N * H, 0.f);
  std::vector<float> gx(static_cast<size_t>(G * H)), gh(gx.size()), h(static_cast<size_t>(H)), c(h.size()),
      rh(h.size()), hh(h.size()), z(h.size()), rg(h.size());
  for (int64_t d = 0; d < D; ++d) {
    const bool backwards = D == 2 ? d == 1 : p.reverse;
    const float* wd = w + d * G * H * I;
    const float* rd = r + d * G * H * H;
    const float* wb = b ? b + d * 2 * G * H : nullptr;
    const float* rb = b ? wb + G * H : nullptr;
    const float* pd = peep ? peep + d * 3 * H : nullptr;
    const RnnActivation* act = p.acts.data() + d * A;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t len = seq_lens ? std::max<int64_t>(0, std::min<int64_t>(T, seq_lens[n])) : T;
      const int64_t s0 = state_at(d, n);
      for (int64_t j = 0; j < H; ++j) {
        h[j] = h0 ? h0[s0 + j] : 0.f;
        c[j] = c0 ? c0[s0 + j] : 0.f;
      }
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = backwards ? len - 1 - step : step;
        mat_vec(wd, x_at(t, n), wb, G * H, I, gx.data());
        mat_vec(rd, h.data(), rb, G * H, H, gh.data());
        switch (p.kind) {
          case RnnKind::kRnn:
            for (int64_t j = 0; j < H; ++j) h[j] = rnn_activation(act[0], clip(gx[j] + gh[j]));
            break;
          case RnnKind::kGru: {
            // z = f(.), r = f(.), then the candidate h~ with r applied before or after R's product.
            const float* rh_w = rd + 2 * H * H;  // R's rows of the candidate gate
            for (int64_t j = 0; j < H; ++j) {
              z[j] = rnn_activation(act[0], clip(gx[j] + gh[j]));
              rg[j] = rnn_activation(act[0], clip(gx[H + j] + gh[H + j]));
            }
            if (p.linear_before_reset) {
              for (int64_t j = 0; j < H; ++j) hh[j] = rnn_activation(act[1], clip(gx[2 * H + j] + rg[j] * gh[2 * H + j]));
            } else {
              for (int64_t j = 0; j < H; ++j) rh[j] = rg[j] * h[j];
              mat_vec(rh_w, rh.data(), rb ? rb + 2 * H : nullptr, H, H, hh.data());
              for (int64_t j = 0; j < H; ++j) hh[j] = rnn_activation(act[1], clip(gx[2 * H + j] + hh[j]));
            }
            for (int64_t j = 0; j < H; ++j) h[j] = (1.f - z[j]) * hh[j] + z[j] * h[j];
            break;
          }
          case RnnKind::kLstm:
            for (int64_t j = 0; j < H; ++j) {
              const float pi = pd ? pd[j] : 0.f, po = pd ? pd[H + j] : 0.f, pf = pd ? pd[2 * H + j] : 0.f;
              const float i = rnn_activation(act[0], clip(gx[j] + gh[j] + pi * c[j]));
              const float f =
                  p.input_forget ? 1.f - i : rnn_activation(act[0], clip(gx[2 * H + j] + gh[2 * H + j] + pf * c[j]));
              const float cand = rnn_activation(act[1], clip(gx[3 * H + j] + gh[3 * H + j]));
              c[j] = f * c[j] + i * cand;
              const float o = rnn_activation(act[0], clip(gx[H + j] + gh[H + j] + po * c[j]));
              h[j] = o * rnn_activation(act[2], c[j]);
            }
            break;
        }
        if (y) std::copy(h.begin(), h.end(), y_at(t, d, n));
      }
      if (y_h) std::copy(h.begin(), h.end(), y_h + s0);
      if (y_c) std::copy(c.begin(), c.end(), y_c + s0);
    }
  }
}

}  // namespace qs::kernels::ref
