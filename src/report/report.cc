#include "report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

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

namespace {

// Long op names as the table abbreviates them.
std::string short_op(const std::string& op, size_t w) {
  static const std::pair<const char*, const char*> kShort[] = {
      {"BatchNormalization", "BatchNorm"}, {"InstanceNormalization", "InstanceNorm"},
      {"LayerNormalization", "LayerNorm"}, {"GroupNormalization", "GroupNorm"},
      {"GlobalAveragePool", "GlobalAvgPool"}, {"GlobalAveragePool", "GAvgPool"}, {"QuantizeLinear", "Quantize"},
      {"DequantizeLinear", "Dequantize"}, {"ConvTranspose", "ConvTransp"}};
  if (op.size() <= w) return op;
  for (const auto& [from, to] : kShort)
    if (op == from && std::string_view(to).size() <= w) return to;
  return shorten_middle(op, w);
}

std::string cut_end(const std::string& s, size_t w) {
  if (s.size() <= w) return s;
  return w < 4 ? s.substr(0, w) : s.substr(0, w - 3) + "...";
}

// Joins items with ", " into lines of at most `width` columns, each starting with `indent`.
std::string wrap_list(const std::vector<std::string>& items, const std::string& indent, int width) {
  std::string out, line = indent;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string item = items[i] + (i + 1 < items.size() ? "," : "");
    if (line.size() > indent.size() && width > 0 && line.size() + 1 + item.size() > static_cast<size_t>(width)) {
      out += line + "\n";
      line = indent;
    }
    line += (line.size() > indent.size() ? " " : "") + item;
  }
  return out + line + "\n";
}

// Words of `text` in lines of at most `width` columns (0: one line), each after `indent`.
std::string wrap_words(const std::string& text, const std::string& indent, int width) {
  std::string out, line = indent;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (line.size() > indent.size() && width > 0 && line.size() + 1 + word.size() > static_cast<size_t>(width)) {
      out += line + "\n";
      line = indent;
    }
    line += (line.size() > indent.size() ? " " : "") + word;
  }
  return out + line + "\n";
}

std::string fmt_percent(double v) { return std::isnan(v) ? std::string("n/a") : fmt::format("{:.4f}", v); }

}  // namespace

std::string format_table(const analysis::SweepResult& r, const ReportMeta& meta, const TableOptions& o) {
  const bool several = meta.inputs.size() > 1;
  const auto paint = [&](const char* code, const std::string& s) {
    return o.color ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
  };
  // Natural widths.
  size_t idx_w = 3, name_nat = 9, shape_w = 10, op_nat = 2, prec_w = 4, value_w = 7, change_w = 6, flag_w = 4;
  const size_t header_w = metric_header(r.metric).size();
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    const auto& l = r.layers[static_cast<size_t>(s.layer)];
    idx_w = std::max(idx_w, std::to_string(s.index).size());
    name_nat = std::max(name_nat, std::min(l.name.size(), static_cast<size_t>(std::max(9, o.max_name))));
    shape_w = std::max(shape_w, std::min<size_t>(shape_str(l.shape).size(), 16));
    op_nat = std::max(op_nat, l.op.size());
    prec_w = std::max(prec_w, precision_name(s.precision).size());
    value_w = std::max({value_w, format_value(r.metric, s.mean).size(), format_value(r.metric, s.min).size()});
    const double d = change(r, i);
    if (!std::isnan(d)) change_w = std::max(change_w, fmt::format("{:+.4f}", d).size());
    if (s.flagged) flag_w = std::max<size_t>(flag_w, 10);
  }
  const size_t sim_w = std::max(header_w, value_w);
  const size_t op_w = std::min<size_t>(std::max<size_t>(op_nat, 2), 13);
  bool show_worst = several, show_op = true;
  size_t name_w = name_nat;
  std::vector<std::string> dropped;
  if (o.width > 0) {
    auto fixed = [&] {
      return idx_w + 1 + (1 + shape_w) + (show_op ? 1 + op_w : 0) + (1 + prec_w) + (1 + sim_w) +
             (show_worst ? 1 + std::max<size_t>(value_w, 5) : 0) + (1 + change_w) + (1 + flag_w);
    };
    const size_t want = std::min<size_t>(name_nat, 12);
    auto avail = [&] { return fixed() < static_cast<size_t>(o.width) ? static_cast<size_t>(o.width) - fixed() : 0; };
    if (avail() < want && show_worst) show_worst = false, dropped.push_back("Worst");
    if (avail() < want && show_op) show_op = false, dropped.push_back("Op");
    name_w = std::max<size_t>(9, std::min(name_nat, avail()));
  }
  const size_t worst_w = std::max<size_t>(value_w, 5);

  std::string out = fmt::format("{:>{}} {:>{}}|{:<{}}|", "#", idx_w, "LayerName", name_w, "LayerShape", shape_w);
  if (show_op) out += fmt::format("{:<{}}|", "Op", op_w);
  out += fmt::format("{:<{}}|{:>{}}|", "Prec", prec_w, metric_header(r.metric), sim_w);
  if (show_worst) out += fmt::format("{:>{}}|", "Worst", worst_w);
  out += fmt::format("{:>{}}|Flag\n", "Change", change_w);
  std::vector<std::string> notes;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    const auto& l = r.layers[static_cast<size_t>(s.layer)];
    const double d = change(r, i);
    std::string row = fmt::format("{:>{}} {:>{}}|{:<{}}|", s.index, idx_w, shorten_middle(l.name, name_w), name_w,
                                  shorten_middle(shape_str(l.shape), shape_w), shape_w);
    if (show_op) row += fmt::format("{:<{}}|", short_op(l.op, op_w), op_w);
    const std::string value = fmt::format("{:>{}}", format_value(r.metric, s.mean), sim_w);
    row += fmt::format("{:<{}}|{}|", precision_name(s.precision), prec_w,
                       std::isfinite(s.mean) ? value : paint("31;1", value));
    if (show_worst) row += fmt::format("{:>{}}|", format_value(r.metric, s.min), worst_w);
    row += fmt::format("{:>{}}|", std::isnan(d) ? std::string("") : fmt::format("{:+.4f}", d), change_w);
    if (s.flagged) {
      row += paint("31;1", "<< FLAGGED");
    } else if (!s.reason.empty()) {
      // A note that does not fit goes under the table, numbered (the same note once).
      const std::string note = "(" + s.reason + ")";
      if (o.width <= 0 || row.size() + note.size() <= static_cast<size_t>(o.width)) {
        row += paint("2", note);
      } else {
        auto it = std::find(notes.begin(), notes.end(), s.reason);
        if (it == notes.end()) it = notes.insert(notes.end(), s.reason);
        row += paint("2", fmt::format("[{}]", it - notes.begin() + 1));
      }
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    out += row + "\n";
  }
  for (size_t k = 0; k < notes.size(); ++k) {
    const std::string mark = fmt::format("[{}] ", k + 1);
    const size_t room = static_cast<size_t>(std::max<int>(o.width - static_cast<int>(mark.size()), 20));
    out += paint("2", mark + (o.width > 0 ? cut_end(notes[k], room) : notes[k])) + "\n";
  }
  out += "\n";
  out += fmt::format("all layers INT8: {}{}\n", format_value(r.metric, r.all_int8_mean),
                     several ? " (worst input " + format_value(r.metric, r.all_int8_min) + ")" : "");
  const std::string final_value = format_value(r.metric, r.final_mean) +
                                  (several ? " (worst input " + format_value(r.metric, r.final_min) + ")" : "");
  if (r.fallback.empty()) {
    out += fmt::format("final plan: {} (no layer in higher precision)\n", final_value);
  } else {
    out += fmt::format("final plan: {}, {} layer{} in higher precision:\n", paint("32;1", final_value),
                       r.fallback.size(), r.fallback.size() == 1 ? "" : "s");
    std::vector<std::string> items;
    for (const auto& f : r.fallback) items.push_back(f + " (" + std::string(precision_name(r.plan.of(f))) + ")");
    out += wrap_list(items, "  ", o.width);
  }
  if (!r.minimized_back.empty()) {
    out += "returned to INT8 by --minimize:\n";
    out += wrap_list(r.minimized_back, "  ", o.width);
  }
  if (!dropped.empty()) {
    std::string cols;
    for (const auto& c : dropped) cols += (cols.empty() ? "" : " and ") + c;
    out += fmt::format("({} column{} left out to fit {} columns: see --report, --csv or --html)\n", cols,
                       dropped.size() == 1 ? "" : "s", o.width);
  }
  return out;
}

std::string format_diagnosis(const std::vector<analysis::LayerDiagnosis>& diagnoses, const TableOptions& o) {
  if (diagnoses.empty()) return "";
  std::string out = "why (each flagged layer's output with one part of its step in INT8, cosine %):\n";
  for (const auto& d : diagnoses) {
    out += wrap_words(d.layer + ": " + (d.verdict.empty() ? "nothing it reads in INT8 has a range" : d.verdict), "  ",
                      o.width);
    for (const auto& in : d.inputs) {
      const std::string from = in.producer.empty() ? " (a model input)" : " (from " + in.producer + ")";
      std::string channels;
      if (in.top_channel >= 0)
        channels = fmt::format(", channel max |x| {:.4g} (channel {}) against a median {:.4g}", in.top_channel_max,
                               in.top_channel, in.median_channel_max);
      out += wrap_words(fmt::format("input {}{}: {} | range {:.4g}, max |x| {:.4g}, 99.9% of |x| <= {:.4g}{}{}", in.tensor,
                                    from, fmt_percent(in.similarity), in.range, in.max_abs, in.p999, channels,
                                    in.clipped > 0 ? fmt::format(", {:.3f}% clipped", 100 * in.clipped) : ""),
                        "      ", o.width);
    }
    if (!std::isnan(d.weight_similarity))
      out += wrap_words("weights (per output channel): " + fmt_percent(d.weight_similarity) +
                            (d.weight_spread_channel >= 0
                                 ? fmt::format(" | largest |w| / median |w| up to {:.3g} (output channel {})",
                                               d.weight_spread, d.weight_spread_channel)
                                 : ""),
                        "      ", o.width);
  }
  return out;
}

nlohmann::ordered_json diagnosis_to_json(const std::vector<analysis::LayerDiagnosis>& diagnoses) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); };
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& d : diagnoses) {
    nlohmann::ordered_json j;
    j["layer"] = d.layer;
    j["inputs"] = nlohmann::ordered_json::array();
    for (const auto& in : d.inputs)
      j["inputs"].push_back({{"tensor", in.tensor},
                             {"producer", in.producer},
                             {"layer_similarity_alone", num(in.similarity)},
                             {"range", num(in.range)},
                             {"max_abs", num(in.max_abs)},
                             {"p99_9_abs", num(in.p999)},
                             {"clipped_fraction", num(in.clipped)},
                             {"top_channel", in.top_channel},
                             {"top_channel_max_abs", num(in.top_channel_max)},
                             {"median_channel_max_abs", num(in.median_channel_max)}});
    j["weights_layer_similarity_alone"] = num(d.weight_similarity);
    j["weights_spread_channel"] = d.weight_spread_channel;
    j["weights_spread"] = num(d.weight_spread);
    j["verdict"] = d.verdict;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::ordered_json step_to_json(const analysis::SweepResult& r, size_t i) {
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
  return st;
}

nlohmann::ordered_json to_json(const analysis::SweepResult& r, const ReportMeta& meta, const ReportExtra* extra) {
  nlohmann::ordered_json j;
  j["model"] = meta.model;
  j["metric"] = std::string(analysis::metric_name(r.metric));
  j["mode"] = std::string(analysis::sweep_mode_name(r.mode));
  j["inputs"] = meta.inputs;
  if (!meta.calib.empty()) j["calib"] = meta.calib;
  j["steps"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.steps.size(); ++i) j["steps"].push_back(step_to_json(r, i));
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
  j["export"] = {{"trtexec", trtexec_flags(r.plan)}, {"exclude_list", exclude_list(r.fallback)}};
  if (extra && !extra->histograms.empty()) j["histograms"] = extra->histograms;
  // Isolate mode: each step is its layer's isolated sensitivity.
  std::map<int, double> isolated;
  if (r.mode == analysis::SweepMode::kIsolate)
    for (const auto& s : r.steps) isolated[s.layer] = s.mean;
  j["layers"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    nlohmann::ordered_json lj = {{"name", l.name}, {"op", l.op}, {"shape", l.shape}, {"int8_capable", l.int8_capable}};
    if (auto it = isolated.find(static_cast<int>(i)); it != isolated.end()) lj["isolated_similarity"] = number(it->second);
    if (extra && i < extra->layers.size()) {
      const auto& d = extra->layers[i];
      lj["final_precision"] = std::string(precision_name(d.final_precision));
      if (!d.final_reason.empty()) lj["final_reason"] = d.final_reason;
      lj["group"] = d.group >= 0 ? nlohmann::ordered_json(d.group) : nlohmann::ordered_json(nullptr);
      if (d.group >= 0) lj["group_ops"] = d.group_ops;
      lj["tensor"] = d.tensor;
      lj["range"] = number(d.range);
      if (!d.hist.empty())
        lj["histogram"] = {{"edge", d.hist_edge}, {"max", number(d.calib_max)}, {"counts", d.hist}};
    }
    j["layers"].push_back(lj);
  }
  j["runs"] = r.runs;
  j["seconds"] = r.seconds;
  j["reuse"] = {{"hits", r.cache.hits}, {"misses", r.cache.misses}, {"peak_bytes", r.cache.peak_bytes}};
  return j;
}

std::string to_csv(const analysis::SweepResult& r, const ReportExtra* extra) {
  const bool ex = extra && extra->layers.size() == r.layers.size();
  std::string out = "index,layer,op,shape,precision,similarity,similarity_min,change,flagged,reason";
  out += ex ? ",final_precision,group,range\n" : "\n";
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    const auto& l = r.layers[static_cast<size_t>(s.layer)];
    const double d = change(r, i);
    out += fmt::format("{},{},{},{},{},{},{},{},{},{}", s.index, quote(l.name), quote(l.op), quote(shape_str(l.shape)),
                       precision_name(s.precision), format_value(r.metric, s.mean), format_value(r.metric, s.min),
                       std::isnan(d) ? "" : fmt::format("{:.6f}", d), s.flagged ? 1 : 0, quote(s.reason));
    if (ex) {
      const auto& x = extra->layers[static_cast<size_t>(s.layer)];
      out += fmt::format(",{},{},{}", precision_name(x.final_precision), x.group >= 0 ? std::to_string(x.group) : "",
                         std::isfinite(x.range) ? fmt::format("{:.6g}", x.range) : "");
    }
    out += "\n";
  }
  return out;
}

// Quotes an argument for a POSIX shell when it needs it.
std::string shell_quote(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("-_=.,:/+@%").find(c) == std::string_view::npos)
      plain = false;
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string trtexec_flags(const std::vector<std::pair<std::string, Precision>>& not_int8) {
  std::string layers;
  bool fp16 = false;
  for (const auto& [name, p] : not_int8) {
    layers += (layers.empty() ? "" : ",") + name + ":" + std::string(precision_name(p));
    fp16 = fp16 || p == Precision::kFp16;
  }
  std::string flags = "--int8";
  if (fp16) flags += " --fp16";
  if (!layers.empty()) flags += " --precisionConstraints=obey " + shell_quote("--layerPrecisions=" + layers);
  return flags;
}

std::string trtexec_flags(const passes::PrecisionPlan& plan) {
  std::vector<std::pair<std::string, Precision>> not_int8;
  for (const auto& [name, p] : plan.layers)
    if (p != Precision::kInt8) not_int8.emplace_back(name, p);
  return trtexec_flags(not_int8);
}

std::string exclude_list(const std::vector<std::string>& layers) { return nlohmann::json(layers).dump(); }

double downsample_histogram(const std::vector<uint64_t>& counts, double edge, int max_bins, std::vector<uint64_t>* out) {
  out->clear();
  size_t last = counts.size();
  while (last > 0 && counts[last - 1] == 0) --last;
  if (last == 0 || max_bins <= 0 || !(edge > 0)) return 0;
  const size_t group = (last + static_cast<size_t>(max_bins) - 1) / static_cast<size_t>(max_bins);
  const size_t n = (last + group - 1) / group;
  out->assign(n, 0);
  for (size_t b = 0; b < last; ++b) (*out)[b / group] += counts[b];
  return edge * static_cast<double>(n * group) / static_cast<double>(counts.size());
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
