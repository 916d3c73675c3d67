// The qscope command line end to end: exit codes and one-line errors for bad input.
#include <gtest/gtest.h>

#include "cli_fixture.h"
#include "io/npy.h"
#include "onnx/qdq_test_models.h"
#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(QS_TEST_DATA_DIR) + "/fmnist";
using qs::testing::CliResult;

class CliTest : public qs::testing::CliTestBase {};

std::string npy_bytes(const std::string& descr, const std::string& shape, size_t data_bytes) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += static_cast<char>(header.size() & 0xff);
  s += static_cast<char>(header.size() >> 8);
  return s + header + std::string(data_bytes, '\0');
}

TEST_F(CliTest, HelpAndUsage) {
  EXPECT_EQ(run("--help").code, 0);
  EXPECT_EQ(run("run --help").code, 0);
  EXPECT_EQ(run("inspect --help").code, 0);
  CliResult r = run("nosuchcommand");
  EXPECT_EQ(r.code, 2) << r.err;
  r = run("run " + kData + "/lenet_fmnist.onnx");  // --input missing
  EXPECT_EQ(r.code, 2) << r.err;
}

TEST_F(CliTest, RunsTheBundledModelAndSavesOutputs) {
  CliResult r = run("run " + kData + "/lenet_fmnist.onnx --input " + kData +
                 "/images/test0_boot.png --mean 0.2860 --std 0.3530 --save-outputs " + path("out"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("prob float32 [1,10]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top-5: 9:"), std::string::npos) << "ankle boot is class 9: " << r.out;
  EXPECT_TRUE(fs::exists(path("out/prob.npy")));
}

TEST_F(CliTest, SeveralInputsSaveOneFolderEach) {
  CliResult r = run("run " + kData + "/lenet_fmnist.onnx --input " + kData + "/images/test0_boot.pgm " + kData +
                 "/images/test1_pullover.pgm --save-outputs " + path("out"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("out/test0_boot/prob.npy")));
  EXPECT_TRUE(fs::exists(path("out/test1_pullover/prob.npy")));
}

// A model input with a fixed batch of 1: a file of 3 rows is 3 runs, each the same as its row
// given alone; the sweep takes the same runs and checks shapes as run does.
TEST_F(CliTest, AFileOfSeveralRowsForAFixedBatchIsOneRunPerRow) {
  using qs::DType;
  using qs::Shape;
  using qs::Tensor;
  namespace io = qs::io;
  qs::testing::OnnxBuilder b(13);
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 4);
  b.node("Relu", "relu1", {"c1"}, {"y"});
  b.output("y", {1, 4, 8, 8});
  const std::string model = b.save(path("fixed.onnx"));
  Tensor rows(DType::kFloat32, {3, 3, 8, 8});
  for (int64_t i = 0; i < rows.numel(); ++i) rows.data<float>()[i] = static_cast<float>((i * 7919) % 255) / 128.f - 1.f;
  ASSERT_TRUE(io::write_npy(path("rows.npy"), rows).ok());
  CliResult r = run("run " + model + " --input " + path("rows.npy") + " --save-outputs " + path("out"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (int64_t k = 0; k < 3; ++k) {
    const Tensor one = rows.Part(k * 3 * 8 * 8, {1, 3, 8, 8}).Clone();
    const std::string alone = path("row" + std::to_string(k) + ".npy");
    ASSERT_TRUE(io::write_npy(alone, one).ok());
    const std::string dir = path("alone" + std::to_string(k));
    ASSERT_EQ(run("run " + model + " --input " + alone + " --save-outputs " + dir).code, 0);
    auto split = io::read_npy(path("out/rows_" + std::to_string(k) + "/y.npy"));
    auto single = io::read_npy(dir + "/y.npy");
    ASSERT_TRUE(split.ok() && single.ok()) << "run " << k;
    ASSERT_EQ(split->shape(), (Shape{1, 4, 8, 8}));
    for (int64_t i = 0; i < split->numel(); ++i)
      ASSERT_EQ(split->data<float>()[i], single->data<float>()[i]) << "run " << k << " element " << i;
  }
  r = run("sweep " + model + " --input " + path("rows.npy") + " --calib-data " + path("rows.npy") + " -o " +
          path("sweep") + " --progress off");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream report(path("sweep/report.json"));
  const std::string text((std::istreambuf_iterator<char>(report)), {});
  EXPECT_NE(text.find("\"rows_2\""), std::string::npos) << text.substr(0, 400);
  expect_error(run("sweep " + model + " --input " + write("shape.npy", npy_bytes("<f4", "(1, 3, 7, 8)", 7 * 8 * 12)) +
                   " --calib-data " + path("rows.npy") + " -o " + path("sweep2")),
               3, {"shape.npy", "input 'x' has shape [1,3,7,8], the model expects [1,3,8,8]"});
  EXPECT_FALSE(fs::exists(path("sweep2/report.json")));
  // Rows that are no multiple of the batch: the same error from run.
  expect_error(run("run " + model + " --input " + write("odd.npy", npy_bytes("<f4", "(2, 3, 7, 8)", 2 * 7 * 8 * 12))), 3,
               {"odd.npy", "the model expects [1,3,8,8]"});
}

// A .wav for a raw-waveform model: mono becomes [1, T] for an [N, T] input and [1, 1, T] for
// [N, 1, T]; the samples arrive scaled to [-1, 1); a stereo file for one channel is refused.
TEST_F(CliTest, WavFilesFeedRawWaveformModels) {
  namespace io = qs::io;
  auto wav = [](uint16_t channels, const std::vector<int16_t>& samples) {
    auto u16 = [](uint16_t v) { return std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; };
    auto u32 = [&](uint32_t v) { return u16(static_cast<uint16_t>(v & 0xffff)) + u16(static_cast<uint16_t>(v >> 16)); };
    std::string data;
    for (int16_t v : samples) data += u16(static_cast<uint16_t>(v));
    const std::string body = "WAVEfmt " + u32(16) + u16(1) + u16(channels) + u32(16000) + u32(32000u * channels) +
                             u16(static_cast<uint16_t>(2 * channels)) + u16(16) + "data" +
                             u32(static_cast<uint32_t>(data.size())) + data;
    return "RIFF" + u32(static_cast<uint32_t>(body.size())) + body;
  };
  const std::vector<int16_t> samples = {-16384, 8192, 0, 32767, -32768, 4096, 100, -100};
  const std::string mono = write("mono.wav", wav(1, samples));
  const std::string stereo = write("stereo.wav", wav(2, samples));
  for (const qs::Shape& dims : {qs::Shape{1, 8}, qs::Shape{1, 1, 8}}) {
    qs::testing::OnnxBuilder b(13);
    b.input("x", dims);
    b.node("Relu", "relu", {"x"}, {"y"});
    b.output("y", dims);
    const std::string model = b.save(path("wave" + std::to_string(dims.size()) + ".onnx"));
    const std::string out = path("wave_out" + std::to_string(dims.size()));
    CliResult r = run("run " + model + " --input " + mono + " --save-outputs " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    auto y = io::read_npy(out + "/y.npy");
    ASSERT_TRUE(y.ok()) << y.status().message();
    EXPECT_EQ(y->shape(), dims);
    for (size_t i = 0; i < samples.size(); ++i)
      EXPECT_EQ(y->data<float>()[i], std::max(0.f, static_cast<float>(samples[i]) / 32768.f)) << i;
    expect_error(run("run " + model + " --input " + stereo), 3, {"stereo.wav", "the model expects"});
  }
}

TEST_F(CliTest, InspectListsLayers) {
  CliResult r = run("inspect " + kData + "/mobilenet_tiny_fmnist.onnx");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Softmax"), std::string::npos);
  EXPECT_NE(r.out.find("no (Softmax has no INT8 implementation)"), std::string::npos) << r.out;
}

TEST_F(CliTest, MissingModel) {
  expect_error(run("run " + path("none.onnx") + " --input x.npy"), 3, {"none.onnx", "no such file"});
}

TEST_F(CliTest, EmptyTruncatedAndCorruptModels) {
  std::ifstream f(kData + "/lenet_fmnist.onnx", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  expect_error(run("inspect " + write("empty.onnx", "")), 3, {"empty.onnx", "empty"});
  expect_error(run("inspect " + write("trunc.onnx", bytes.substr(0, bytes.size() / 3))), 3, {"trunc.onnx", "truncated"});
  std::string corrupt = bytes;
  for (size_t i = 10; i < 60; ++i) corrupt[i] = '\xff';
  expect_error(run("inspect " + write("corrupt.onnx", corrupt)), 3, {"corrupt.onnx"});
}

TEST_F(CliTest, BadWeightRankNamesTheNode) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("bad");
  auto* n = g->add_node();
  n->set_op_type("Conv");
  n->set_name("conv3");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int d : {4, 1, 3}) w->add_dims(d);
  for (int i = 0; i < 12; ++i) w->add_float_data(0.5f);
  for (auto* v : {g->add_input(), g->add_output()}) {
    v->set_name(v == &g->input(0) ? "x" : "y");
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape();
  }
  auto* sh = g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (int d : {1, 1, 8, 8}) sh->add_dim()->set_dim_value(d);
  const std::string model = write("badconv.onnx", m.SerializeAsString());
  expect_error(run("inspect " + model), 3, {"node 'conv3' (Conv)"});
}

TEST_F(CliTest, InputFileOfTheWrongSizeOrType) {
  const std::string model = kData + "/lenet_fmnist.onnx";
  expect_error(run("run " + model + " --input " + write("short.npy", npy_bytes("<f4", "(1, 1, 28, 28)", 100))), 3,
               {"short.npy"});
  expect_error(run("run " + model + " --input " + write("shape.npy", npy_bytes("<f4", "(1, 1, 27, 28)", 27 * 28 * 4))), 3,
               {"input 'data' has shape [1,1,27,28]"});
  expect_error(run("run " + model + " --input " + write("dbl.npy", npy_bytes("<f8", "(1, 1, 28, 28)", 28 * 28 * 8))), 3,
               {"input 'data' is float64", "float32"});
  expect_error(run("run " + model + " --input " + write("huge.npy", npy_bytes("<f4", "(4611686018427387904, 8)", 0))), 3,
               {"huge.npy"});
  expect_error(run("run " + model + " --input " + write("x.txt", "hello")), 3, {"x.txt", "unknown input type"});
  expect_error(run("run " + model + " --input " + write("bad.png", "not a png")), 3, {"bad.png"});
  expect_error(run("run " + model + " --input " + path("missing.npy")), 3, {"missing.npy"});
}

TEST_F(CliTest, BadPreprocessingOptionsAreUsageErrors) {
  const std::string cmd = "run " + kData + "/lenet_fmnist.onnx --input " + kData + "/images/test0_boot.png";
  CliResult r = run(cmd + " --size 28by28");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--size"), std::string::npos) << r.err;
  r = run(cmd + " --channels purple");
  EXPECT_EQ(r.code, 2) << r.err;
}

}  // namespace
