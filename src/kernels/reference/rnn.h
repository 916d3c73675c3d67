// Reference recurrent kernels on float32: ONNX's RNN, GRU and LSTM, every direction, layout,
// activation, clip, sequence length and optional input. Plain loops, the oracle.
#pragma once
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

enum class RnnKind { kRnn, kGru, kLstm };

// An activation of the recurrent ops' list (ONNX: "activations", with activation_alpha/_beta).
struct RnnActivation {
  enum class Fn { kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu,
                  kSoftsign, kSoftplus };
  Fn fn = Fn::kTanh;
  float alpha = 0.f, beta = 0.f;
};
float rnn_activation(const RnnActivation& a, float x);

// Gates per kind: RNN 1, GRU 3 (z, r, h), LSTM 4 (i, o, f, c), in ONNX's order within W, R, B.
int64_t rnn_gates(RnnKind kind);
// Activations per direction: RNN 1 (f), GRU 2 (f, g), LSTM 3 (f, g, h).
int64_t rnn_activations(RnnKind kind);

struct RnnParams {
  RnnKind kind = RnnKind::kRnn;
  int64_t seq = 1, batch = 1, input = 1, hidden = 1;
  int64_t directions = 1;     // 2: forward then reverse
  bool reverse = false;       // the one direction runs backwards (direction = "reverse")
  bool batch_first = false;   // layout 1: X [batch, seq, input], Y [batch, seq, dir, hidden], states [batch, dir, hidden]
  float clip = 0.f;           // > 0: pre-activations clipped to [-clip, clip]
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;         // LSTM: f = 1 - i
  std::vector<RnnActivation> acts;   // rnn_activations(kind) per direction
};

// x: [seq, batch, input] (layout 0); w: [dir, gates * hidden, input]; r: [dir, gates * hidden, hidden];
// b: [dir, 2 * gates * hidden] (W's biases, then R's) or null; seq_lens: [batch] or null (each
// clamped to [0, seq]); h0, c0: initial states or null (zeros); p: LSTM peepholes [dir, 3 * hidden]
// (i, o, f) or null. Outputs may be null: y [seq, dir, batch, hidden] (zero past a sequence's
// length), y_h and y_c the last states [dir, batch, hidden].
void rnn_f32(const RnnParams& p, const float* x, const float* w, const float* r, const float* b,
             const int32_t* seq_lens, const float* h0, const float* c0, const float* peep, float* y, float* y_h,
             float* y_c);

}  // namespace qs::kernels::ref
