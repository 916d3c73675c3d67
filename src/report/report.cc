#include "report/report.h"

#include <fmt/format.h>

#include <cmath>

namespace qs::report {

using analysis::Metric;

std::string safe_name(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return s;
}

std::string shorten_middle(const std::string& s, size_t width) {
  if (s.size() <= width || width < 5) return s;
  const size_t keep = width - 3;
  return s.substr(0, keep - keep / 2) + "..." + s.substr(s.size() - keep / 2);
}

std::string format_value(Metric m, double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  switch (m) {
    case Metric::kCosine:
    case Metric::kTop1: return fmt::format("{:.4f}", v);
    case Metric::kSnr: return fmt::format("{:.2f}", v);
    default: return fmt::format("{:.4g}", v);
  }
}

namespace {

std::string metric_header(Metric m) {
  switch (m) {
    case Metric::kCosine: return "Similarity%";
    case Metric::kTop1: return "Top1Agree%";
    case Metric::kSnr: return "SNR(dB)";
    case Metric::kMse: return "MSE";
    case Metric::kMaxAbs: return "MaxAbsErr";
  }
  return "Value";
}

std::string precision_cell(const analysis::SweepResult& r, const analysis::StepResult& s) {
  std::string p(precision_name(s.precision));
  if (s.flagged && std::find(r.fallback.begin(), r.fallback.end(), r.layers[s.layer].name) != r.fallback.end())
    p += "->" + std::string(precision_name(r.plan.of(r.layers[s.layer].name)));
  return p;
}

// The change from the configuration the step built on: the step before, or, after a step
// whose layer fell back, the last step that kept its layer in INT8 (100% before any).
double change(const analysis::SweepResult& r, size_t i) {
  if (r.mode != analysis::SweepMode::kPrefix) return NAN;
  for (size_t k = i; k-- > 0;) {
    const auto& prev = r.steps[k];
    const bool fell_back = prev.flagged && std::find(r.fallback.begin(), r.fallback.end(),
                                                     r.layers[static_cast<size_t>(prev.layer)].name) != r.fallback.end();
    if (!fell_back) return r.steps[i].mean - prev.mean;
  }
  return i == 0 ? NAN : r.steps[i].mean - (analysis::higher_is_better(r.metric) ? 100.0 : 0.0);
}

nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

}  // namespace

std::string format_table(const analysis::SweepResult& r, const ReportMeta& meta, const TableOptions& o) {
  const bool several = meta.inputs.size() > 1;
  const auto red = [&](const std::string& s) { return o.color ? "\x1b[31;1m" + s + "\x1b[0m" : s; };
  size_t name_w = 9;
  for (const auto& l : r.layers) name_w = std::max(name_w, std::min(l.name.size(), static_cast<size_t>(o.max_name)));
  std::string out;
  out += fmt::format("{:>4} {:>{}}| {:<18}| {:<18}| {:<12}| {:>12}|", "#", "LayerName", name_w, "LayerShape", "Op",
                     "Precision", metric_header(r.metric));
  if (several) out += fmt::format(" {:>10}|", "Worst");
  out += fmt::format(" {:>9}| {}\n", "Change", "Flag");
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    const auto& l = r.layers[static_cast<size_t>(s.layer)];
    const double d = change(r, i);
    std::string row = fmt::format("{:>4} {:>{}}| {:<18}| {:<18}| {:<12}| {:>12}|", s.index, shorten_middle(l.name, name_w),
                                  name_w, shape_str(l.shape), shorten_middle(l.op, 18), precision_cell(r, s),
                                  format_value(r.metric, s.mean));
    if (several) row += fmt::format(" {:>10}|", format_value(r.metric, s.min));
    row += fmt::format(" {:>9}| ", std::isnan(d) ? std::string("") : fmt::format("{:+.4f}", d));
    if (s.flagged) row += red("<< FLAGGED");
    else if (!s.reason.empty()) row += "(" + s.reason + ")";
    out += row + "\n";
  }
  out += "\n";
  out += fmt::format("all layers INT8: {}{}\n", format_value(r.metric, r.all_int8_mean),
                     several ? " (worst input " + format_value(r.metric, r.all_int8_min) + ")" : "");
  std::string fb;
  for (const auto& f : r.fallback) fb += (fb.empty() ? "" : ", ") + f;
  out += fmt::format("final plan ({} layer{} in higher precision{}{}): {}{}\n", r.fallback.size(),
                     r.fallback.size() == 1 ? "" : "s", fb.empty() ? "" : ": ", fb, format_value(r.metric, r.final_mean),
                     several ? " (worst input " + format_value(r.metric, r.final_min) + ")" : "");
  if (!r.minimized_back.empty()) {
    std::string back;
    for (const auto& f : r.minimized_back) back += (back.empty() ? "" : ", ") + f;
    out += "returned to INT8 by --minimize: " + back + "\n";
  }
  return out;
}

nlohmann::ordered_json to_json(const analysis::SweepResult& r, const ReportMeta& meta) {
  nlohmann::ordered_json j;
  j["model"] = meta.model;
  j["metric"] = std::string(analysis::metric_name(r.metric));
  j["mode"] = std::string(analysis::sweep_mode_name(r.mode));
  j["inputs"] = meta.inputs;
  if (!meta.calib.empty()) j["calib"] = meta.calib;
  j["steps"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    const auto& l = r.layers[static_cast<size_t>(s.layer)];
    nlohmann::ordered_json st;
    st["index"] = s.index;
    st["layer"] = l.name;
    st["op"] = l.op;
    st["shape"] = l.shape;
    st["similarity"] = number(s.mean);
    st["similarity_min"] = number(s.min);
    st["values"] = nlohmann::ordered_json::array();
    for (double v : s.values) st["values"].push_back(number(v));
    st["change"] = number(change(r, i));
    st["loss"] = number(s.loss);
    st["flagged"] = s.flagged;
    st["precision"] = std::string(precision_name(s.precision));
    if (!s.reason.empty()) st["reason"] = s.reason;
    st["computed"] = s.computed;
    j["steps"].push_back(st);
  }
  j["fallback"] = r.fallback;
  j["all_int8_similarity"] = number(r.all_int8_mean);
  j["all_int8_similarity_min"] = number(r.all_int8_min);
  j["final_similarity"] = number(r.final_mean);
  j["final_similarity_min"] = number(r.final_min);
  if (!r.minimized_back.empty()) j["minimized_back_to_int8"] = r.minimized_back;
  nlohmann::ordered_json plan;
  plan["default"] = std::string(precision_name(r.plan.default_precision));
  plan["layers"] = nlohmann::ordered_json::object();
  for (const auto& [name, p] : r.plan.layers) plan["layers"][name] = std::string(precision_name(p));
  j["plan"] = plan;
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : r.layers)
    j["layers"].push_back({{"name", l.name}, {"op", l.op}, {"shape", l.shape}, {"int8_capable", l.int8_capable}});
  j["runs"] = r.runs;
  j["seconds"] = r.seconds;
  j["reuse"] = {{"hits", r.cache.hits}, {"misses", r.cache.misses}, {"peak_bytes", r.cache.peak_bytes}};
  return j;
}

std::string to_csv(const analysis::SweepResult& r) {
  std::string out = "index,layer,op,shape,precision,similarity,similarity_min,change,flagged,reason\n";
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    const auto& l = r.layers[static_cast<size_t>(s.layer)];
    const double d = change(r, i);
    out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", s.index, quote(l.name), quote(l.op), quote(shape_str(l.shape)),
                       precision_name(s.precision), format_value(r.metric, s.mean), format_value(r.metric, s.min),
                       std::isnan(d) ? "" : fmt::format("{:.6f}", d), s.flagged ? 1 : 0, quote(s.reason));
  }
  return out;
}

Expected<std::vector<analysis::StepResult>> steps_from_json(const nlohmann::json& j) {
  std::vector<analysis::StepResult> steps;
  if (!j.contains("steps") || !j["steps"].is_array()) return InvalidInput("no \"steps\" array");
  try {
    for (const auto& st : j["steps"]) {
      analysis::StepResult s;
      s.index = st.at("index").get<int>();
      s.layer = s.index;
      auto num = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : NAN; };
      s.mean = num(st.at("similarity"));
      s.min = num(st.at("similarity_min"));
      s.loss = num(st.at("loss"));
      for (const auto& v : st.at("values")) s.values.push_back(num(v));
      s.flagged = st.at("flagged").get<bool>();
      s.computed = st.value("computed", true);
      auto p = parse_precision(st.at("precision").get<std::string>());
      if (!p) return InvalidInput("step {}: unknown precision", s.index);
      s.precision = *p;
      s.reason = st.value("reason", "");
      steps.push_back(std::move(s));
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput("malformed step: {}", e.what());
  }
  return steps;
}

}  // namespace qs::report
