// The generated planted models (tests/data/planted/gen_planted.py) with their inputs and
// minmax ranges, for the sweep's and the diagnosis' tests.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "app/model.h"
#include "io/npy.h"
#include "quant/minmax.h"

namespace qs::analysis {

inline const std::string kPlanted = std::string(QS_TEST_DATA_DIR) + "/planted/";

struct Fixture {
  std::shared_ptr<const ir::Graph> graph;
  std::vector<std::map<std::string, Tensor>> inputs;
  std::map<std::string, float> scales;
};

inline Fixture load(const std::string& model, int num_inputs = 2) {
  Fixture f;
  auto g = app::load_model(kPlanted + model + ".onnx");
  EXPECT_TRUE(g.ok()) << g.status().message();
  f.graph = *g;
  runtime::Engine fp32(f.graph);
  quant::MinMaxObserver obs;
  for (int i = 0; i < 4; ++i) {
    auto t = io::read_npy(kPlanted + "input" + std::to_string(i) + ".npy");
    EXPECT_TRUE(t.ok());
    std::map<std::string, Tensor> in{{"data", *t}};
    EXPECT_TRUE(obs.Observe(fp32, in).ok());
    if (i < num_inputs) f.inputs.push_back(in);
  }
  f.scales = obs.ToCache().scales;
  return f;
}

}  // namespace qs::analysis
