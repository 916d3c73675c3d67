#!/usr/bin/python3
"""Generates layout_mix.onnx, the model behind qscope's channels-last layout tests.

Run with Debian's python3 (python3-onnx, python3-numpy): `/usr/bin/python3 gen_layout.py [outdir]`.

Random weights, input x [2, 3, 20, 20]; one of each case the layout pass (src/passes/layout.h) decides:
  A = relu(bn(conv_a(x)))            conv reading a graph input
  P = maxpool3x3/2(A)                channels-last pooling
  B = relu(bn(conv_b(P)) + P)        residual that is channels-last
  Q = averagepool3x3/1(B)            channels-last average pooling (pads, count_include_pad=0)
  C = clip(conv_c(Q), 0, 6)          depthwise conv; C is also a graph output
  S = sigmoid(C)                     element-wise op on a channels-last value
  M = S * k[1, 16, 1, 1]             broadcast multiply: stays plain
  E = conv_e(M) + M                  residual that is plain: the conv writes plain
  D = leakyrelu(conv_d(E))           stride 2, reads plain, writes channels-last
  F = conv_f(D) + D                  residual add of two channels-last values
  G = globalaveragepool(F)           channels-last global pool, plain [N, C, 1, 1] output
  out = softmax(gemm(flatten(G)))
Outputs: out and C.
"""
from layout_parts import Parts

g = Parts(7)
const, bn, op = g.const, g.bn, g.op


def conv(name, x, cin, cout, k, stride=1, group=1):
    return g.conv(name, x, cin, cout, k, 2, stride=stride, group=group)


A = op("Relu", "A", [bn("bn_a", conv("conv_a", "x", 3, 16, 3), 16)])
P = op("MaxPool", "P", [A], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
B = op("Relu", "B", [op("Add", "add_b", [bn("bn_b", conv("conv_b", P, 16, 16, 1), 16), P])])
Q = op("AveragePool", "Q", [B], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=0)
C = op("Clip", "C", [conv("conv_c", Q, 16, 16, 3, group=16), const("clip.min", 0.0), const("clip.max", 6.0)])
S = op("Sigmoid", "S", [C])
M = op("Mul", "M", [S, const("k", g.rng.uniform(0.5, 2.0, (1, 16, 1, 1)))])
E = op("Add", "E", [conv("conv_e", M, 16, 16, 3), M])
D = op("LeakyRelu", "D", [conv("conv_d", E, 16, 24, 3, stride=2)], alpha=0.1)
F = op("Add", "F", [conv("conv_f", D, 24, 24, 3), D])
G = op("GlobalAveragePool", "G", [F])
flat = op("Flatten", "flat", [G])
logits = op("Gemm", "fc", [flat, const("fc.W", g.rng.normal(0, 0.5, (5, 24))), const("fc.B", g.rng.normal(0, 0.1, 5))],
            transB=1)
op("Softmax", "out", [logits], axis=1)
g.save("layout_mix", [2, 3, 20, 20], [("out", [2, 5]), ("C", [2, 16, 10, 10])], "gen_layout.py")
