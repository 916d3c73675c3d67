// Why a flagged layer loses (analysis/diagnose.h), on the generated planted models
// (tests/data/planted/gen_planted.py): one channel of a tensor grown K-fold, readers compensated.
#include "analysis/diagnose.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/planted_fixture.h"

namespace qs::analysis {
namespace {

TEST(Diagnose, NamesThePlantedChannelOfTheReadersInput) {
  for (const char* name : {"planted_conv1", "planted_conv2", "planted_conv3"}) {
    SCOPED_TRACE(name);
    std::ifstream meta_file(kPlanted + std::string(name) + ".json");
    const auto meta = nlohmann::json::parse(meta_file);
    const std::string tensor = meta["planted"][0]["tensor"];
    const std::string reader = meta["planted"][0]["reader"];
    Fixture f = load(name, 3);
    auto d = diagnose_layers(f.graph, f.inputs, f.scales, {reader});
    ASSERT_TRUE(d.ok()) << d.status().message();
    ASSERT_EQ(d->size(), 1u);
    const LayerDiagnosis& l = d->front();
    EXPECT_EQ(l.layer, reader);
    ASSERT_EQ(l.inputs.size(), 1u);
    const QuantizedInput& in = l.inputs.front();
    EXPECT_EQ(in.tensor, tensor);
    EXPECT_EQ(in.top_channel, 0) << "gen_planted.py grows channel 0";
    EXPECT_GT(in.range, 50 * in.median_channel_max);
    if (reader.rfind("conv", 0) == 0) {
      // A convolution mixes the starved channels into every output (GlobalAveragePool, the
      // reader of conv3's plant, keeps the channels apart, and its output hides the loss).
      EXPECT_LT(in.similarity, 90.0);
      // Its weights lose too (the reader's weights on the planted channel were divided by K,
      // which per-output-channel scales cannot hold), but less.
      EXPECT_LT(in.similarity, l.weight_similarity);
    }
    EXPECT_THAT(l.verdict, ::testing::HasSubstr("its input " + tensor + " loses most"));
    EXPECT_THAT(l.verdict, ::testing::HasSubstr("channel 0 (max |x|"));

    // The same layer of the clean model: nothing stands out.
    Fixture clean = load(meta["clean"].get<std::string>(), 3);
    auto c = diagnose_layers(clean.graph, clean.inputs, clean.scales, {reader});
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_EQ(c->front().inputs.size(), 1u);
    EXPECT_GT(c->front().inputs.front().similarity, 99.5);
    EXPECT_THAT(c->front().verdict, ::testing::Not(::testing::HasSubstr("sets its range")));
  }
}

// A 1x1 convolution whose weights on input channel 7 (always zero in the data) are 1000 or more
// times the others: FP32 never sees them, but they set every output channel's INT8 weight scale
// and the weights that matter round to zero.
TEST(Diagnose, WeightsThatLoseAreBlamedAndUnknownLayersAreErrors) {
  auto g = std::make_shared<ir::Graph>();
  g->opset = 13;
  g->inputs.push_back(ir::ValueInfo{"x", DType::kFloat32, true, {1, 8, 4, 4}, {}});
  g->outputs.push_back(ir::ValueInfo{"y", DType::kFloat32, false, {}, {}});
  std::vector<float> w(3 * 8);
  for (int oc = 0; oc < 3; ++oc)
    for (int ic = 0; ic < 8; ++ic) w[oc * 8 + ic] = ic == 7 ? 1000.f * (oc + 1) : 0.1f * static_cast<float>(ic + 1);
  g->initializers["w"] = Tensor::FromVector<float>({3, 8, 1, 1}, w);
  ir::Node conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {"x", "w"};
  conv.outputs = {"y"};
  g->nodes.push_back(conv);
  Tensor x(DType::kFloat32, {1, 8, 4, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = i >= 7 * 16 ? 0.f : static_cast<float>(i % 5) - 1.5f;
  const std::map<std::string, float> scales{{"x", 2.5f / 127.f}};
  auto d = diagnose_layers(g, {{{"x", x}}}, scales, {"conv"});
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->front().inputs.size(), 1u);
  EXPECT_GT(d->front().inputs.front().similarity, 99.9);
  EXPECT_LT(d->front().weight_similarity, 50.0);
  EXPECT_THAT(d->front().verdict, ::testing::HasSubstr("its weights lose most"));
  // Output channel 2: 3000 against a median |w| of 0.5 (the 0.1 ... 0.7 and 3000 of its row).
  EXPECT_EQ(d->front().weight_spread_channel, 2);
  EXPECT_FLOAT_EQ(d->front().weight_spread, 3000.f / 0.5f);
  EXPECT_THAT(d->front().verdict, ::testing::HasSubstr("in output channel 2 the largest |w| is 6000x the median |w|, "
                                                       "so most of its weights round to zero"));

  auto bad = diagnose_layers(g, {{{"x", x}}}, scales, {"nope"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("layer 'nope' is not in the model"));
}

}  // namespace
}  // namespace qs::analysis
