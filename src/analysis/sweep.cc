#include "analysis/sweep.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "passes/int8_capability.h"

namespace qs::analysis {

std::string_view sweep_mode_name(SweepMode m) {
  switch (m) {
    case SweepMode::kPrefix: return "prefix";
    case SweepMode::kIsolate: return "isolate";
    case SweepMode::kBisect: return "bisect";
  }
  return "prefix";
}

std::optional<SweepMode> parse_sweep_mode(std::string_view s) {
  for (SweepMode m : {SweepMode::kPrefix, SweepMode::kIsolate, SweepMode::kBisect})
    if (sweep_mode_name(m) == s) return m;
  return std::nullopt;
}

int threads_per_job(int jobs) { return std::max(1, omp_get_max_threads() / std::max(1, jobs)); }

namespace {

// One evaluated plan: per input the worst output's metric, and the means.
struct Eval {
  std::vector<double> values;
  double mean = 0, min = 0, loss = 0;
  std::vector<std::map<std::string, Tensor>> outputs;
};

// `jobs` threads that live as long as the sweep, each with `threads_each` OpenMP threads: the
// steps' per-thread state (oneDNN's streams and argument maps, kernel scratch buffers) is made
// once per job thread rather than once per round of steps, as new threads would make it.
class JobPool {
 public:
  JobPool(int jobs, int threads_each) {
    for (int j = 0; j < jobs; ++j)
      threads_.emplace_back([this, j, threads_each] {
        omp_set_num_threads(threads_each);
        uint64_t seen = 0;
        for (;;) {
          const std::function<void(int)>* task;
          {
            std::unique_lock<std::mutex> lock(mu_);
            work_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            task = task_;
          }
          (*task)(j);
          std::lock_guard<std::mutex> lock(mu_);
          if (--pending_ == 0) done_.notify_one();
        }
      });
  }
  ~JobPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    for (auto& t : threads_) t.join();
  }
  JobPool(const JobPool&) = delete;
  JobPool& operator=(const JobPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }

  // f(j) on job thread j, for every j; returns when all are done.
  void Run(const std::function<void(int)>& f) {
    std::unique_lock<std::mutex> lock(mu_);
    task_ = &f;
    pending_ = size();
    ++generation_;
    work_.notify_all();
    done_.wait(lock, [&] { return pending_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable work_, done_;
  const std::function<void(int)>* task_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

class Runner {
 public:
  Runner(std::shared_ptr<const ir::Graph> graph, const std::vector<std::map<std::string, Tensor>>& inputs,
         const std::map<std::string, float>& scales, const SweepOptions& options)
      : graph_(std::move(graph)), inputs_(inputs), scales_(scales), options_(options) {
    // Reuse shares three kinds of work between steps: activations computed the same way,
    // prepared kernels (quantized weights, oneDNN primitives) and BatchNorm folds. Without it
    // every step starts from the model and the inputs, as the guide's per-step engine builds do.
    plan_options_ = options.plan_options;
    // A step runs each of its kernels once per input, and most of its INT8 kernels are new.
    plan_options_.kernel.few_runs = true;
    if (options.reuse) {
      cache_ = std::make_unique<runtime::ActivationCache>(options.cache_bytes);
      plan_options_.kernels = &kernels_;
      plan_options_.folds = &folds_;
    }
    // Under --jobs, this thread too runs with one job's share of the threads while the sweep
    // lasts: oneDNN fixes a primitive's thread count when it is made, and the steps share
    // prepared kernels, so a kernel made here with every thread would, run by a job, start a
    // team of its own beside the other jobs' (4 threads on 2 cores under --jobs 2).
    threads_each_ = threads_per_job(options.jobs);
    if (options.jobs > 1) {
      saved_threads_ = omp_get_max_threads();
      omp_set_num_threads(threads_each_);
    }
  }
  ~Runner() {
    if (saved_threads_ > 0) omp_set_num_threads(saved_threads_);
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Plans FP32, lists the layers and runs the reference.
  Status Init(SweepResult& r) {
    if (inputs_.empty()) return UsageError("the sweep needs at least one input");
    for (const auto& in : inputs_) {
      std::map<std::string, Shape> shapes;
      for (const auto& [name, t] : in) shapes[name] = t.shape();
      shapes_.push_back(shapes);
    }
    QS_ASSIGN_OR_RETURN(runtime::Plan fp32, runtime::build_view_plan(graph_, shapes_[0], plan_options_));
    fp32_ = std::make_unique<runtime::Plan>(std::move(fp32));
    view_ = runtime::graph_view(*fp32_);
    for (const ir::Node* n : view_.layers)
      r.layers.push_back(SweepLayer{n->name, n->op_type, fp32_->value_infos().at(n->outputs[0]).shape,
                                    passes::int8_capability(view_, *n).capable});
    for (size_t i = 0; i < inputs_.size(); ++i) {
      QS_ASSIGN_OR_RETURN(runtime::MixedPlan mp,
                          runtime::build_mixed_plan(graph_, shapes_[i], nullptr, plan_options_,
                                                    shapes_[i] == shapes_[0] ? fp32_.get() : nullptr));
      runtime::RunOptions ro;
      ro.cache = cache_.get();
      ro.input_key = i + 1;
      ro.cache_everything = true;
      QS_ASSIGN_OR_RETURN(auto out, mp.plan->Run(inputs_[i], ro));
      ++r.runs;
      ref_scale_.emplace_back();
      for (const auto& [name, t] : out) {
        double sq = 0, mx = 0;
        for (int64_t k = 0; k < t.numel(); ++k) {
          const double v = t.GetAsDouble(k);
          sq += v * v;
          mx = std::max(mx, std::fabs(v));
        }
        ref_scale_.back()[name] = options_.metric == Metric::kMaxAbs ? mx : (t.numel() ? sq / t.numel() : 0.0);
      }
      reference_.push_back(std::move(out));
    }
    r.reference = reference_;
    double loss_sum = 0;
    for (size_t i = 0; i < reference_.size(); ++i) {
      const auto [v, l] = worst_output(i, reference_[i]);
      perfect_.values.push_back(v);
      loss_sum += l;
    }
    summarize(perfect_, loss_sum);
    return Status::Ok();
  }

  // The result of a plan identical to FP32.
  Eval Perfect() const { return perfect_; }

  // The lowering of `plan` (how each layer runs), as Evaluate's plan for the first input's
  // shapes uses it: a step reads it first, to know whether its layer runs INT8, then hands it on.
  Expected<std::unique_ptr<passes::Lowered>> Lower(const passes::PrecisionPlan& plan) const {
    return runtime::lower_mixed(*fp32_, runtime::PrecisionConfig{plan, "", scales_}, plan_options_);
  }

  // lowered: Lower(plan), or null.
  Expected<Eval> Evaluate(const passes::PrecisionPlan& plan, bool keep_outputs,
                          std::unique_ptr<passes::Lowered> lowered = nullptr) {
    runtime::PrecisionConfig config{plan, "", scales_};
    Eval e;
    std::map<std::map<std::string, Shape>, std::shared_ptr<runtime::MixedPlan>> plans;
    double loss_sum = 0;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      auto& mp = plans[shapes_[i]];
      if (!mp) {
        const bool first_shapes = shapes_[i] == shapes_[0];
        QS_ASSIGN_OR_RETURN(runtime::MixedPlan built,
                            runtime::build_mixed_plan(graph_, shapes_[i], &config, plan_options_,
                                                      first_shapes ? fp32_.get() : nullptr,
                                                      first_shapes ? std::move(lowered) : nullptr));
        mp = std::make_shared<runtime::MixedPlan>(std::move(built));
      }
      runtime::RunOptions ro;
      ro.cache = cache_.get();
      ro.input_key = i + 1;
      QS_ASSIGN_OR_RETURN(auto out, mp->plan->Run(inputs_[i], ro));
      runs_.fetch_add(1);
      const auto [v, l] = worst_output(i, out);
      e.values.push_back(v);
      loss_sum += l;
      if (keep_outputs) e.outputs.push_back(std::move(out));
    }
    summarize(e, loss_sum);
    return e;
  }

  // The input's value is its worst output's: the one with the largest loss (NaN first).
  std::pair<double, double> worst_output(size_t input, const std::map<std::string, Tensor>& out) const {
    double worst_value = 0, worst_loss = -1;
    for (const auto& [name, ref] : reference_[input]) {
      const double v = compute(options_.metric, ref, out.at(name));
      const double l = loss_percent(options_.metric, v, ref_scale_[input].at(name));
      if (std::isnan(l)) return {v, l};
      if (l > worst_loss) {
        worst_value = v;
        worst_loss = l;
      }
    }
    return {worst_value, worst_loss};
  }

  void summarize(Eval& e, double loss_sum) const {
    double sum = 0;
    e.min = e.values[0];
    for (double v : e.values) {
      sum += v;
      if (std::isnan(v) || (higher_is_better(options_.metric) ? v < e.min : v > e.min)) e.min = v;
    }
    e.mean = sum / static_cast<double>(e.values.size());
    e.loss = loss_sum / static_cast<double>(e.values.size());
  }

  // Calls f(k) for k in [0, count) on up to options.jobs threads, each with its share of the
  // caller's OpenMP threads (threads_per_job).
  template <typename F>
  void ForEachOnJobs(size_t count, F f) {
    const int jobs = std::max(1, options_.jobs);
    if (jobs == 1 || count <= 1) {
      for (size_t k = 0; k < count; ++k) f(k);
      return;
    }
    if (!pool_) {
      pool_ = std::make_unique<JobPool>(jobs, threads_each_);
    }
    const std::function<void(int)> each = [&](int j) {
      for (size_t k = static_cast<size_t>(j); k < count; k += static_cast<size_t>(jobs)) f(k);
    };
    pool_->Run(each);
  }

  // Lower(plans[k]) for every k, at once on up to options.jobs threads.
  std::vector<Expected<std::unique_ptr<passes::Lowered>>> LowerMany(const std::vector<passes::PrecisionPlan>& plans) {
    std::vector<Expected<std::unique_ptr<passes::Lowered>>> results;
    for (size_t k = 0; k < plans.size(); ++k) results.emplace_back(InternalError("not lowered"));
    ForEachOnJobs(plans.size(), [&](size_t k) { results[k] = Lower(plans[k]); });
    return results;
  }

  // Evaluates plans at once on up to options.jobs threads; lowered[k]: Lower(plans[k]).
  std::vector<Expected<Eval>> EvaluateMany(const std::vector<passes::PrecisionPlan>& plans,
                                           std::vector<std::unique_ptr<passes::Lowered>> lowered, bool keep_outputs) {
    std::vector<Expected<Eval>> results(plans.size(), Expected<Eval>(InternalError("not run")));
    ForEachOnJobs(plans.size(),
                  [&](size_t k) { results[k] = Evaluate(plans[k], keep_outputs, std::move(lowered[k])); });
    return results;
  }

  int runs() const { return runs_.load(); }
  runtime::ActivationCache::Stats cache_stats() const { return cache_ ? cache_->stats() : runtime::ActivationCache::Stats{}; }

 private:
  std::shared_ptr<const ir::Graph> graph_;
  const std::vector<std::map<std::string, Tensor>>& inputs_;
  const std::map<std::string, float>& scales_;
  const SweepOptions& options_;
  std::unique_ptr<runtime::ActivationCache> cache_;
  runtime::KernelCache kernels_;  // kernels prepared for earlier steps (most layers run as before)
  mutable passes::FoldCache folds_;  // BatchNorm folds of earlier steps (thread-safe)
  runtime::PlanOptions plan_options_;
  std::vector<std::map<std::string, Shape>> shapes_;
  std::unique_ptr<runtime::Plan> fp32_;
  passes::GraphView view_;
  std::vector<std::map<std::string, Tensor>> reference_;
  std::vector<std::map<std::string, double>> ref_scale_;
  Eval perfect_;
  std::atomic<int> runs_{0};
  int threads_each_ = 1;    // OpenMP threads of each job (threads_per_job)
  int saved_threads_ = 0;   // this thread's OpenMP threads before the sweep, when it changed them
  std::unique_ptr<JobPool> pool_;  // last: its threads stop before the caches they use go
};

passes::PrecisionPlan prefix_plan(const SweepResult& r, int upto, const std::vector<std::string>& fallback,
                                  Precision fallback_precision) {
  passes::PrecisionPlan p;
  p.default_precision = Precision::kFp32;
  for (int i = 0; i <= upto; ++i) p.layers[r.layers[static_cast<size_t>(i)].name] = Precision::kInt8;
  for (const auto& f : fallback) p.layers[f] = fallback_precision;
  return p;
}

passes::PrecisionPlan final_plan(const std::vector<std::string>& fallback, Precision fallback_precision) {
  passes::PrecisionPlan p;
  p.default_precision = Precision::kInt8;
  for (const auto& f : fallback) p.layers[f] = fallback_precision;
  return p;
}

StepResult make_step(int index, int layer, const passes::LayerPrecision& lp, const Eval& e) {
  StepResult s;
  s.index = index;
  s.layer = layer;
  s.precision = lp.actual;
  s.reason = lp.actual != lp.requested ? lp.reason : "";
  s.values = e.values;
  s.mean = e.mean;
  s.min = e.min;
  s.loss = e.loss;
  s.outputs = e.outputs;
  return s;
}

// Prefix (and isolate) mode: one step per layer, `jobs` steps at a time. In prefix mode the
// steps after a flag assumed no flag, so they are run again with the fallback.
Status sweep_layers(Runner& run, SweepResult& r, const SweepOptions& o, const SweepHooks& hooks,
                    const SweepResume* resume) {
  const int n = static_cast<int>(r.layers.size());
  const bool isolate = o.mode == SweepMode::kIsolate;
  Flagger flagger(o.metric, o.threshold, o.auto_rule);
  // The result of the current configuration (prefix mode: the last step that was kept as it
  // ran); a step whose layer cannot run INT8 changes nothing and takes it over.
  Eval baseline = run.Perfect();
  auto record = [&](StepResult s, const Eval& e, bool computed) {
    s.computed = computed;
    if (computed) s.flagged = isolate ? flagger.StepIndependent(s.mean, s.loss) : flagger.Step(s.mean, s.loss);
    const bool falls_back = s.flagged && !o.no_fallback && !isolate;
    if (falls_back) r.fallback.push_back(r.layers[static_cast<size_t>(s.layer)].name);
    if (!isolate && !falls_back) baseline = e;
    r.steps.push_back(std::move(s));
    if (hooks.on_step) hooks.on_step(r, r.steps.back(), n);
    return falls_back;
  };
  int i = 0;
  if (resume)
    for (const StepResult& done : resume->steps) {
      if (done.index != i || i >= n) break;
      Eval e;
      e.values = done.values;
      e.mean = done.mean;
      e.min = done.min;
      e.loss = done.loss;
      record(done, e, done.computed);  // replays the flags: the trend and the fallback set are as they were
      ++i;
    }
  while (i < n) {
    // The next steps, up to `jobs` of them, stopping after one whose layer cannot run INT8.
    std::vector<passes::PrecisionPlan> candidates;
    for (int j = i; j < n && static_cast<int>(candidates.size()) < std::max(1, o.jobs); ++j) {
      passes::PrecisionPlan p;
      if (isolate) {
        p.layers[r.layers[static_cast<size_t>(j)].name] = Precision::kInt8;
      } else {
        p = prefix_plan(r, j, r.fallback, o.fallback);
      }
      candidates.push_back(std::move(p));
    }
    // Lowered at once (on the jobs' threads); the steps after one whose layer cannot run INT8
    // wait for the next round.
    auto lowered_candidates = run.LowerMany(candidates);
    std::vector<passes::PrecisionPlan> plans;
    std::vector<passes::LayerPrecision> lps;
    std::vector<std::unique_ptr<passes::Lowered>> lowerings;
    for (size_t k = 0; k < candidates.size(); ++k) {
      const int j = i + static_cast<int>(k);
      QS_ASSIGN_OR_RETURN(std::unique_ptr<passes::Lowered> lowered, std::move(lowered_candidates[k]));
      const passes::LayerPrecision lp = lowered->layers[static_cast<size_t>(j)];
      plans.push_back(std::move(candidates[k]));
      lps.push_back(lp);
      lowerings.push_back(std::move(lowered));
      if (lp.actual != Precision::kInt8) break;
    }
    std::vector<passes::PrecisionPlan> to_run;
    std::vector<std::unique_ptr<passes::Lowered>> to_run_lowered;
    for (size_t k = 0; k < plans.size(); ++k)
      if (lps[k].actual == Precision::kInt8) {
        to_run.push_back(plans[k]);
        to_run_lowered.push_back(std::move(lowerings[k]));
      }
    auto evals = run.EvaluateMany(to_run, std::move(to_run_lowered), hooks.keep_outputs);
    size_t next_eval = 0;
    for (size_t k = 0; k < plans.size(); ++k) {
      const int j = i;
      ++i;
      if (lps[k].actual != Precision::kInt8) {
        const Eval same = isolate ? run.Perfect() : baseline;
        record(make_step(j, j, lps[k], same), same, false);
        continue;
      }
      auto& e = evals[next_eval++];
      if (!e.ok()) return e.status();
      if (record(make_step(j, j, lps[k], *e), *e, true)) break;  // later results assumed no fallback
    }
  }
  return Status::Ok();
}

// Bisect mode: the fewest runs to find the first prefix that fails, repeated after each
// fallback until the whole network passes. "Fails": worse than --threshold, or a loss above
// the auto rule's min_jump.
Status sweep_bisect(Runner& run, SweepResult& r, const SweepOptions& o, const SweepHooks& hooks) {
  const int n = static_cast<int>(r.layers.size());
  const double tolerance = o.threshold ? loss_percent(o.metric, *o.threshold) : o.auto_rule.min_jump;
  auto fails = [&](const StepResult& s) { return std::isnan(s.loss) || s.loss > tolerance; };
  auto evaluate = [&](int upto) -> Expected<StepResult> {
    const auto p = prefix_plan(r, upto, r.fallback, o.fallback);
    QS_ASSIGN_OR_RETURN(std::unique_ptr<passes::Lowered> lowered, run.Lower(p));
    const passes::LayerPrecision lp = lowered->layers[static_cast<size_t>(upto)];
    QS_ASSIGN_OR_RETURN(Eval e, run.Evaluate(p, hooks.keep_outputs, std::move(lowered)));
    StepResult s = make_step(static_cast<int>(r.steps.size()), upto, lp, e);
    s.flagged = false;
    return s;
  };
  int lo = 0;
  while (lo < n) {
    QS_ASSIGN_OR_RETURN(StepResult whole, evaluate(n - 1));
    r.steps.push_back(whole);
    if (hooks.on_step) hooks.on_step(r, r.steps.back(), n);
    if (!fails(whole)) break;
    int a = lo, b = n - 1;  // the first failing prefix lies in [a, b]; prefix b fails
    while (a < b) {
      const int mid = a + (b - a) / 2;
      QS_ASSIGN_OR_RETURN(StepResult s, evaluate(mid));
      const bool bad = fails(s);
      r.steps.push_back(s);
      if (hooks.on_step) hooks.on_step(r, r.steps.back(), n);
      if (bad) b = mid;
      else a = mid + 1;
    }
    // Layer b is the first whose prefix fails.
    for (auto it = r.steps.rbegin(); it != r.steps.rend(); ++it)
      if (it->layer == b) {
        it->flagged = true;
        break;
      }
    if (o.no_fallback) break;
    r.fallback.push_back(r.layers[static_cast<size_t>(b)].name);
    lo = b + 1;
  }
  return Status::Ok();
}

}  // namespace

Expected<SweepResult> run_sweep(std::shared_ptr<const ir::Graph> graph, const std::vector<std::map<std::string, Tensor>>& inputs,
                                const std::map<std::string, float>& scales, const SweepOptions& options,
                                const SweepHooks& hooks, const SweepResume* resume) {
  const auto start = std::chrono::steady_clock::now();
  SweepResult r;
  r.mode = options.mode;
  r.metric = options.metric;
  Runner run(graph, inputs, scales, options);
  QS_RETURN_IF_ERROR(run.Init(r));
  if (options.mode == SweepMode::kBisect) QS_RETURN_IF_ERROR(sweep_bisect(run, r, options, hooks));
  else QS_RETURN_IF_ERROR(sweep_layers(run, r, options, hooks, resume));

  QS_ASSIGN_OR_RETURN(Eval all, run.Evaluate(final_plan({}, options.fallback), false));
  r.all_int8_mean = all.mean;
  r.all_int8_min = all.min;
  QS_ASSIGN_OR_RETURN(Eval fin, run.Evaluate(final_plan(r.fallback, options.fallback), false));
  if (options.minimize && !r.fallback.empty()) {
    // Each fallback layer goes back to INT8 if the plan still meets the target.
    const double target_loss = options.target     ? loss_percent(options.metric, *options.target)
                               : options.threshold ? loss_percent(options.metric, *options.threshold)
                                                   : fin.loss + options.auto_rule.min_jump;
    std::vector<std::string> kept;
    for (size_t k = 0; k < r.fallback.size(); ++k) {
      std::vector<std::string> trial = kept;
      trial.insert(trial.end(), r.fallback.begin() + static_cast<std::ptrdiff_t>(k) + 1, r.fallback.end());
      QS_ASSIGN_OR_RETURN(Eval e, run.Evaluate(final_plan(trial, options.fallback), false));
      if (!std::isnan(e.loss) && e.loss <= target_loss) r.minimized_back.push_back(r.fallback[k]);
      else kept.push_back(r.fallback[k]);
    }
    r.fallback = kept;
    QS_ASSIGN_OR_RETURN(fin, run.Evaluate(final_plan(r.fallback, options.fallback), false));
  }
  r.final_mean = fin.mean;
  r.final_min = fin.min;
  r.plan = final_plan(r.fallback, options.fallback);
  r.runs += run.runs();
  r.cache = run.cache_stats();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace qs::analysis
