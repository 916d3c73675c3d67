// The sweep on generated models with planted faults (tests/data/planted/gen_planted.py):
// the first flagged layer is the one that reads the planted tensor in INT8 (INT8.md item 5),
// and nothing off the planted tensor's path is flagged.
#include "analysis/sweep.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <fstream>
#include <tuple>
#include <nlohmann/json.hpp>

#include "analysis/planted_fixture.h"

namespace qs::analysis {
namespace {

std::vector<std::string> flagged(const SweepResult& r) {
  std::vector<std::string> v;
  for (const auto& s : r.steps)
    if (s.flagged) v.push_back(r.layers[static_cast<size_t>(s.layer)].name);
  return v;
}

// Every planted case of gen_planted.py: early, middle and late culprits in plain chains and
// in networks with residual adds and concats, and two culprits at once.
class PlantedSweep : public ::testing::TestWithParam<const char*> {};

TEST_P(PlantedSweep, FirstFlagIsTheReaderAndNothingOffThePathIsFlagged) {
  const std::string name = GetParam();
  std::ifstream meta_file(kPlanted + name + ".json");
  const auto meta = nlohmann::json::parse(meta_file);
  Fixture f = load(name);
  // The plant leaves FP32 as it was.
  Fixture clean = load(meta["clean"].get<std::string>());
  for (size_t i = 0; i < f.inputs.size(); ++i) {
    auto a = runtime::Engine(f.graph).Run(f.inputs[i]);
    auto b = runtime::Engine(clean.graph).Run(clean.inputs[i]);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_GT(cosine_percent(b->at("out"), a->at("out")), 99.999);
  }
  auto r = run_sweep(f.graph, f.inputs, f.scales, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto got = flagged(*r);
  const auto readers = meta["readers"].get<std::vector<std::string>>();
  const auto path = meta["path"].get<std::vector<std::string>>();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front(), readers.front()) << "the first flag is the reader of the planted tensor";
  // Every planted tensor's reader is found, in order.
  size_t k = 0;
  for (const auto& g : got)
    if (k < readers.size() && g == readers[k]) ++k;
  EXPECT_EQ(k, readers.size()) << "all culprits found in order";
  for (const auto& g : got)
    EXPECT_NE(std::find(path.begin(), path.end(), g), path.end()) << g << " is off the planted tensor's path";
  EXPECT_EQ(r->fallback, got);
  EXPECT_LT(r->all_int8_mean, 99.0);
  EXPECT_GT(r->final_mean, 99.9);
  EXPECT_EQ(r->steps.size(), r->layers.size());
}

INSTANTIATE_TEST_SUITE_P(Planted, PlantedSweep,
                         ::testing::Values("planted_conv1", "planted_conv2", "planted_conv3", "planted_res_conv1",
                                           "planted_res_conv2", "planted_cat_conv2", "planted_cat_conv3", "planted_two"));

TEST(SweepTest, CleanModelsFlagNothing) {
  for (const char* name : {"clean", "clean_res", "clean_cat"}) {
    SCOPED_TRACE(name);
    Fixture f = load(name);
    auto r = run_sweep(f.graph, f.inputs, f.scales, {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(flagged(*r).empty());
    EXPECT_GT(r->final_mean, 99.9);
  }
}

TEST(SweepTest, ReuseAndJobsDoNotChangeTheResult) {
  Fixture f = load("planted_conv2");
  SweepOptions base;
  base.reuse = false;
  auto plain = run_sweep(f.graph, f.inputs, f.scales, base);
  ASSERT_TRUE(plain.ok());
  // Three jobs: rounds with fewer steps than jobs (after a fallback, at the end) leave a job
  // thread idle.
  for (int jobs : {1, 2, 3}) {
    SweepOptions o;
    o.jobs = jobs;
    auto r = run_sweep(f.graph, f.inputs, f.scales, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->steps.size(), plain->steps.size());
    for (size_t i = 0; i < r->steps.size(); ++i) {
      EXPECT_EQ(r->steps[i].values, plain->steps[i].values) << "step " << i << " jobs " << jobs;
      EXPECT_EQ(r->steps[i].flagged, plain->steps[i].flagged);
    }
    EXPECT_EQ(r->fallback, plain->fallback);
    EXPECT_GT(r->cache.hits, 0);
  }
}

// Jobs split the caller's OpenMP threads (OMP_NUM_THREADS, or the cores the process may use),
// not the machine's cores: two jobs under a budget of 4 threads take 2 each on any machine.
TEST(SweepTest, JobsShareTheCallersThreads) {
  const int saved = omp_get_max_threads();
  for (auto [budget, jobs, each] : {std::tuple{4, 2, 2}, {6, 3, 2}, {5, 2, 2}, {1, 2, 1}, {2, 4, 1}, {3, 1, 3}}) {
    omp_set_num_threads(budget);
    EXPECT_EQ(threads_per_job(jobs), each) << budget << " threads, " << jobs << " jobs";
  }
  omp_set_num_threads(saved);
}

// Under --jobs the calling thread, which runs the FP32 reference and prepares kernels the jobs
// reuse, keeps to one job's share while the sweep lasts, and gets its own budget back after.
TEST(SweepTest, TheCallerKeepsToAJobsShareDuringASweep) {
  Fixture f = load("planted_conv2");
  const int saved = omp_get_max_threads();
  omp_set_num_threads(4);
  for (int jobs : {1, 2}) {
    SweepOptions o;
    o.jobs = jobs;
    std::vector<int> seen;
    SweepHooks hooks;
    hooks.on_step = [&](const SweepResult&, const StepResult&, int) { seen.push_back(omp_get_max_threads()); };
    auto r = run_sweep(f.graph, f.inputs, f.scales, o, hooks);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_FALSE(seen.empty());
    for (int t : seen) EXPECT_EQ(t, 4 / jobs) << jobs << " jobs";
    EXPECT_EQ(omp_get_max_threads(), 4);
  }
  omp_set_num_threads(saved);
}

TEST(SweepTest, IsolateAndBisectFindTheSameCulprit) {
  Fixture f = load("planted_conv1");
  SweepOptions iso;
  iso.mode = SweepMode::kIsolate;
  auto r = run_sweep(f.graph, f.inputs, f.scales, iso);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // Alone in INT8, relu1 reads conv1's output, which holds the planted channel too (in the
  // prefix sweep conv1+relu1 fuse and that tensor never exists in INT8).
  EXPECT_EQ(flagged(*r), (std::vector<std::string>{"relu1", "conv2"}));
  EXPECT_TRUE(r->fallback.empty()) << "isolate only measures";
  SweepOptions bis;
  bis.mode = SweepMode::kBisect;
  auto b = run_sweep(f.graph, f.inputs, f.scales, bis);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->fallback, std::vector<std::string>{"conv2"});
  EXPECT_LT(b->steps.size(), r->steps.size()) << "bisect needs fewer runs";
}

TEST(SweepTest, MinimizeReturnsLayersThatAreNotNeeded) {
  Fixture f = load("planted_conv1");
  SweepOptions o;
  o.threshold = 99.999999;  // flags nearly everything
  o.minimize = true;
  o.target = 99.9;
  auto r = run_sweep(f.graph, f.inputs, f.scales, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->minimized_back.empty());
  EXPECT_NE(std::find(r->fallback.begin(), r->fallback.end(), "conv2"), r->fallback.end()) << "the culprit stays";
  EXPECT_GE(r->final_mean, 99.9);
  std::printf("minimize: %zu steps, fallback %zu, back %zu, runs %d, %.3f s\n", r->steps.size(), r->fallback.size(),
              r->minimized_back.size(), r->runs, r->seconds);
}

}  // namespace
}  // namespace qs::analysis
