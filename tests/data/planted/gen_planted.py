#!/usr/bin/python3
"""Generates small CNNs with a planted INT8 fault, for qscope's tests.

Run with Debian's python3 (python3-onnx, python3-numpy): `/usr/bin/python3 gen_planted.py [outdir]`.

Every model is a random-weight CNN on a [1,3,16,16] input: conv1 -> relu1 -> conv2 -> relu2 -> conv3 -> relu3
-> (residual and concat variants) -> GlobalAveragePool -> Flatten -> fc (Gemm) -> out. A fault is planted in one
tensor T by scaling one output channel of T's producer by K (weights and bias) and dividing the matching input
channel of every reader's weights by K: FP32 output is unchanged (ReLU commutes with a positive scale), but T's
per-tensor INT8 range grows K-fold and every other channel of T loses its resolution. The reader of T is the layer
that reads T in INT8 and must be the one found (INT8.md item 5).

Writes <name>.onnx and <name>.json (the planted tensor and its reader), and clean.onnx (no fault).
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

K = 1000.0


def conv(name, x, w, b, nodes, inits, pads=1):
    inits += [numpy_helper.from_array(w, name + ".W"), numpy_helper.from_array(b, name + ".B")]
    nodes.append(helper.make_node("Conv", [x, name + ".W", name + ".B"], [name + ".out"], name=name,
                                  kernel_shape=list(w.shape[2:]), pads=[pads] * 4))
    return name + ".out"


def relu(name, x, nodes):
    nodes.append(helper.make_node("Relu", [x], [name + ".out"], name=name))
    return name + ".out"


def build(name, plant=None, residual=False, concat=False, seed=0):
    """plant: None or the producer conv whose output channel 0 is scaled by K ('conv1', 'conv2', 'conv3')."""
    rng = np.random.default_rng(seed)
    c = 8
    ws = {
        "conv1": (rng.standard_normal((c, 3, 3, 3)) * np.sqrt(2 / 27)).astype(np.float32),
        "conv2": (rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32),
        "conv3": (rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32),
    }
    bs = {k: (rng.standard_normal(c) * 0.1).astype(np.float32) for k in ws}
    fc_in = 2 * c if concat else c
    fc_w = (rng.standard_normal((10, fc_in)) * np.sqrt(1 / fc_in)).astype(np.float32)
    fc_b = (rng.standard_normal(10) * 0.1).astype(np.float32)
    if plant:
        ws[plant][0] *= K
        bs[plant][0] *= K
        # Readers of the planted channel compensate (through the ReLU that follows the producer).
        nxt = {"conv1": ["conv2"], "conv2": ["conv3"], "conv3": []}[plant]
        if residual and plant == "conv1":
            nxt = ["conv2"]  # relu1's output also feeds the residual add: see below
        for r in nxt:
            ws[r][:, 0] /= K
        if plant == "conv3":
            fc_w[:, 0] /= K

    nodes, inits = [], []
    x = conv("conv1", "data", ws["conv1"], bs["conv1"], nodes, inits)
    x1 = relu("relu1", x, nodes)
    x = conv("conv2", x1, ws["conv2"], bs["conv2"], nodes, inits)
    x2 = relu("relu2", x, nodes)
    x = conv("conv3", x2, ws["conv3"], bs["conv3"], nodes, inits)
    if residual:
        nodes.append(helper.make_node("Add", [x, x2], ["add.out"], name="add"))
        x = "add.out"
    x3 = relu("relu3", x, nodes)
    if concat:
        nodes.append(helper.make_node("Concat", [x3, x2], ["cat.out"], name="cat", axis=1))
        x3 = "cat.out"
    nodes.append(helper.make_node("GlobalAveragePool", [x3], ["gap.out"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap.out"], ["flat.out"], name="flatten", axis=1))
    inits += [numpy_helper.from_array(fc_w, "fc.W"), numpy_helper.from_array(fc_b, "fc.B")]
    nodes.append(helper.make_node("Gemm", ["flat.out", "fc.W", "fc.B"], ["out"], name="fc", transB=1))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="qscope gen_planted.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    cases = {
        # name: (plant, residual, concat, planted tensor, reader)
        "planted_conv1": ("conv1", False, False, "relu1.out", "conv2"),
        "planted_conv2": ("conv2", False, False, "relu2.out", "conv3"),
    }
    onnx.save(build("clean"), os.path.join(out, "clean.onnx"))
    for name, (plant, residual, concat, tensor, reader) in cases.items():
        onnx.save(build(name, plant, residual, concat), os.path.join(out, name + ".onnx"))
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"planted_tensor": tensor, "reader": reader, "scale": K}, f, indent=2)
            f.write("\n")
    rng = np.random.default_rng(123)
    for i in range(4):
        np.save(os.path.join(out, "input%d.npy" % i), rng.standard_normal((1, 3, 16, 16)).astype(np.float32))


if __name__ == "__main__":
    main()
