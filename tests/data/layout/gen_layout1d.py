#!/usr/bin/python3
"""Generates layout_1d.onnx, the 1-D (audio-shaped) model behind qscope's channels-last layout tests.

Run with Debian's python3 (python3-onnx, python3-numpy): `/usr/bin/python3 gen_layout1d.py [outdir]`.

Random weights, input x [2, 1, 400] (two clips of 400 samples); the layout pass's cases
(src/passes/layout.h) on [N, C, W] activations:
  A = relu(bn(conv_a(x)))            first layer: one channel, a filter of 40 at stride 4
  P = maxpool3/2(A)                  channels-last 1-D pooling (pads)
  B = relu(conv_b(P) + P)            residual that is channels-last
  Q = averagepool3/1(B)              channels-last average pooling (pads, count_include_pad=1)
  C = clip(conv_c(Q), 0, 6)          depthwise conv, filter 5; C is also a graph output
  S = sigmoid(C)                     element-wise op on a channels-last value
  M = S * k[1, 16, 1]                broadcast multiply: stays plain
  D = leakyrelu(conv_d(M))           stride 2, reads plain, writes channels-last
  E = relu(conv_e(D))                pointwise; read only by conv_f (INT8: handed on as int8)
  F = conv_f(E) + D                  residual add of two channels-last values
  G = globalmaxpool(F)               channels-last global pool, plain [N, C, 1] output
  out = softmax(gemm(flatten(G)))
Outputs: out and C.
"""
from layout_parts import Parts

g = Parts(11)
const, bn, op = g.const, g.bn, g.op


def conv(name, x, cin, cout, k, stride=1, group=1, pad=None):
    return g.conv(name, x, cin, cout, k, 1, stride=stride, group=group, pad=pad)


A = op("Relu", "A", [bn("bn_a", conv("conv_a", "x", 1, 16, 40, stride=4, pad=18), 16)])
P = op("MaxPool", "P", [A], kernel_shape=[3], strides=[2], pads=[1, 1])
B = op("Relu", "B", [op("Add", "add_b", [conv("conv_b", P, 16, 16, 3), P])])
Q = op("AveragePool", "Q", [B], kernel_shape=[3], strides=[1], pads=[1, 1], count_include_pad=1)
C = op("Clip", "C", [conv("conv_c", Q, 16, 16, 5, group=16), const("clip.min", 0.0), const("clip.max", 6.0)])
S = op("Sigmoid", "S", [C])
M = op("Mul", "M", [S, const("k", g.rng.uniform(0.5, 2.0, (1, 16, 1)))])
D = op("LeakyRelu", "D", [conv("conv_d", M, 16, 24, 3, stride=2)], alpha=0.1)
E = op("Relu", "E", [conv("conv_e", D, 24, 24, 1)])
F = op("Add", "F", [conv("conv_f", E, 24, 24, 3), D])
G = op("GlobalMaxPool", "G", [F])
flat = op("Flatten", "flat", [G])
logits = op("Gemm", "fc", [flat, const("fc.W", g.rng.normal(0, 0.5, (5, 24))), const("fc.B", g.rng.normal(0, 0.1, 5))],
            transB=1)
op("Softmax", "out", [logits], axis=1)
g.save("layout_1d", [2, 1, 400], [("out", [2, 5]), ("C", [2, 16, 50])], "gen_layout1d.py")
