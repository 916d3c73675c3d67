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
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)
nodes, inits = [], []


def const(name, a):
    inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32), name))
    return name


def conv(name, x, cin, cout, k, stride=1, group=1, pad=None):
    pad = k // 2 if pad is None else pad
    w = rng.normal(0, np.sqrt(2.0 / (cin // group * k)), (cout, cin // group, k))
    b = rng.normal(0, 0.1, cout)
    nodes.append(helper.make_node("Conv", [x, const(name + ".W", w), const(name + ".B", b)], [name], name=name,
                                  kernel_shape=[k], pads=[pad, pad], strides=[stride], group=group))
    return name


def bn(name, x, c):
    ins = [x, const(name + ".scale", rng.uniform(0.5, 1.5, c)), const(name + ".bias", rng.normal(0, 0.1, c)),
           const(name + ".mean", rng.normal(0, 0.1, c)), const(name + ".var", rng.uniform(0.5, 1.5, c))]
    nodes.append(helper.make_node("BatchNormalization", ins, [name], name=name, epsilon=1e-5))
    return name


def op(kind, name, ins, **attrs):
    nodes.append(helper.make_node(kind, ins, [name], name=name, **attrs))
    return name


A = op("Relu", "A", [bn("bn_a", conv("conv_a", "x", 1, 16, 40, stride=4, pad=18), 16)])
P = op("MaxPool", "P", [A], kernel_shape=[3], strides=[2], pads=[1, 1])
B = op("Relu", "B", [op("Add", "add_b", [conv("conv_b", P, 16, 16, 3), P])])
Q = op("AveragePool", "Q", [B], kernel_shape=[3], strides=[1], pads=[1, 1], count_include_pad=1)
C = op("Clip", "C", [conv("conv_c", Q, 16, 16, 5, group=16), const("clip.min", 0.0), const("clip.max", 6.0)])
S = op("Sigmoid", "S", [C])
M = op("Mul", "M", [S, const("k", rng.uniform(0.5, 2.0, (1, 16, 1)))])
D = op("LeakyRelu", "D", [conv("conv_d", M, 16, 24, 3, stride=2)], alpha=0.1)
E = op("Relu", "E", [conv("conv_e", D, 24, 24, 1)])
F = op("Add", "F", [conv("conv_f", E, 24, 24, 3), D])
G = op("GlobalMaxPool", "G", [F])
flat = op("Flatten", "flat", [G])
logits = op("Gemm", "fc", [flat, const("fc.W", rng.normal(0, 0.5, (5, 24))), const("fc.B", rng.normal(0, 0.1, 5))],
            transB=1)
op("Softmax", "out", [logits], axis=1)

graph = helper.make_graph(nodes, "layout_1d", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 1, 400])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 5]),
                           helper.make_tensor_value_info("C", TensorProto.FLOAT, [2, 16, 50])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_layout1d.py")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
onnx.save(model, os.path.join(out, "layout_1d.onnx"))
np.save(os.path.join(out, "layout_1d.input.npy"), rng.normal(0, 1, (2, 1, 400)).astype(np.float32))
