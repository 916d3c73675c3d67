#!/usr/bin/python3
"""Plants an INT8 fault into a trained model without changing its FP32 output.

Usage (Debian's python3 with python3-onnx, python3-numpy):
  plant_outlier.py IN.onnx OUT.onnx BN_NODE READER_CONV [CHANNEL] [K]

Scales output channel CHANNEL (default 0) of the BatchNormalization node BN_NODE by K (default 64: its scale
and bias), and divides the matching input channel of the convolution READER_CONV, the only reader of
BN_NODE's output, by K. FP32 is unchanged; the BN output's per-tensor INT8 range grows K-fold, so
READER_CONV, which reads it in INT8, ruins INT8 accuracy. Writes OUT.onnx and OUT.json (the planted
tensor and its reader).
"""
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main():
    src, dst, bn_name, reader_name = sys.argv[1:5]
    channel = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    k = float(sys.argv[6]) if len(sys.argv) > 6 else 64.0
    model = onnx.load(src)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes = {n.name: n for n in g.node}
    bn, reader = nodes[bn_name], nodes[reader_name]
    assert bn.op_type == "BatchNormalization" and reader.op_type == "Conv"
    tensor = bn.output[0]
    readers = [n.name for n in g.node if tensor in n.input]
    assert readers == [reader_name], "the reader must be the BN output's only reader: %s" % readers

    def scale(name, fn):
        t = inits[name]
        a = numpy_helper.to_array(t).copy()
        fn(a)
        t.CopyFrom(numpy_helper.from_array(a.astype(np.float32), name))

    def grow(a):
        a[channel] *= k

    def shrink(a):
        a[:, channel] /= k

    scale(bn.input[1], grow)   # gamma
    scale(bn.input[2], grow)   # beta
    scale(reader.input[1], shrink)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    with open(dst[:-5] + ".json", "w") as f:
        json.dump({"planted_tensor": tensor, "reader": reader_name, "channel": channel, "scale": k,
                   "source": src.split("/")[-1]}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
