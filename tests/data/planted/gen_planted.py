#!/usr/bin/python3
"""Generates small CNNs with a planted INT8 fault, for qscope's tests.

Run with Debian's python3 (python3-onnx, python3-numpy): `/usr/bin/python3 gen_planted.py [outdir]`.

Every model is a random-weight CNN on a [1,3,16,16] input: conv1 -> relu1 -> conv2 -> relu2 -> conv3
-> [add(conv3, relu2): residual variant] -> relu3 -> [concat(relu3, relu2): concat variant] -> GlobalAveragePool
-> Flatten -> fc (Gemm) -> out. A fault is planted in one
tensor T by scaling one output channel of T's producer by K (weights and bias) and dividing the matching input
channel of every reader's weights by K: FP32 output is unchanged (ReLU commutes with a positive scale), but T's
per-tensor INT8 range grows K-fold and every other channel of T loses its resolution. The reader of T is the layer
that reads T in INT8 and must be the one found (INT8.md item 5).

Writes <name>.onnx and <name>.json (the planted tensors, their first INT8 readers and the layers on the planted
channels' path), and the clean models (no fault) of each topology.
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


def build(name, plants=(), residual=False, concat=False, seed=0):
    """plants: the producer convs ('conv1', 'conv2', 'conv3') whose output channel 0 is scaled by K."""
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
    for plant in plants:
        # The producer's channel 0 grows K-fold; ReLU keeps the factor; every reader undoes it.
        ws[plant][0] *= K
        bs[plant][0] *= K
        if plant == "conv1":
            ws["conv2"][:, 0] /= K
        elif plant == "conv2":
            ws["conv3"][:, 0] /= K
            if residual:
                # relu2's output also enters the residual add: conv3's channel 0 grows with it, so
                # the sum (and relu3, the pool) carry the factor up to the classifier.
                ws["conv3"][0] *= K
                bs["conv3"][0] *= K
                fc_w[:, 0] /= K
            if concat:
                fc_w[:, c] /= K  # relu2's channel 0 is channel c of the concat
        elif plant == "conv3":
            assert not residual, "conv3's output meets the residual unscaled"
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


# name: (plants, residual, concat, [(planted tensor, its first INT8 reader)], layers on the planted
# channels' path (every layer that reads a tensor carrying a planted channel; nothing else may be flagged))
CASES = {
    "planted_conv1": (("conv1",), False, False, [("relu1.out", "conv2")], ["conv2"]),
    "planted_conv2": (("conv2",), False, False, [("relu2.out", "conv3")], ["conv3"]),
    "planted_conv3": (("conv3",), False, False, [("relu3.out", "gap")], ["gap", "flatten", "fc"]),
    "planted_res_conv1": (("conv1",), True, False, [("relu1.out", "conv2")], ["conv2"]),
    "planted_res_conv2": (("conv2",), True, False, [("relu2.out", "conv3")],
                          ["conv3", "add", "relu3", "gap", "flatten", "fc"]),
    "planted_cat_conv2": (("conv2",), False, True, [("relu2.out", "conv3")], ["conv3", "cat", "gap", "flatten", "fc"]),
    "planted_cat_conv3": (("conv3",), False, True, [("relu3.out", "cat")], ["cat", "gap", "flatten", "fc"]),
    "planted_two": (("conv1", "conv3"), False, False, [("relu1.out", "conv2"), ("relu3.out", "gap")],
                    ["conv2", "gap", "flatten", "fc"]),
}
CLEAN = {"clean": (False, False), "clean_res": (True, False), "clean_cat": (False, True)}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, (residual, concat) in CLEAN.items():
        onnx.save(build(name, (), residual, concat), os.path.join(out, name + ".onnx"))
    for name, (plants, residual, concat, planted, path) in CASES.items():
        onnx.save(build(name, plants, residual, concat), os.path.join(out, name + ".onnx"))
        clean = [k for k, v in CLEAN.items() if v == (residual, concat)][0]
        meta = {"clean": clean, "planted": [{"tensor": t, "reader": r} for t, r in planted],
                "readers": [r for _, r in planted], "path": path, "scale": K}
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
    rng = np.random.default_rng(123)
    for i in range(4):
        np.save(os.path.join(out, "input%d.npy" % i), rng.standard_normal((1, 3, 16, 16)).astype(np.float32))


if __name__ == "__main__":
    main()
