#!/usr/bin/python3
"""Writes the FP32 benchmark models (random weights, fixed seed) and a fixed input for each.

    /usr/bin/python3 bench/gen_models.py [OUT_DIR]     (default: bench/models next to this script)

Files written:
  resnet50.onnx          ResNet-50 v1 topology (stride in the first 1x1 conv of a block, as in the
                         original paper), BatchNormalization not folded, opset 13
  mobilenetv2.onnx       MobileNetV2 width 1.0, ReLU6 as Clip, BatchNormalization not folded, opset 13
  resnet110_cifar.onnx   ResNet-110 for 32x32 images (CIFAR), BatchNormalization not folded, opset 13
  vit_tiny.onnx          a ViT-style encoder for 32x32 images (opset 17; vit_tiny below)
  m5_audio.onnx          an M5-style network for one second of 16 kHz audio: 1-D convolutions (the
                         first with a filter of 80 samples at stride 4), BatchNormalization, Relu,
                         MaxPool, global average pool, 35 classes (opset 13)
  quartznet_audio.onnx   a QuartzNet-style acoustic model: 1-D depthwise filters of 33 to 87 frames
                         and pointwise convolutions over 64 mel features, residual blocks, per-frame
                         LogSoftmax over 29 characters (opset 13)
  <model>.input.npy      a fixed input, float32 [8,3,224,224] ([8,3,32,32] for resnet110_cifar and
                         vit_tiny, [8,1,16000] for m5_audio, [8,64,200] for quartznet_audio;
                         benchmarks take the first B items)

The ImageNet models take "data" float32 [N,3,224,224] (N symbolic) and give "prob" float32
[N,1000] (Softmax); resnet110_cifar takes [N,3,32,32] and gives [N,10]. Weights are He-scaled so that activations stay finite; the classifier is scaled so
that the softmax is neither uniform nor one-hot, which makes the output comparison meaningful.
Deterministic: same bytes on every run (numpy's PCG64 with fixed seeds).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
INPUT_BATCH = 8


class Builder:
    def __init__(self, seed):
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.nodes = []
        self.inits = []
        self.counter = {}

    def name(self, prefix):
        n = self.counter.get(prefix, 0)
        self.counter[prefix] = n + 1
        return f"{prefix}{n}"

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def conv(self, x, cin, cout, k, stride=1, group=1, gain=2.0):
        n = self.name("conv")
        fan_in = (cin // group) * k * k
        w = self.rng.standard_normal((cout, cin // group, k, k)).astype(np.float32) * np.float32(np.sqrt(gain / fan_in))
        self.init(n + ".weight", w)
        pad = k // 2
        self.nodes.append(helper.make_node(
            "Conv", [x, n + ".weight"], [n + ".out"], name=n, kernel_shape=[k, k], strides=[stride, stride],
            pads=[pad, pad, pad, pad], dilations=[1, 1], group=group))
        return n + ".out"

    def bn(self, x, c, gamma_range=(0.5, 1.5)):
        n = self.name("bn")
        r = self.rng
        self.init(n + ".scale", r.uniform(*gamma_range, c).astype(np.float32))
        self.init(n + ".bias", (r.standard_normal(c) * 0.1).astype(np.float32))
        self.init(n + ".mean", (r.standard_normal(c) * 0.1).astype(np.float32))
        self.init(n + ".var", r.uniform(0.5, 1.5, c).astype(np.float32))
        self.nodes.append(helper.make_node(
            "BatchNormalization", [x, n + ".scale", n + ".bias", n + ".mean", n + ".var"], [n + ".out"], name=n,
            epsilon=1e-5, momentum=0.9))
        return n + ".out"

    def relu(self, x):
        n = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [n + ".out"], name=n))
        return n + ".out"

    def relu6(self, x):
        n = self.name("clip")
        if "clip.min" not in [i.name for i in self.inits]:
            self.init("clip.min", np.array(0.0, dtype=np.float32))
            self.init("clip.max", np.array(6.0, dtype=np.float32))
        self.nodes.append(helper.make_node("Clip", [x, "clip.min", "clip.max"], [n + ".out"], name=n))
        return n + ".out"

    def add(self, a, b):
        n = self.name("add")
        self.nodes.append(helper.make_node("Add", [a, b], [n + ".out"], name=n))
        return n + ".out"

    def head(self, x, c, classes, logit_std):
        """GlobalAveragePool, Flatten, Gemm (transB=1), Softmax -> 'prob'."""
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap.out"], name="gap"))
        self.nodes.append(helper.make_node("Flatten", ["gap.out"], ["flatten.out"], name="flatten", axis=1))
        w = self.rng.standard_normal((classes, c)).astype(np.float32) * np.float32(logit_std)
        self.init("fc.weight", w)
        self.init("fc.bias", (self.rng.standard_normal(classes) * 0.1).astype(np.float32))
        self.nodes.append(helper.make_node("Gemm", ["flatten.out", "fc.weight", "fc.bias"], ["fc.out"], name="fc",
                                           alpha=1.0, beta=1.0, transB=1))
        self.nodes.append(helper.make_node("Softmax", ["fc.out"], ["prob"], name="softmax", axis=1))

    def model(self, graph_name, classes, size=224):
        data = helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, size, size])
        prob = helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", classes])
        g = helper.make_graph(self.nodes, graph_name, [data], [prob], initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="qscope bench/gen_models.py")
        m.ir_version = 8  # opset 13 era; readable by every ONNX Runtime since 1.10
        onnx.checker.check_model(m, full_check=True)
        return m


def resnet50(classes=1000):
    b = Builder(seed=50)
    x = b.conv("data", 3, 64, 7, stride=2)
    x = b.relu(b.bn(x, 64))
    b.nodes.append(helper.make_node("MaxPool", [x], ["pool1.out"], name="pool1", kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1]))
    x = "pool1.out"
    cin = 64
    for stage, (blocks, width) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
        cout = width * 4
        for i in range(blocks):
            stride = 2 if (i == 0 and stage > 0) else 1
            y = b.relu(b.bn(b.conv(x, cin, width, 1, stride=stride), width))
            y = b.relu(b.bn(b.conv(y, width, width, 3), width))
            # Last BN of the residual branch has small gamma (as "zero-init residual" training would
            # leave it) so the sum grows slowly over the 16 blocks.
            y = b.bn(b.conv(y, width, cout, 1), cout, gamma_range=(0.2, 0.5))
            if i == 0:
                sc = b.bn(b.conv(x, cin, cout, 1, stride=stride, gain=1.0), cout)
            else:
                sc = x
            x = b.relu(b.add(y, sc))
            cin = cout
    b.head(x, 2048, classes, logit_std=0.01)
    return b.model("resnet50_v1_random", classes)


def mobilenetv2(classes=1000):
    b = Builder(seed=2)
    x = b.relu6(b.bn(b.conv("data", 3, 32, 3, stride=2), 32))
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = x
            if t != 1:
                y = b.relu6(b.bn(b.conv(y, cin, hidden, 1), hidden))
            y = b.relu6(b.bn(b.conv(y, hidden, hidden, 3, stride=stride, group=hidden), hidden))
            y = b.bn(b.conv(y, hidden, c, 1, gain=1.0), c, gamma_range=(0.3, 0.8))
            if stride == 1 and cin == c:
                y = b.add(x, y)
            x = y
            cin = c
    x = b.relu6(b.bn(b.conv(x, cin, 1280, 1), 1280))
    b.head(x, 1280, classes, logit_std=0.15)
    return b.model("mobilenetv2_random", classes)


def resnet110_cifar(classes=10, n=18):
    """ResNet-110 for 32x32 images (He et al. 2016, section 4.2): 3 stages of 18 basic blocks,
    16/32/64 channels, 1x1 projection shortcuts where the shape changes. 110 weight layers but
    cheap ones: the model that shows a sweep's per-step planning cost."""
    b = Builder(seed=110)
    x = b.relu(b.bn(b.conv("data", 3, 16, 3), 16))
    cin = 16
    for stage, width in enumerate([16, 32, 64]):
        for i in range(n):
            stride = 2 if (i == 0 and stage > 0) else 1
            y = b.relu(b.bn(b.conv(x, cin, width, 3, stride=stride), width))
            y = b.bn(b.conv(y, width, width, 3), width, gamma_range=(0.2, 0.5))
            if stride == 1 and cin == width:
                sc = x
            else:
                sc = b.bn(b.conv(x, cin, width, 1, stride=stride, gain=1.0), width)
            x = b.relu(b.add(y, sc))
            cin = width
    # The residual sum grows over the 54 blocks (pooled features about 70): a small classifier
    # keeps the softmax neither flat nor one-hot.
    b.head(x, 64, classes, logit_std=0.003)
    return b.model("resnet110_cifar_random", classes, size=32)


def vit_tiny(classes=10, dim=64, heads=4, depth=12):
    """A ViT-style encoder for 32x32 images (opset 17): 4x4 patch convolution to 64 tokens,
    position embedding, 12 pre-norm blocks of multi-head attention (MatMul, Softmax, Reshape and
    Transpose for the heads) and an MLP with GELU written out as Erf, LayerNormalization, the
    tokens' mean, logits, Softmax: the transformer ops that audio and vision encoders share.
    Reshapes copy the batch dimension (0), so the batch is free."""
    b = Builder(seed=17)
    tokens = 64
    names = {}

    def node(op, inputs, **attrs):
        n = b.name(op.lower())
        b.nodes.append(helper.make_node(op, inputs, [n + ".out"], name=n, **attrs))
        return n + ".out"

    def const(prefix, arr):
        return b.init(b.name(prefix), np.asarray(arr))

    def linear(x, din, dout):
        w = const("w", (b.rng.standard_normal((din, dout)) * np.sqrt(1.0 / din)).astype(np.float32))
        bias = const("b", (b.rng.standard_normal(dout) * 0.02).astype(np.float32))
        return node("Add", [node("MatMul", [x, w]), bias])

    def layer_norm(x):
        return node("LayerNormalization", [x, const("ln_g", np.ones(dim, np.float32)),
                                           const("ln_b", np.zeros(dim, np.float32))], axis=-1, epsilon=1e-6)

    def scalar(prefix, v):
        if prefix not in names:
            names[prefix] = const(prefix, np.array(v, dtype=np.float32))
        return names[prefix]

    def gelu(x):
        e = node("Erf", [node("Div", [x, scalar("sqrt2", np.sqrt(2.0))])])
        return node("Mul", [node("Mul", [x, node("Add", [e, scalar("one", 1.0)])]), scalar("half", 0.5)])

    heads_shape = const("heads_shape", np.array([0, tokens, heads, dim // heads], np.int64))
    tokens_shape = const("tokens_shape", np.array([0, tokens, dim], np.int64))
    w = const("patch_w", (b.rng.standard_normal((dim, 3, 4, 4)) * 0.1).astype(np.float32))
    x = node("Conv", ["data", w, const("patch_b", np.zeros(dim, np.float32))], kernel_shape=[4, 4], strides=[4, 4])
    x = node("Transpose", [node("Reshape", [x, const("patch_shape", np.array([0, dim, tokens], np.int64))])],
             perm=[0, 2, 1])
    x = node("Add", [x, const("pos", (b.rng.standard_normal((1, tokens, dim)) * 0.02).astype(np.float32))])
    for _ in range(depth):
        h = layer_norm(x)
        q = node("Transpose", [node("Reshape", [linear(h, dim, dim), heads_shape])], perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(h, dim, dim), heads_shape])], perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(h, dim, dim), heads_shape])], perm=[0, 2, 1, 3])
        att = node("Softmax", [node("Div", [node("MatMul", [q, k]), scalar("sqrt_dh", np.sqrt(dim // heads))])], axis=-1)
        o = node("Reshape", [node("Transpose", [node("MatMul", [att, v])], perm=[0, 2, 1, 3]), tokens_shape])
        x = node("Add", [x, linear(o, dim, dim)])
        x = node("Add", [x, linear(gelu(linear(layer_norm(x), dim, 4 * dim)), 4 * dim, dim)])
    pooled = node("ReduceMean", [layer_norm(x)], axes=[1], keepdims=0)
    logits = linear(pooled, dim, classes)
    b.nodes.append(helper.make_node("Softmax", [logits], ["prob"], name="softmax", axis=-1))
    data = helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 32, 32])
    prob = helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", classes])
    g = helper.make_graph(b.nodes, "vit_tiny_random", [data], [prob], initializer=b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="qscope bench/gen_models.py")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def m5_audio(classes=35):
    """An M5-style classifier of raw 16 kHz audio (Dai et al., 2017): four blocks of 1-D Conv,
    BatchNormalization, Relu and MaxPool (filter 80 at stride 4 on one channel, then filters of
    3), global average pool, Gemm, Softmax."""
    b = Builder(seed=23)

    def node(op, inputs, **attrs):
        n = b.name(op.lower())
        b.nodes.append(helper.make_node(op, inputs, [n + ".out"], name=n, **attrs))
        return n + ".out"

    def block(x, cin, cout, k, stride):
        w = (b.rng.standard_normal((cout, cin, k)) * np.sqrt(2.0 / (cin * k))).astype(np.float32)
        x = node("Conv", [x, b.init(b.name("w"), w)], kernel_shape=[k], strides=[stride], pads=[k // 2 - 2 if k > 4 else k // 2] * 2)
        return node("MaxPool", [b.relu(b.bn(x, cout))], kernel_shape=[4], strides=[4])

    x = block("data", 1, 128, 80, 4)
    x = block(x, 128, 128, 3, 1)
    x = block(x, 128, 256, 3, 1)
    x = block(x, 256, 512, 3, 1)
    x = node("Flatten", [node("GlobalAveragePool", [x])])
    w = b.init("fc.weight", (b.rng.standard_normal((classes, 512)) * np.sqrt(4.0 / 512)).astype(np.float32))
    logits = node("Gemm", [x, w, b.init("fc.bias", np.zeros(classes, np.float32))], transB=1)
    b.nodes.append(helper.make_node("Softmax", [logits], ["prob"], name="softmax", axis=-1))
    data = helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 1, 16000])
    prob = helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", classes])
    g = helper.make_graph(b.nodes, "m5_audio_random", [data], [prob], initializer=b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="qscope bench/gen_models.py")
    onnx.checker.check_model(m, full_check=True)
    return m


def quartznet_audio(classes=29, features=64, frames=200):
    """A QuartzNet-style speech recognizer's acoustic model (Kriman et al., 2020), three blocks of
    two repeats: time-channel separable 1-D convolutions (a depthwise filter of 33 to 87 frames,
    then a pointwise one), BatchNormalization, Relu, a residual 1x1 projection per block; 64 mel
    features of 200 frames in (two seconds), per-frame log-probabilities of 29 characters out
    (LogSoftmax over the classes, CTC-style)."""
    b = Builder(seed=29)

    def node(op, inputs, **attrs):
        n = b.name(op.lower())
        b.nodes.append(helper.make_node(op, inputs, [n + ".out"], name=n, **attrs))
        return n + ".out"

    def conv1d(x, cin, cout, k, stride=1, group=1, gain=2.0):
        w = (b.rng.standard_normal((cout, cin // group, k)) * np.sqrt(gain / (cin // group * k))).astype(np.float32)
        return node("Conv", [x, b.init(b.name("w"), w)], kernel_shape=[k], strides=[stride], pads=[k // 2] * 2,
                    group=group)

    def separable(x, cin, cout, k, stride=1):
        return b.bn(conv1d(conv1d(x, cin, cin, k, stride, group=cin, gain=1.0), cin, cout, 1), cout)

    x = b.relu(separable("data", features, 256, 33, stride=2))  # C1
    cin = 256
    for c, k in [(256, 33), (256, 39), (512, 51)]:
        y = b.relu(separable(x, cin, c, k))
        y = separable(y, c, c, k)
        x = b.relu(b.add(y, b.bn(conv1d(x, cin, c, 1, gain=1.0), c, gamma_range=(0.3, 0.8))))
        cin = c
    x = b.relu(separable(x, 512, 512, 87))  # C2
    x = b.relu(b.bn(conv1d(x, 512, 1024, 1), 1024))  # C3
    w = (b.rng.standard_normal((classes, 1024, 1)) * np.sqrt(0.5 / 1024)).astype(np.float32)
    logits = node("Conv", [x, b.init("head.weight", w), b.init("head.bias", np.zeros(classes, np.float32))],
                  kernel_shape=[1])  # C4
    b.nodes.append(helper.make_node("LogSoftmax", [logits], ["prob"], name="log_softmax", axis=1))
    data = helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", features, frames])
    prob = helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", classes, frames // 2])
    g = helper.make_graph(b.nodes, "quartznet_audio_random", [data], [prob], initializer=b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="qscope bench/gen_models.py")
    onnx.checker.check_model(m, full_check=True)
    return m


# (name, generator, shape of one input item)
MODELS = [("resnet50", resnet50, (3, 224, 224)), ("mobilenetv2", mobilenetv2, (3, 224, 224)),
          ("resnet110_cifar", resnet110_cifar, (3, 32, 32)), ("vit_tiny", vit_tiny, (3, 32, 32)),
          ("m5_audio", m5_audio, (1, 16000)), ("quartznet_audio", quartznet_audio, (64, 200))]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "models")
    os.makedirs(out, exist_ok=True)
    for seed, (name, make, item) in enumerate(MODELS):
        m = make()
        path = os.path.join(out, name + ".onnx")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(m.SerializeToString())
        os.replace(tmp, path)
        onnx.checker.check_model(path)
        rng = np.random.Generator(np.random.PCG64(1000 + seed))
        x = rng.standard_normal((INPUT_BATCH,) + item).astype(np.float32)
        np.save(os.path.join(out, name + ".input.npy"), x)
        counts = {}
        for node in m.graph.node:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        params = sum(int(np.prod(i.dims)) for i in m.graph.initializer)
        print(f"{path}: {params / 1e6:.1f}M parameters, " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
