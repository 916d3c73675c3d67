// Op families, one file each (ops/<family>.cc); registry.cc concatenates them.
#pragma once
#include <span>

#include "ops/op.h"

namespace qs::ops {

std::span<const OpSchema> elementwise_ops();    // Add Sub Mul Div Pow Max Min Sqrt Exp Log Erf Abs Neg ...; Cast, Identity
std::span<const OpSchema> activation_ops();     // Relu LeakyRelu PRelu Clip Sigmoid HardSigmoid HardSwish Tanh ...
std::span<const OpSchema> conv_ops();           // Conv ConvTranspose
std::span<const OpSchema> gemm_ops();           // Gemm MatMul Einsum
std::span<const OpSchema> pool_ops();           // MaxPool AveragePool GlobalAveragePool GlobalMaxPool
std::span<const OpSchema> normalization_ops();  // BatchNormalization InstanceNormalization LayerNormalization LRN MeanVarianceNormalization Softmax ...
std::span<const OpSchema> reduce_ops();         // ReduceMean ReduceMax ReduceSum ReduceMin ...
std::span<const OpSchema> shape_ops();          // Reshape Flatten Transpose Squeeze Unsqueeze Shape Constant ConstantOfShape DepthToSpace SpaceToDepth ...
std::span<const OpSchema> data_ops();           // Concat Split Slice Gather Pad Resize Upsample ...
std::span<const OpSchema> rnn_ops();            // RNN GRU LSTM
std::span<const OpSchema> signal_ops();         // DFT STFT HannWindow HammingWindow BlackmanWindow MelWeightMatrix
std::span<const OpSchema> quantize_ops();       // QuantizeLinear DequantizeLinear

// qscope's element-wise chain (ops/eltwise_chain.cc), listed with the fused blocks in fused.cc.
Expected<std::unique_ptr<Kernel>> prepare_eltwise_chain(PrepareContext& ctx);

}  // namespace qs::ops
