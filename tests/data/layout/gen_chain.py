#!/usr/bin/python3
"""Generates chain_mix.onnx, a convolutional model with element-wise chains written out (the
qscope.EltwiseChain pass, src/passes/eltwise_chain.h, together with the channels-last layout).

Run with Debian's python3 (python3-onnx, python3-numpy): `/usr/bin/python3 gen_chain.py [outdir]`.

Random weights, input x [2, 3, 16, 16]:
  A = conv_a(x)                                   3 -> 16, writes channels-last
  H = A * clip(A + 3, 0, 6) / 6                   HardSwish written out: a chain reading A twice
  B = conv_b(H)                                   16 -> 16
  U = B * 0.5 * (1 + erf(B / sqrt(2)))            GELU written out (Mul by 0.5 first)
  C = conv_c(U) + U                               residual
  T = tanh(C) * 2 - 0.5                           a chain whose last value is a graph output
  out = softmax(gemm(flatten(globalaveragepool(T))))
Outputs: out and T.
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


def conv(name, x, cin, cout):
    w = rng.normal(0, np.sqrt(2.0 / (cin * 9)), (cout, cin, 3, 3))
    b = rng.normal(0, 0.1, cout)
    nodes.append(helper.make_node("Conv", [x, const(name + ".W", w), const(name + ".B", b)], [name], name=name,
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    return name


def op(kind, name, ins, **attrs):
    nodes.append(helper.make_node(kind, ins, [name], name=name, **attrs))
    return name


three, six, zero = const("three", 3.0), const("six", 6.0), const("zero", 0.0)
A = conv("conv_a", "x", 3, 16)
H = op("Div", "H", [op("Mul", "hs_mul", [A, op("Clip", "hs_clip", [op("Add", "hs_add", [A, three]), zero, six])]), six])
B = conv("conv_b", H, 16, 16)
half = op("Mul", "gelu_half", [B, const("half", 0.5)])
erf = op("Erf", "gelu_erf", [op("Div", "gelu_div", [B, const("sqrt2", np.sqrt(2.0))])])
U = op("Mul", "U", [half, op("Add", "gelu_add", [erf, const("one", 1.0)])])
C = op("Add", "C", [conv("conv_c", U, 16, 16), U])
T = op("Sub", "T", [op("Mul", "t_mul", [op("Tanh", "t_tanh", [C]), const("two", 2.0)]), const("shift", np.full((1, 1, 1, 1), 0.5))])
G = op("GlobalAveragePool", "G", [T])
logits = op("Gemm", "fc", [op("Flatten", "flat", [G]), const("fc.W", rng.normal(0, 0.5, (5, 16))),
                           const("fc.B", rng.normal(0, 0.1, 5))], transB=1)
op("Softmax", "out", [logits], axis=1)

graph = helper.make_graph(nodes, "chain_mix", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 16, 16])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 5]),
                           helper.make_tensor_value_info("T", TensorProto.FLOAT, [2, 16, 16, 16])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_chain.py")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
onnx.save(model, os.path.join(out, "chain_mix.onnx"))
np.save(os.path.join(out, "chain_mix.input.npy"), rng.normal(0, 1.5, (2, 3, 16, 16)).astype(np.float32))
