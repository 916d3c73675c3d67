// Bad plan JSON (--plan, passes::parse_plan_json) and bad sweep state/report JSON
// (sweep --resume, report::steps_from_json): each gets an error that says what is wrong,
// never a crash or an exception. Cases listed in docs/robustness.md.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "passes/precision_plan.h"
#include "report/report.h"

namespace qs {
namespace {

void expect_plan_error(const std::string& text, const std::string& fragment) {
  auto p = passes::parse_plan_json(text, "p.json");
  ASSERT_FALSE(p.ok()) << text;
  EXPECT_NE(p.status().message().find(fragment), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("p.json"), std::string::npos) << p.status().message();
}

TEST(PlanJsonTest, BadPlansAreErrors) {
  expect_plan_error("", "not valid JSON");
  expect_plan_error("{\"default\": \"int8\"", "not valid JSON");
  expect_plan_error("[1, 2]", "expected a JSON object");
  expect_plan_error("{\"default\": 8}", "\"default\" must be a string");
  expect_plan_error("{\"default\": \"int4\"}", "\"default\" is 'int4'");
  expect_plan_error("{\"layers\": [\"conv1\"]}", "\"layers\" must be an object");
  expect_plan_error("{\"layers\": {\"conv1\": null}}", "layer 'conv1': precision must be a string");
  expect_plan_error("{\"layers\": {\"conv1\": \"bf16\"}}", "precision 'bf16' is not fp32, fp16 or int8");
  expect_plan_error(std::string(100000, '['), "not valid JSON");  // deep nesting, unterminated
  expect_plan_error("{\"default\": 1e999999}", "not valid JSON");  // number overflow: not a parse_error (fuzz/plan_json)
}

TEST(PlanJsonTest, UnknownKeysAreIgnored) {
  auto p = passes::parse_plan_json("{\"default\": \"fp16\", \"note\": {\"x\": [1]}, \"layers\": {}}", "p.json");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->default_precision, Precision::kFp16);
}

void expect_steps_error(const std::string& text, const std::string& fragment) {
  auto steps = report::steps_from_json(nlohmann::json::parse(text));
  ASSERT_FALSE(steps.ok()) << text;
  EXPECT_NE(steps.status().message().find(fragment), std::string::npos) << steps.status().message();
}

TEST(StepsJsonTest, BadStepsAreErrors) {
  expect_steps_error("{}", "no \"steps\" array");
  expect_steps_error("[1]", "no \"steps\" array");
  expect_steps_error("{\"steps\": {}}", "no \"steps\" array");
  expect_steps_error("{\"steps\": [1]}", "malformed step");
  expect_steps_error("{\"steps\": [{\"index\": 0}]}", "malformed step");
  expect_steps_error("{\"steps\": [{\"index\": \"0\", \"similarity\": 1, \"similarity_min\": 1, \"loss\": 0, \"values\": [], "
                     "\"flagged\": false, \"precision\": \"int8\"}]}",
                     "malformed step");
  expect_steps_error("{\"steps\": [{\"index\": 0, \"similarity\": 1, \"similarity_min\": 1, \"loss\": 0, \"values\": [], "
                     "\"flagged\": false, \"precision\": \"int3\"}]}",
                     "unknown precision");
}

TEST(StepsJsonTest, NullSimilarityReadsAsNan) {
  auto steps = report::steps_from_json(nlohmann::json::parse(
      "{\"steps\": [{\"index\": 0, \"similarity\": null, \"similarity_min\": null, \"loss\": null, \"values\": [null], "
      "\"flagged\": true, \"precision\": \"fp32\"}]}"));
  ASSERT_TRUE(steps.ok()) << steps.status().message();
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_TRUE(std::isnan((*steps)[0].mean));
  EXPECT_TRUE(std::isnan((*steps)[0].values[0]));
}

}  // namespace
}  // namespace qs
