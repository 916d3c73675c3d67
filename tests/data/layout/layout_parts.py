"""What the layout test models' generators (gen_layout.py, gen_layout1d.py) share: a graph under
construction, its seeded random weights, and the nodes they build it from."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Parts:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []

    def const(self, name, a):
        self.inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32), name))
        return name

    def conv(self, name, x, cin, cout, k, rank, stride=1, group=1, pad=None):
        """A Conv of `rank` spatial dims, k wide in each, He-scaled weights and a bias."""
        pad = k // 2 if pad is None else pad
        w = self.rng.normal(0, np.sqrt(2.0 / (cin // group * k**rank)), (cout, cin // group) + (k,) * rank)
        b = self.rng.normal(0, 0.1, cout)
        self.nodes.append(helper.make_node("Conv", [x, self.const(name + ".W", w), self.const(name + ".B", b)], [name],
                                           name=name, kernel_shape=[k] * rank, pads=[pad] * (2 * rank),
                                           strides=[stride] * rank, group=group))
        return name

    def bn(self, name, x, c):
        r = self.rng
        ins = [x, self.const(name + ".scale", r.uniform(0.5, 1.5, c)), self.const(name + ".bias", r.normal(0, 0.1, c)),
               self.const(name + ".mean", r.normal(0, 0.1, c)), self.const(name + ".var", r.uniform(0.5, 1.5, c))]
        self.nodes.append(helper.make_node("BatchNormalization", ins, [name], name=name, epsilon=1e-5))
        return name

    def op(self, kind, name, ins, **attrs):
        self.nodes.append(helper.make_node(kind, ins, [name], name=name, **attrs))
        return name

    def save(self, name, x_shape, outputs, producer, x_std=1.0):
        """Checks and writes NAME.onnx (opset 13, input x) and NAME.input.npy (x after the weights)
        into argv[1] or this folder. outputs: (name, shape) pairs."""
        graph = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                                  [helper.make_tensor_value_info(o, TensorProto.FLOAT, s) for o, s in outputs],
                                  self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name=producer)
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
        onnx.save(model, os.path.join(out, name + ".onnx"))
        np.save(os.path.join(out, name + ".input.npy"), self.rng.normal(0, x_std, x_shape).astype(np.float32))
