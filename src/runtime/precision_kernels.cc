#include "runtime/precision_kernels.h"

#include <string>

#include "core/half.h"
#include "kernels/fast/quantize_fast.h"
#include "kernels/reference/int8.h"

namespace qs::runtime {

namespace {

class FakeQuantKernel final : public ops::Kernel {
 public:
  FakeQuantKernel(std::unique_ptr<ops::Kernel> inner, std::vector<float> scales, bool max_of_input)
      : inner_(std::move(inner)), scales_(std::move(scales)), max_of_input_(max_of_input),
        impl_("qdq+" + std::string(inner_->impl())) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out) override {
    if (max_of_input_ && in.size() == 1 && in[0] && in[0]->known_finite() && !scales_.empty() && scales_[0] > 0.f &&
        in[0]->dtype() == DType::kFloat32 && !out.empty() && out[0] && out[0]->dtype() == DType::kFloat32) {
      inner_->run(in, out);
      // Quantize-dequantize in place: same index in and out.
      kernels::fast::fake_quantize_f32(out[0]->data<float>(), out[0]->data<float>(), out[0]->numel(), scales_[0]);
      out[0]->set_known_finite(true);
      return;
    }
    std::vector<Tensor> quantized(in.size());
    std::vector<const Tensor*> ptrs(in.begin(), in.end());
    for (size_t i = 0; i < in.size() && i < scales_.size(); ++i) {
      if (!in[i] || !(scales_[i] > 0.f) || in[i]->dtype() != DType::kFloat32) continue;
      // The fast quantizer gives the reference's bits (kernels/fast/quantize_fast.h).
      quantized[i] = Tensor::Uninitialized(DType::kFloat32, in[i]->shape());
      kernels::fast::fake_quantize_f32(in[i]->data<float>(), quantized[i].data<float>(), in[i]->numel(), scales_[i]);
      ptrs[i] = &quantized[i];
    }
    inner_->run(ptrs, out);
  }
  std::string_view impl() const override { return impl_; }
  bool writes_all_outputs() const override { return inner_->writes_all_outputs(); }
  bool makes_outputs() const override { return inner_->makes_outputs(); }

 private:
  std::unique_ptr<ops::Kernel> inner_;
  std::vector<float> scales_;
  bool max_of_input_;
  std::string impl_;
};

void round_to_half(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = qs::round_to_half(x[i]);
}

class Fp16Kernel final : public ops::Kernel {
 public:
  Fp16Kernel(std::unique_ptr<ops::Kernel> inner, std::vector<Tensor> rounded_constants)
      : inner_(std::move(inner)), rounded_constants_(std::move(rounded_constants)),
        impl_("fp16+" + std::string(inner_->impl())) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out) override {
    std::vector<Tensor> rounded(in.size());
    std::vector<const Tensor*> ptrs(in.begin(), in.end());
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i] || in[i]->dtype() != DType::kFloat32) continue;
      if (i < rounded_constants_.size() && rounded_constants_[i].defined()) {
        ptrs[i] = &rounded_constants_[i];
        continue;
      }
      rounded[i] = Tensor(DType::kFloat32, in[i]->shape());
      round_to_half(in[i]->data<float>(), rounded[i].data<float>(), in[i]->numel());
      ptrs[i] = &rounded[i];
    }
    inner_->run(ptrs, out);
    for (Tensor* o : out) {
      if (!o || o->dtype() != DType::kFloat32) continue;
      round_to_half(o->data<float>(), o->data<float>(), o->numel());
      o->set_known_finite(false);  // a finite float may round to an infinite half
    }
  }
  std::string_view impl() const override { return impl_; }
  bool writes_all_outputs() const override { return inner_->writes_all_outputs(); }
  bool makes_outputs() const override { return inner_->makes_outputs(); }

 private:
  std::unique_ptr<ops::Kernel> inner_;
  std::vector<Tensor> rounded_constants_;
  std::string impl_;
};

}  // namespace

std::unique_ptr<ops::Kernel> make_fake_quant_kernel(std::unique_ptr<ops::Kernel> inner, std::vector<float> scales,
                                                    bool max_of_input) {
  return std::make_unique<FakeQuantKernel>(std::move(inner), std::move(scales), max_of_input);
}

std::vector<Tensor> round_constants_to_half(const std::vector<ops::TensorInfo>& inputs) {
  std::vector<Tensor> rounded(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor* c = inputs[i].value;
    if (!c || c->dtype() != DType::kFloat32) continue;
    rounded[i] = Tensor(DType::kFloat32, c->shape());
    round_to_half(c->data<float>(), rounded[i].data<float>(), c->numel());
  }
  return rounded;
}

std::unique_ptr<ops::Kernel> make_fp16_kernel(std::unique_ptr<ops::Kernel> inner, std::vector<Tensor> rounded_constants) {
  return std::make_unique<Fp16Kernel>(std::move(inner), std::move(rounded_constants));
}

}  // namespace qs::runtime
