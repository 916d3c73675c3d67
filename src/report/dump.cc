#include "report/dump.h"

#include <filesystem>
#include <fstream>
#include <regex>

#include "io/atomic_file.h"
#include "io/npy.h"

namespace qs::report {

namespace fs = std::filesystem;

namespace {

Status make_dirs(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return IoError("cannot create folder '{}': {}", p.string(), ec.message());
  return Status::Ok();
}

Status write_outputs(const fs::path& dir, const std::map<std::string, Tensor>& outputs) {
  QS_RETURN_IF_ERROR(make_dirs(dir));
  for (const auto& [name, t] : outputs) QS_RETURN_IF_ERROR(io::write_npy((dir / (safe_name(name) + ".npy")).string(), t));
  return Status::Ok();
}

std::string step_folder(int index, const std::string& layer) { return fmt::format("{:04d}_{}", index, safe_name(layer)); }

// The .npy files of a folder, by output name (file stem).
Expected<std::map<std::string, Tensor>> read_outputs(const fs::path& dir) {
  std::map<std::string, Tensor> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".npy") continue;
    QS_ASSIGN_OR_RETURN(Tensor t, io::read_npy(e.path().string()));
    out[e.path().stem().string()] = std::move(t);
  }
  if (ec) return IoError("cannot list '{}': {}", dir.string(), ec.message());
  if (out.empty()) return InvalidInput("folder '{}' holds no .npy outputs", dir.string());
  return out;
}

}  // namespace

Expected<DumpWriter> DumpWriter::Create(const std::string& dir, const std::vector<std::string>& stems,
                                        const std::vector<std::map<std::string, Tensor>>& reference) {
  DumpWriter w;
  w.dir_ = dir;
  for (size_t i = 0; i < reference.size(); ++i) {
    const fs::path d = reference.size() == 1 ? fs::path(dir) : fs::path(dir) / safe_name(stems[i]);
    w.input_dirs_.push_back(d.string());
    QS_RETURN_IF_ERROR(write_outputs(d / "reference", reference[i]));
  }
  return w;
}

Status DumpWriter::WriteStep(const analysis::SweepResult& r, const analysis::StepResult& step) {
  const std::string folder = step_folder(step.index, r.layers[static_cast<size_t>(step.layer)].name);
  for (size_t i = 0; i < step.outputs.size() && i < input_dirs_.size(); ++i)
    QS_RETURN_IF_ERROR(write_outputs(fs::path(input_dirs_[i]) / "steps" / folder, step.outputs[i]));
  return Status::Ok();
}

Status DumpWriter::WriteManifest(const analysis::SweepResult& r, const ReportMeta& meta) {
  auto j = to_json(r, meta);
  nlohmann::ordered_json folders = nlohmann::ordered_json::array();
  for (const auto& s : r.steps) folders.push_back(step_folder(s.index, r.layers[static_cast<size_t>(s.layer)].name));
  j["step_folders"] = folders;
  nlohmann::ordered_json outputs = nlohmann::ordered_json::object();
  if (!r.reference.empty())
    for (const auto& [name, t] : r.reference[0]) outputs[safe_name(name)] = {{"name", name}, {"shape", t.shape()}};
  j["outputs"] = outputs;
  return io::write_file_atomic((fs::path(dir_) / "manifest.json").string(), j.dump(2) + "\n");
}

Expected<Analyzed> analyze_dump(const std::string& dir, const AnalyzeOptions& options) {
  Analyzed a;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return IoError("cannot open dump folder '{}'", dir);
  // Inputs: DIR itself, or every subfolder that has a reference/.
  std::vector<fs::path> input_dirs;
  if (fs::is_directory(fs::path(dir) / "reference")) {
    input_dirs.push_back(dir);
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory() && fs::is_directory(e.path() / "reference")) input_dirs.push_back(e.path());
    std::sort(input_dirs.begin(), input_dirs.end());
  }
  if (input_dirs.empty()) return InvalidInput("dump folder '{}' has no reference/ folder (see the dump layout)", dir);

  nlohmann::json manifest;
  const fs::path mpath = fs::path(dir) / "manifest.json";
  if (fs::exists(mpath)) {
    std::ifstream f(mpath);
    try {
      manifest = nlohmann::json::parse(f);
      a.from_manifest = true;
    } catch (const nlohmann::json::exception& e) {
      return InvalidInput("cannot read '{}': not valid JSON", mpath.string());
    }
  }
  analysis::SweepResult& r = a.result;
  r.metric = options.metric.value_or(analysis::Metric::kCosine);
  if (!options.metric && a.from_manifest && manifest.contains("metric"))
    if (auto m = analysis::parse_metric(manifest["metric"].get<std::string>())) r.metric = *m;
  if (a.from_manifest) {
    if (auto m = analysis::parse_sweep_mode(manifest.value("mode", "prefix"))) r.mode = *m;
    a.meta.model = manifest.value("model", "");
    a.meta.inputs = manifest.value("inputs", std::vector<std::string>{});
  } else {
    for (const auto& d : input_dirs) a.meta.inputs.push_back(d.filename().string());
    a.meta.model = dir;
  }
  // Step folders, in index order, from the first input.
  const std::regex step_re("^([0-9]+)_(.*)$");
  std::vector<std::pair<int, std::string>> folders;
  for (const auto& e : fs::directory_iterator(input_dirs[0] / "steps", ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (e.is_directory() && std::regex_match(name, m, step_re)) folders.emplace_back(std::stoi(m[1]), name);
  }
  if (ec) return IoError("cannot list '{}': {}", (input_dirs[0] / "steps").string(), ec.message());
  std::sort(folders.begin(), folders.end());

  std::vector<std::map<std::string, Tensor>> refs;
  for (const auto& d : input_dirs) {
    QS_ASSIGN_OR_RETURN(auto ref, read_outputs(d / "reference"));
    refs.push_back(std::move(ref));
  }
  const auto& mlayers = a.from_manifest && manifest.contains("steps") ? manifest["steps"] : nlohmann::json::array();
  analysis::Flagger flagger(r.metric, options.threshold, options.auto_rule);
  for (size_t k = 0; k < folders.size(); ++k) {
    const auto& [index, folder] = folders[k];
    analysis::SweepLayer layer{folder.substr(folder.find('_') + 1), "-", {}, true};
    analysis::StepResult s;
    s.index = index;
    s.layer = static_cast<int>(r.layers.size());
    s.precision = Precision::kInt8;
    if (k < mlayers.size()) {
      layer.name = mlayers[k].value("layer", layer.name);
      layer.op = mlayers[k].value("op", "-");
      layer.shape = mlayers[k].value("shape", Shape{});
      if (auto p = parse_precision(mlayers[k].value("precision", "int8"))) s.precision = *p;
      s.reason = mlayers[k].value("reason", "");
    }
    double sum = 0, loss_sum = 0;
    for (size_t i = 0; i < input_dirs.size(); ++i) {
      QS_ASSIGN_OR_RETURN(auto out, read_outputs(input_dirs[i] / "steps" / folder));
      double worst_v = 0, worst_l = -1;
      for (const auto& [name, ref] : refs[i]) {
        auto it = out.find(name);
        if (it == out.end()) return InvalidInput("step folder '{}' lacks output '{}.npy'", folder, name);
        if (it->second.numel() != ref.numel())
          return InvalidInput("step folder '{}': output '{}' has shape {}, the reference {}", folder, name,
                              shape_str(it->second.shape()), shape_str(ref.shape()));
        if (layer.shape.empty()) layer.shape = it->second.shape();
        double scale = 0;
        for (int64_t q = 0; q < ref.numel(); ++q) {
          const double v = ref.GetAsDouble(q);
          scale = r.metric == analysis::Metric::kMaxAbs ? std::max(scale, std::fabs(v)) : scale + v * v / ref.numel();
        }
        const double v = analysis::compute(r.metric, ref, it->second);
        const double l = analysis::loss_percent(r.metric, v, scale);
        if (std::isnan(l) || l > worst_l) {
          worst_v = v;
          worst_l = l;
        }
        if (std::isnan(l)) break;
      }
      s.values.push_back(worst_v);
      sum += worst_v;
      loss_sum += worst_l;
    }
    s.mean = sum / static_cast<double>(s.values.size());
    s.min = s.values[0];
    for (double v : s.values)
      if (std::isnan(v) || (analysis::higher_is_better(r.metric) ? v < s.min : v > s.min)) s.min = v;
    s.loss = loss_sum / static_cast<double>(s.values.size());
    s.flagged = r.mode == analysis::SweepMode::kIsolate ? flagger.StepIndependent(s.mean, s.loss)
                                                        : flagger.Step(s.mean, s.loss);
    r.layers.push_back(layer);
    r.steps.push_back(std::move(s));
  }
  if (a.from_manifest) {
    auto num = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : NAN; };
    r.fallback = manifest.value("fallback", std::vector<std::string>{});
    r.all_int8_mean = num(manifest.value("all_int8_similarity", nlohmann::json()));
    r.all_int8_min = num(manifest.value("all_int8_similarity_min", nlohmann::json()));
    r.final_mean = num(manifest.value("final_similarity", nlohmann::json()));
    r.final_min = num(manifest.value("final_similarity_min", nlohmann::json()));
    r.minimized_back = manifest.value("minimized_back_to_int8", std::vector<std::string>{});
    r.plan.default_precision = Precision::kInt8;
    if (manifest.contains("plan") && manifest["plan"].contains("layers"))
      for (const auto& [name, p] : manifest["plan"]["layers"].items())
        if (auto pp = parse_precision(p.get<std::string>())) r.plan.layers[name] = *pp;
  } else {
    r.all_int8_mean = r.steps.empty() ? NAN : r.steps.back().mean;
    r.all_int8_min = r.steps.empty() ? NAN : r.steps.back().min;
    r.final_mean = r.final_min = NAN;
    for (const auto& s : r.steps)
      if (s.flagged) r.fallback.push_back(r.layers[static_cast<size_t>(s.layer)].name);
    r.plan.default_precision = Precision::kInt8;
    for (const auto& f : r.fallback) r.plan.layers[f] = Precision::kFp32;
  }
  return a;
}

}  // namespace qs::report
