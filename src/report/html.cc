#include "report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "passes/precision_plan.h"
#include "report/chart.h"
#include "report/report.h"

namespace qs::report {

using Json = nlohmann::ordered_json;

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double num(const Json& j, const char* key) {
  if (!j.is_object()) return kNaN;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : kNaN;
}
std::string str(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
std::string shape_text(const Json& shape) {
  if (!shape.is_array()) return "";
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + (shape[i].is_number() ? shape[i].dump() : "?");
  return s + "]";
}
std::string esc(const std::string& s) { return html_escape(s); }
std::string px(double v) { return fmt::format("{:.1f}", v); }

struct Step {
  int index = 0;
  std::string layer, op, shape, precision, reason;
  double value = kNaN, worst = kNaN, change = kNaN;
  bool flagged = false;
  size_t layer_pos = 0;  // position of its layer in the network
};

struct Layer {
  const Json* j = nullptr;
};

const char* kStyle = R"CSS(
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--panel:#f6f8fa;--accent:#0969da;--bad:#cf222e;--ok:#1a7f37;--warn:#bc4c00}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.meta{color:var(--muted);font-size:13px}
.meta b{color:var(--fg);font-weight:600}
.mono,code,pre,td.n{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0 4px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.card.bad .v{color:var(--bad)}.card.ok .v{color:var(--ok)}.card.warn .v{color:var(--warn)}
.chartbox{border:1px solid var(--line);border-radius:8px;padding:8px;background:#fff}
svg#chart{width:100%;height:auto;display:block}
#chart text{font-size:12px;fill:var(--muted)}
#chart .grid{stroke:#eaeef2;stroke-width:1}
#chart .axis{stroke:#8c959f;stroke-width:1}
#chart .curve{fill:none;stroke:var(--accent);stroke-width:1.8}
#chart .worst{fill:none;stroke:var(--accent);stroke-width:1;stroke-dasharray:3 3;opacity:.55}
#chart .pt{fill:var(--accent);stroke:#fff;stroke-width:.8}
#chart .pt.float{fill:#fff;stroke:#8c959f;stroke-width:1.2}
#chart .pt.flag{fill:var(--bad);stroke:#fff;stroke-width:1.5}
#chart .pt.nan{fill:#fff;stroke:var(--bad);stroke-width:2}
#chart .flagline{stroke:var(--bad);stroke-width:1;stroke-dasharray:4 3;opacity:.6}
#chart text.flaglabel{fill:var(--bad);font-weight:600}
#chart line.ref-int8{stroke:var(--warn);stroke-width:1.4;stroke-dasharray:7 4}
#chart line.ref-final{stroke:var(--ok);stroke-width:1.4;stroke-dasharray:7 4}
#chart text.ref-int8{fill:var(--warn);font-weight:600}#chart text.ref-final{fill:var(--ok);font-weight:600}
#chart text.nanlabel{fill:var(--bad)}
#chart a:hover .pt{stroke:var(--fg);stroke-width:2}
.legend{display:flex;flex-wrap:wrap;gap:18px;color:var(--muted);font-size:12px;margin:6px 4px 0}
.legend i{display:inline-block;width:18px;height:0;border-top:2px solid;vertical-align:middle;margin-right:6px}
.legend .dot{width:9px;height:9px;border:0;border-radius:50%;vertical-align:middle}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:4px 0 12px}
.plan{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:8px 28px}
.plan h3{font-size:14px;margin:6px 0 2px}
.note{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:left;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.name{max-width:320px;overflow:hidden;text-overflow:ellipsis}
td.note{white-space:normal;min-width:12em}
thead th{position:sticky;top:0;background:var(--panel);border-bottom:1px solid var(--line);cursor:pointer;user-select:none}
thead th:hover{color:var(--accent)}
thead th[aria-sort=ascending]::after{content:" \25B2";font-size:10px}
thead th[aria-sort=descending]::after{content:" \25BC";font-size:10px}
tbody tr:hover{background:#f6f8fa}
tbody tr.flag{background:#ffebe9}
tbody tr:target{outline:2px solid var(--accent)}
.tag{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;background:#eaeef2}
.tag.int8{background:#ddf4ff;color:#0550ae}.tag.fp32{background:#fff1e5;color:#953800}.tag.fp16{background:#fbefff;color:#8250df}
.flagmark{color:var(--bad);font-weight:600}
.bad{color:var(--bad)}
svg.hist{display:block}
svg.hist rect{fill:#8c959f}
svg.hist line{stroke:var(--ok);stroke-width:1.5}
svg.hist line.clip{stroke:var(--bad)}
footer{margin-top:28px;color:var(--muted);font-size:12px}
)CSS";

// Sorting (click a header; "#sort=<column>" or "#sort=<column>-desc" in the address sorts on
// load) and the counts line, which states what was rendered.
const char* kScript = R"JS(
(function () {
  var table = document.getElementById('steps');
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  function key(row, c) {
    var td = row.cells[c], k = td.getAttribute('data-k');
    return k === null ? td.textContent : k;
  }
  function sortBy(c, desc) {
    var numeric = heads[c].classList.contains('n');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, c), y = key(b, c);
      if (numeric) {
        var fx = x === '' ? NaN : Number(x), fy = y === '' ? NaN : Number(y);
        if (isNaN(fx) || isNaN(fy)) return (isNaN(fx) ? 1 : 0) - (isNaN(fy) ? 1 : 0);
        if (fx !== fy) return desc ? fy - fx : fx - fy;
      } else if (x !== y) {
        return desc ? y.localeCompare(x) : x.localeCompare(y);
      }
      return Number(a.getAttribute('data-i')) - Number(b.getAttribute('data-i'));
    });
    rows.forEach(function (r) { body.appendChild(r); });
    for (var i = 0; i < heads.length; i++) heads[i].removeAttribute('aria-sort');
    heads[c].setAttribute('aria-sort', desc ? 'descending' : 'ascending');
  }
  Array.prototype.forEach.call(heads, function (h, c) {
    h.title = 'Sort by ' + h.textContent;
    h.addEventListener('click', function () { sortBy(c, h.getAttribute('aria-sort') === 'ascending'); });
  });
  var m = /sort=([a-z_]+)(-desc)?/.exec(location.hash);
  if (m) Array.prototype.forEach.call(heads, function (h, c) {
    if (h.getAttribute('data-col') === m[1]) sortBy(c, !!m[2]);
  });
  var counts = document.getElementById('counts');
  var points = document.querySelectorAll('#chart .pt').length;
  var flagged = document.querySelectorAll('#chart .pt.flag').length;
  counts.setAttribute('data-rows', body.rows.length);
  counts.setAttribute('data-points', points);
  counts.setAttribute('data-flagged', flagged);
  counts.setAttribute('data-first', body.rows.length ? body.rows[0].getAttribute('data-i') : '');
  counts.textContent = 'Rendered: ' + points + ' chart points, ' + body.rows.length + ' table rows, ' +
      flagged + ' flagged.';
})();
)JS";

std::string histogram_svg(const Json& layer) {
  const Json* h = layer.is_object() && layer.contains("histogram") ? &layer["histogram"] : nullptr;
  if (!h || !h->is_object() || !h->contains("counts") || !(*h)["counts"].is_array() || (*h)["counts"].empty())
    return "";
  const auto& counts = (*h)["counts"];
  const double edge = num(*h, "edge"), mx = num(*h, "max"), range = num(layer, "range");
  const double w = 100, ht = 22;
  double top = 0;
  for (const auto& c : counts) top = std::max(top, std::log1p(c.is_number() ? c.get<double>() : 0));
  const double bw = w / static_cast<double>(counts.size());
  std::string s =
      fmt::format("<svg class=\"hist\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\">", w, ht, w, ht);
  s += fmt::format(
      "<title>{}</title>",
      esc(fmt::format("|x| of the calibration data, {} bins over [0, {:.4g}] (log counts); max |x| {:.4g}; "
                      "INT8 range {}",
                      counts.size(), edge, mx, std::isfinite(range) ? fmt::format("{:.4g}", range) : "none")));
  for (size_t b = 0; b < counts.size(); ++b) {
    const double c = counts[b].is_number() ? counts[b].get<double>() : 0;
    if (c <= 0) continue;
    const double bh = top > 0 ? std::max(1.0, std::log1p(c) / top * (ht - 2)) : 0;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", px(b * bw), px(ht - bh),
                     px(std::max(bw - 0.4, 0.6)), px(bh));
  }
  if (std::isfinite(range) && edge > 0) {
    const double x = std::min(w - 1, range / edge * w);
    const bool clips = std::isfinite(mx) && range < mx * (1 - 1e-6);
    s += fmt::format("<line{} x1=\"{}\" x2=\"{}\" y1=\"0\" y2=\"{}\"/>", clips ? " class=\"clip\"" : "", px(x), px(x),
                     ht);
  }
  return s + "</svg>";
}

std::string tag(const std::string& p) {
  return p.empty() ? "" : "<span class=\"tag " + esc(p) + "\">" + esc(p) + "</span>";
}

}  // namespace

Expected<std::string> render_html(const Json& j) {
  if (!j.is_object()) return InvalidInput("report is not a JSON object");
  if (!j.contains("steps") || !j["steps"].is_array()) return InvalidInput("report has no \"steps\" array");
  const auto metric = analysis::parse_metric(str(j, "metric").empty() ? "cosine" : str(j, "metric"));
  if (!metric) return InvalidInput("report has an unknown metric '{}'", str(j, "metric"));
  const bool higher_better = analysis::higher_is_better(*metric);
  const std::string model = str(j, "model"), mode = str(j, "mode").empty() ? "prefix" : str(j, "mode");
  const std::string metric_label = *metric == analysis::Metric::kCosine ? "Similarity%"
                                   : *metric == analysis::Metric::kTop1 ? "Top-1 agreement %"
                                   : *metric == analysis::Metric::kSnr  ? "SNR (dB)"
                                   : *metric == analysis::Metric::kMse  ? "MSE"
                                                                        : "Max abs error";
  auto fmtv = [&](double v) { return format_value(*metric, v); };

  // Layers by name, in network order.
  std::map<std::string, size_t> layer_pos;
  std::vector<const Json*> layers;
  if (j.contains("layers") && j["layers"].is_array())
    for (const auto& l : j["layers"]) {
      layer_pos.emplace(str(l, "name"), layers.size());
      layers.push_back(&l);
    }
  std::vector<Step> steps;
  for (const auto& st : j["steps"]) {
    if (!st.is_object() || !st.contains("layer")) return InvalidInput("report step {} has no \"layer\"", steps.size());
    Step s;
    s.index = st.value("index", static_cast<int>(steps.size()));
    s.layer = str(st, "layer");
    s.op = str(st, "op");
    s.shape = shape_text(st.value("shape", Json()));
    s.precision = str(st, "precision");
    s.reason = str(st, "reason");
    s.value = num(st, "similarity");
    s.worst = num(st, "similarity_min");
    s.change = num(st, "change");
    s.flagged = st.value("flagged", false);
    auto it = layer_pos.find(s.layer);
    s.layer_pos = it != layer_pos.end() ? it->second : steps.size();
    steps.push_back(std::move(s));
  }
  const size_t n_pos = std::max(
      layers.size(), steps.empty() ? size_t{1} : [&] {
        size_t m = 0;
        for (const auto& s : steps) m = std::max(m, s.layer_pos + 1);
        return m;
      }());
  auto layer_of = [&](const Step& s) -> const Json& {
    static const Json kEmpty = Json::object();
    return s.layer_pos < layers.size() && str(*layers[s.layer_pos], "name") == s.layer ? *layers[s.layer_pos] : kEmpty;
  };
  const bool several = j.contains("inputs") && j["inputs"].is_array() && j["inputs"].size() > 1;
  const double all_int8 = num(j, "all_int8_similarity"), final_v = num(j, "final_similarity");
  std::vector<std::string> fallback;
  if (j.contains("fallback") && j["fallback"].is_array())
    for (const auto& f : j["fallback"])
      if (f.is_string()) fallback.push_back(f.get<std::string>());
  bool any_isolated = false, any_group = false, any_range = false, any_hist = false, any_final = false;
  for (const Json* l : layers) {
    any_isolated |= l->contains("isolated_similarity");
    any_group |= l->contains("group");
    any_range |= l->contains("range");
    any_hist |= l->contains("histogram");
    any_final |= l->contains("final_precision");
  }
  // The plan and its export forms (computed from the plan when an older report lacks them).
  std::string trtexec, excludes = exclude_list(fallback);
  Json plan_json = j.contains("plan") ? j["plan"] : Json::object();
  if (j.contains("export") && j["export"].is_object()) {
    trtexec = str(j["export"], "trtexec");
    if (!str(j["export"], "exclude_list").empty()) excludes = str(j["export"], "exclude_list");
  } else if (j.contains("plan")) {
    auto plan = passes::parse_plan_json(j["plan"].dump(), "report plan");
    if (plan.ok()) trtexec = trtexec_flags(*plan);
  }
  int flagged = 0;
  for (const auto& s : steps) flagged += s.flagged;

  std::string h;
  h.reserve(64 * 1024 + steps.size() * 1024);
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>qscope sweep: " + esc(model) + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";

  // Header and summary cards.
  h += "<header><h1>qscope sweep report</h1><div class=\"meta\">model <b class=\"mono\">" + esc(model) +
       "</b> &middot; mode <b>" + esc(mode) + "</b> &middot; metric <b>" + esc(metric_label) + "</b>";
  if (j.contains("inputs") && j["inputs"].is_array()) {
    std::string ins;
    for (const auto& i : j["inputs"])
      ins += (ins.empty() ? "" : ", ") + (i.is_string() ? i.get<std::string>() : i.dump());
    h += " &middot; inputs <b class=\"mono\">" + esc(ins) + "</b>";
  }
  if (!str(j, "calib").empty()) h += " &middot; calibration <b class=\"mono\">" + esc(str(j, "calib")) + "</b>";
  h += "</div></header>\n<section class=\"cards\">\n";
  auto card = [&](const std::string& cls, const std::string& k, const std::string& v) {
    h += "<div class=\"card " + cls + "\"><div class=\"k\">" + esc(k) + "</div><div class=\"v\">" + esc(v) +
         "</div></div>\n";
  };
  card("", "steps", std::to_string(steps.size()));
  card(flagged ? "bad" : "ok", "flagged", std::to_string(flagged));
  card("warn", "all layers INT8", fmtv(all_int8));
  card("ok", "final plan", fmtv(final_v));
  card("", "in higher precision",
       std::to_string(fallback.size()) + (layers.empty() ? "" : " of " + std::to_string(layers.size())));
  if (j.contains("runs") && j["runs"].is_number())
    card("", "runs", fmt::format("{} in {:.1f} s", j["runs"].get<int64_t>(), num(j, "seconds")));
  h += "</section>\n";

  // The chart.
  const double W = 1200, H = 430, L = 78, R = W - 150, T = 44, B = H - 56;
  std::vector<double> all_values;
  for (const auto& s : steps) {
    all_values.push_back(s.value);
    if (several) all_values.push_back(s.worst);
  }
  all_values.push_back(all_int8);
  all_values.push_back(final_v);
  const chart::YScale ys = chart::scale_for(*metric, all_values, T, B);
  auto xs = [&](size_t pos) { return chart::x_px(pos, n_pos, L + 8, R - 8); };
  h += "<h2>" + esc(metric_label) + " along the network</h2>\n<div class=\"chartbox\">\n";
  h += fmt::format("<svg id=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{} of each step\">\n", W, H,
                   esc(metric_label));
  for (const auto& t : ys.ticks()) {
    h += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", L, R, px(t.px), px(t.px));
    h += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", L - 6, px(t.px + 4), esc(t.label));
  }
  h += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", L, L, T, B);
  h += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\n", L, R, B, B);
  for (size_t i : chart::x_ticks(n_pos, 16)) {
    const double x = xs(i);
    h += fmt::format(
        "<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text x=\"{0}\" y=\"{3}\" "
        "text-anchor=\"middle\">{4}</text>\n",
        px(x), B, B + 5, B + 19, i);
  }
  const std::string y_title = ys.kind == chart::AxisKind::kLogLoss ? metric_label + " (log scale of the loss)"
                              : ys.kind == chart::AxisKind::kLog   ? metric_label + " (log scale, lower is better)"
                                                                   : metric_label;
  h += fmt::format("<text x=\"16\" y=\"{0}\" transform=\"rotate(-90 16 {0})\" text-anchor=\"middle\">{1}</text>\n",
                   px((T + B) / 2), esc(y_title));
  h += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">layer (network order)</text>\n", px((L + R) / 2),
                   H - 12);
  // Reference lines, labels kept apart.
  struct Ref {
    const char* cls;
    std::string label;
    double y;
  };
  std::vector<Ref> refs;
  if (!std::isnan(all_int8)) refs.push_back({"ref-int8", "all INT8 " + fmtv(all_int8), ys.px(all_int8)});
  if (!std::isnan(final_v)) refs.push_back({"ref-final", "final plan " + fmtv(final_v), ys.px(final_v)});
  if (refs.size() == 2 && std::fabs(refs[0].y - refs[1].y) < 15) {
    const bool first_above = refs[0].y < refs[1].y || (refs[0].y == refs[1].y && higher_better);
    auto& up = first_above ? refs[0] : refs[1];
    auto& down = first_above ? refs[1] : refs[0];
    const double mid = (up.y + down.y) / 2;
    h += fmt::format("<line class=\"{}\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", up.cls, L, R, px(up.y), px(up.y));
    h += fmt::format("<line class=\"{}\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", down.cls, L, R, px(down.y),
                     px(down.y));
    h += fmt::format("<text class=\"{}\" x=\"{}\" y=\"{}\">{}</text>", up.cls, R + 6, px(mid - 4), esc(up.label));
    h +=
        fmt::format("<text class=\"{}\" x=\"{}\" y=\"{}\">{}</text>\n", down.cls, R + 6, px(mid + 12), esc(down.label));
  } else {
    for (const auto& r : refs) {
      h += fmt::format("<line class=\"{}\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", r.cls, L, R, px(r.y), px(r.y));
      h += fmt::format("<text class=\"{}\" x=\"{}\" y=\"{}\">{}</text>\n", r.cls, R + 6, px(r.y + 4), esc(r.label));
    }
  }
  // Flagged layers: a line and the name above the plot (two rows, so neighbours do not collide).
  int nth_flag = 0;
  for (const auto& s : steps) {
    if (!s.flagged) continue;
    const double x = xs(s.layer_pos);
    h += fmt::format("<line class=\"flagline\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>", px(x),
                     T - 4 - (nth_flag % 2) * 14, B);
    const double tx = std::clamp(x, L + 40, R - 40);
    h += fmt::format("<text class=\"flaglabel\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(tx),
                     T - 8 - (nth_flag % 2) * 14, esc(shorten_middle(s.layer, 28)));
    ++nth_flag;
  }
  // The curves: the mean, and the worst input with several; broken at NaN.
  std::vector<size_t> order(steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return steps[a].layer_pos < steps[b].layer_pos; });
  auto curve = [&](const char* cls, double Step::*field) {
    std::string d;
    bool pen = false;
    for (size_t i : order) {
      const double y = ys.px(steps[i].*field);
      if (std::isnan(y)) {
        pen = false;
        continue;
      }
      d += fmt::format("{}{} {} ", pen ? "L" : "M", px(xs(steps[i].layer_pos)), px(y));
      pen = true;
    }
    if (!d.empty()) h += fmt::format("<path class=\"{}\" d=\"{}\"/>\n", cls, d);
  };
  if (several) curve("worst", &Step::worst);
  curve("curve", &Step::value);
  const double r0 = steps.size() > 300 ? 1.6 : steps.size() > 120 ? 2.2 : 3.0;
  for (const auto& s : steps) {
    const double x = xs(s.layer_pos);
    double y = ys.px(s.value);
    std::string cls = "pt";
    double r = r0;
    if (std::isnan(y)) cls += " nan", y = B, r = r0 + 2;
    if (s.flagged)
      cls += " flag", r = r0 + 2.5;
    else if (s.precision != "int8" && !s.precision.empty())
      cls += " float";
    std::string title = fmt::format("#{} {} ({}): {} {}", s.index, s.layer, s.op, fmtv(s.value), metric_label);
    if (several) title += ", worst input " + fmtv(s.worst);
    if (!std::isnan(s.change)) title += fmt::format(", change {:+.4f}", s.change);
    if (s.flagged) title += ", FLAGGED";
    if (!s.reason.empty()) title += " (" + s.reason + ")";
    h += fmt::format(
        "<a href=\"#step-{}\"><circle class=\"{}\" data-step=\"{}\" cx=\"{}\" cy=\"{}\" "
        "r=\"{}\"><title>{}</title></circle></a>\n",
        s.index, cls, s.index, px(x), px(y), r, esc(title));
    if (cls.find("nan") != std::string::npos)
      h += fmt::format("<text class=\"nanlabel\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">NaN</text>\n", px(x), B - 8);
  }
  h += "</svg>\n<div class=\"legend\"><span><i style=\"border-color:var(--accent)\"></i>" + esc(metric_label) +
       (several ? " (mean of the inputs)" : "") + "</span>";
  if (several) h += "<span><i style=\"border-color:var(--accent);border-top-style:dashed\"></i>worst input</span>";
  h += "<span><i class=\"dot\" style=\"background:var(--bad)\"></i>flagged layer</span>"
       "<span><i class=\"dot\" style=\"border:1.5px solid #8c959f\"></i>layer that ran in floating point</span>"
       "<span><i style=\"border-color:var(--warn);border-top-style:dashed\"></i>all layers INT8</span>"
       "<span><i style=\"border-color:var(--ok);border-top-style:dashed\"></i>final plan</span>"
       "<span>Point: click to see the layer in the table.</span></div>\n</div>\n";

  // The plan and export forms.
  h += "<h2>Plan and export</h2>\n<div class=\"plan\">\n<div>\n";
  if (fallback.empty()) {
    h += "<p>No layer needs higher precision: the final plan is all INT8.</p>\n";
  } else {
    h += fmt::format("<p><b>{}</b> layer{} in higher precision:</p>\n<ul class=\"mono\">\n", fallback.size(),
                     fallback.size() == 1 ? "" : "s");
    std::map<std::string, std::string> plan_layers;
    if (plan_json.is_object() && plan_json.contains("layers") && plan_json["layers"].is_object())
      for (const auto& [k, v] : plan_json["layers"].items()) plan_layers[k] = v.is_string() ? v.get<std::string>() : "";
    for (const auto& f : fallback) {
      auto it = layer_pos.find(f);
      std::string link = esc(f);
      for (const auto& s : steps)
        if (s.layer == f && s.flagged) link = fmt::format("<a href=\"#step-{}\">{}</a>", s.index, esc(f));
      h += "<li>" + link + " " + tag(plan_layers.count(f) ? plan_layers[f] : "") +
           (it != layer_pos.end() ? " <span class=\"note\">" + esc(str(*layers[it->second], "op")) + "</span>" : "") +
           "</li>\n";
    }
    h += "</ul>\n";
  }
  // Why the flagged layers lose (the sweep's "diagnosis"): the verdict, then each part alone.
  if (j.contains("diagnosis") && j["diagnosis"].is_array() && !j["diagnosis"].empty()) {
    h += "<h3>Why</h3>\n<p class=\"note\">Each flagged layer run alone on FP32 inputs, with only one of its INT8 "
         "inputs, or only its weights, quantized: the layer's output against FP32 (cosine %, worst input).</p>\n"
         "<ul id=\"diagnosis\">\n";
    auto num = [](const Json& v) { return v.is_number() ? fmt::format("{:.4g}", v.get<double>()) : std::string("n/a"); };
    auto pct = [](const Json& v) { return v.is_number() ? fmt::format("{:.4f}", v.get<double>()) : std::string("n/a"); };
    for (const auto& d : j["diagnosis"]) {
      if (!d.is_object()) continue;
      h += "<li><b class=\"mono\">" + esc(str(d, "layer")) + "</b>: " + esc(str(d, "verdict")) + "<ul>\n";
      if (d.contains("inputs") && d["inputs"].is_array())
        for (const auto& in : d["inputs"]) {
          if (!in.is_object()) continue;
          h += "<li>input <span class=\"mono\">" + esc(str(in, "tensor")) + "</span>: " +
               pct(in.value("layer_similarity_alone", Json())) + " | range " + num(in.value("range", Json())) +
               ", max |x| " + num(in.value("max_abs", Json())) + ", 99.9% of |x| &le; " +
               num(in.value("p99_9_abs", Json())) + ", largest channel max " +
               num(in.value("top_channel_max_abs", Json())) + " against a median " +
               num(in.value("median_channel_max_abs", Json())) + "</li>\n";
        }
      if (d.contains("weights_layer_similarity_alone") && d["weights_layer_similarity_alone"].is_number())
        h += "<li>weights (per output channel): " + pct(d["weights_layer_similarity_alone"]) +
             (d.value("weights_spread_channel", -1) >= 0
                  ? " | largest |w| / median |w| up to " + num(d.value("weights_spread", Json())) + " (output channel " +
                        std::to_string(d.value("weights_spread_channel", -1)) + ")"
                  : "") +
             "</li>\n";
      h += "</ul></li>\n";
    }
    h += "</ul>\n";
  }
  if (j.contains("minimized_back_to_int8") && j["minimized_back_to_int8"].is_array() &&
      !j["minimized_back_to_int8"].empty()) {
    std::string back;
    for (const auto& b : j["minimized_back_to_int8"])
      back += (back.empty() ? "" : ", ") + (b.is_string() ? b.get<std::string>() : "");
    h += "<p>Returned to INT8 by <code>--minimize</code>: <span class=\"mono\">" + esc(back) + "</span></p>\n";
  }
  h += "<h3>Plan JSON</h3><pre id=\"plan-json\">" + esc(plan_json.dump(1)) + "</pre>\n</div>\n<div>\n";
  h += "<h3>trtexec flags</h3><pre id=\"trtexec\">" + esc(trtexec) + "</pre>\n";
  h += "<p class=\"note\">With a calibration cache: <code>trtexec --onnx=MODEL --calib=CACHE " + esc(trtexec) +
       "</code>. TensorRT names its layers after the ONNX nodes; a layer that TensorRT fuses takes a combined name, so "
       "check <code>--verbose</code>'s layer list if one is not found.</p>\n";
  h += "<h3>Exclude list</h3><pre id=\"exclude-list\">" + esc(excludes) + "</pre>\n";
  h += "<p class=\"note\"><code>nodes_to_exclude</code> for ONNX Runtime's <code>quantize_static</code> and ModelOpt's "
       "ONNX quantizer.</p>\n</div>\n</div>\n";

  // The table.
  h += "<h2>Layers</h2>\n<p class=\"note\">One row per step; click a column header to sort.";
  if (!any_hist && any_range)
    h += " No histograms: the report was made from a calibration cache, which holds ranges only.";
  if (!str(j, "histograms").empty()) h += " Histograms: " + esc(str(j, "histograms")) + ".";
  h += "</p>\n<table id=\"steps\">\n<thead><tr>";
  auto th = [&](const char* col, const std::string& label, bool numeric, const std::string& title = "") {
    h += fmt::format("<th data-col=\"{}\"{}{}>{}</th>", col, numeric ? " class=\"n\"" : "",
                     title.empty() ? "" : " title=\"" + esc(title) + "\"", esc(label));
  };
  th("index", "#", true);
  th("layer", "Layer", false);
  th("op", "Op", false);
  th("shape", "Output shape", false);
  if (any_group) th("group", "Group", true);
  th("precision", "Ran as", false);
  if (any_final) th("final", "Final plan", false);
  th("similarity", metric_label, true);
  if (several) th("worst", "Worst input", true);
  th("change", "Change", true);
  if (any_range) th("range", "Range", true);
  if (any_hist) th("calib_max", "Max |x|", true);
  if (any_hist) th("histogram", "Histogram of |x|", true);
  if (any_isolated) th("isolated", "Isolated " + metric_label, true);
  th("flag", "Flag", false);
  h += "</tr></thead>\n<tbody>\n";
  // A worse value sorts first ascending: NaN is the worst of all.
  const std::string nan_key = higher_better ? "-Infinity" : "Infinity";
  auto key = [&](double v) { return std::isnan(v) ? nan_key : fmt::format("{}", v); };
  auto opt_key = [](double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); };
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    const Json& l = layer_of(s);
    h += fmt::format("<tr id=\"step-{}\" data-i=\"{}\"{}>", s.index, i, s.flagged ? " class=\"flag\"" : "");
    h += fmt::format("<td class=\"n\">{}</td>", s.index);
    h += "<td class=\"name mono\" title=\"" + esc(s.layer) + "\">" + esc(s.layer) + "</td>";
    h += "<td>" + esc(s.op) + "</td><td class=\"mono\">" + esc(s.shape) + "</td>";
    if (any_group) {
      const bool has = l.contains("group") && l["group"].is_number();
      h += has ? fmt::format("<td class=\"n\" data-k=\"{}\" title=\"{}\">G{}</td>", l["group"].get<int>(),
                             esc(str(l, "group_ops")), l["group"].get<int>())
               : "<td class=\"n\" data-k=\"\">&ndash;</td>";
    }
    h += "<td data-k=\"" + esc(s.precision) + "\">" + tag(s.precision) + "</td>";
    if (any_final) {
      const std::string fr = str(l, "final_reason");
      h += "<td data-k=\"" + esc(str(l, "final_precision")) + "\"" + (fr.empty() ? "" : " title=\"" + esc(fr) + "\"") +
           ">" + tag(str(l, "final_precision")) + "</td>";
    }
    h += fmt::format("<td class=\"n{}\" data-k=\"{}\">{}</td>", std::isnan(s.value) ? " bad" : "", key(s.value),
                     esc(fmtv(s.value)));
    if (several) h += fmt::format("<td class=\"n\" data-k=\"{}\">{}</td>", key(s.worst), esc(fmtv(s.worst)));
    h += fmt::format("<td class=\"n\" data-k=\"{}\">{}</td>", opt_key(s.change),
                     std::isnan(s.change) ? "" : fmt::format("{:+.4f}", s.change));
    if (any_range) {
      const double r = num(l, "range");
      h += fmt::format("<td class=\"n\" data-k=\"{}\">{}</td>", opt_key(r),
                       std::isfinite(r) ? fmt::format("{:.4g}", r) : "");
    }
    if (any_hist) {
      const double mx = l.contains("histogram") ? num(l["histogram"], "max") : kNaN;
      h += fmt::format("<td class=\"n\" data-k=\"{}\">{}</td>", opt_key(mx),
                       std::isfinite(mx) ? fmt::format("{:.4g}", mx) : "");
      // Sorted by how much of the data the range clips (max |x| / range).
      const double r = num(l, "range");
      h += fmt::format("<td data-k=\"{}\">{}</td>", opt_key(std::isfinite(r) && r > 0 ? mx / r : kNaN),
                       histogram_svg(l));
    }
    if (any_isolated) {
      const double iso = num(l, "isolated_similarity");
      h += fmt::format("<td class=\"n\" data-k=\"{}\">{}</td>", l.contains("isolated_similarity") ? key(iso) : "",
                       l.contains("isolated_similarity") ? esc(fmtv(iso)) : "");
    }
    if (s.flagged)
      h += "<td data-k=\"1\" class=\"flagmark\">&#9873; flagged</td>";
    else
      h += "<td data-k=\"" + std::string(s.reason.empty() ? "" : "0") + "\" class=\"note\">" + esc(s.reason) + "</td>";
    h += "</tr>\n";
  }
  h += "</tbody>\n</table>\n";
  h += fmt::format(
      "<footer><p id=\"counts\">{} steps.</p><p>Written by qscope from the report JSON "
      "(<code>qscope report R.json -o R.html</code> rebuilds this page). Similarities are shown with 4 "
      "decimals, as in the table and the CSV.</p></footer>\n",
      steps.size());
  h += "<script>" + std::string(kScript) + "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace qs::report
