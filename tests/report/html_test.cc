// The HTML report (structure, escaping of hostile layer names, self-containment, the same
// numbers as the CSV and JSON, the same page from the JSON alone), the export strings, and the
// terminal table at 80 columns.
#include "report/html.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <sstream>

#include "report/report.h"

namespace qs::report {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

// A sweep of `n` layers with hostile names among them, one flagged (sent back to FP32), a NaN
// step and a layer without INT8.
analysis::SweepResult make_result(int n, bool several_inputs = false) {
  analysis::SweepResult r;
  r.mode = analysis::SweepMode::kPrefix;
  r.plan.default_precision = Precision::kInt8;
  for (int i = 0; i < n; ++i) {
    std::string name = "layer" + std::to_string(i);
    if (i == 1) name = "<script>alert(\"x\")</script>";
    if (i == 2) name = "a\"b'c&d<e>";
    if (i == 3) name = "model/encoder/blocks.11/attention/output/dense/MatMul_with_a_very_long_name";
    r.layers.push_back({name, i == n - 1 ? "Softmax" : "Conv", Shape{1, 16, 28, 28}, i != n - 1});
    analysis::StepResult s;
    s.index = i;
    s.layer = i;
    s.precision = i == n - 1 ? Precision::kFp32 : Precision::kInt8;
    if (i == n - 1) s.reason = "Softmax has no INT8 implementation";
    s.mean = 99.99 - 0.001 * i;
    s.min = s.mean - 0.01;
    s.values = several_inputs ? std::vector<double>{s.mean + 0.01, s.min} : std::vector<double>{s.mean};
    if (i == 2) {  // the flagged one
      s.mean = 97.25, s.min = 96.5, s.flagged = true;
      s.values = several_inputs ? std::vector<double>{98.0, 96.5} : std::vector<double>{97.25};
    }
    if (i == 4) s.mean = s.min = NAN, s.values.assign(s.values.size(), NAN);
    r.steps.push_back(s);
  }
  if (n > 2) {  // layer 2 is the flagged one
    r.fallback = {r.layers[2].name};
    r.plan.layers[r.layers[2].name] = Precision::kFp32;
  }
  r.all_int8_mean = 97.1, r.all_int8_min = 96.0;
  r.final_mean = 99.95, r.final_min = 99.9;
  return r;
}

ReportMeta make_meta(bool several = false) {
  ReportMeta m;
  m.model = "models/<net>.onnx";
  m.inputs = several ? std::vector<std::string>{"img0", "img1"} : std::vector<std::string>{"img0"};
  m.calib = "net.cache";
  return m;
}

ReportExtra make_extra(const analysis::SweepResult& r) {
  ReportExtra e;
  e.histograms = "test";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    LayerDetail d;
    d.final_precision = i == 2 || i + 1 == r.layers.size() ? Precision::kFp32 : Precision::kInt8;
    d.group = static_cast<int>(i / 2);
    d.group_ops = "Conv+Relu";
    d.tensor = r.layers[i].name + "_out";
    d.range = 2.5 + static_cast<double>(i);
    if (i % 2 == 0) {
      const std::vector<uint64_t> counts = {100, 50, 20, 5, 0, 1, 0, 0};
      d.hist_edge = downsample_histogram(counts, 8.0, 4, &d.hist);
      d.calib_max = 5.5;
    }
    e.layers.push_back(d);
  }
  return e;
}

std::string page_for(const analysis::SweepResult& r, const ReportMeta& m, const ReportExtra* e) {
  auto page = render_html(to_json(r, m, e));
  EXPECT_TRUE(page.ok()) << page.status().message();
  return page.ok() ? *page : "";
}

TEST(HtmlReportTest, ChartAndTableHaveOneEntryPerStep) {
  const auto r = make_result(100);
  const auto extra = make_extra(r);
  const std::string h = page_for(r, make_meta(), &extra);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(h, "<svg id=\"chart\""), 1u);
  EXPECT_EQ(count(h, "<circle class=\"pt"), 100u);
  EXPECT_EQ(count(h, "<circle class=\"pt flag"), 1u);
  EXPECT_EQ(count(h, "<circle class=\"pt nan"), 1u);
  EXPECT_EQ(count(h, "<tr id=\"step-"), 100u);
  EXPECT_EQ(count(h, "<table id=\"steps\">"), 1u);
  // Reference lines for all-INT8 and the final plan, with their values.
  EXPECT_NE(h.find("class=\"ref-int8\""), std::string::npos);
  EXPECT_NE(h.find("all INT8 97.1000"), std::string::npos);
  EXPECT_NE(h.find("final plan 99.9500"), std::string::npos);
  // Layer details: group, final precision, range, histogram.
  EXPECT_NE(h.find(">G0</td>"), std::string::npos);
  EXPECT_NE(h.find("<svg class=\"hist\""), std::string::npos);
  EXPECT_NE(h.find("data-col=\"range\""), std::string::npos);
  EXPECT_NE(h.find("data-col=\"final\""), std::string::npos);
  EXPECT_EQ(h.find("data-col=\"isolated\""), std::string::npos) << "no isolate run, no column";
  // Sortable: headers carry column keys and the script is there.
  EXPECT_NE(h.find("data-col=\"similarity\""), std::string::npos);
  EXPECT_NE(h.find("function sortBy"), std::string::npos);
  // Export forms.
  EXPECT_NE(h.find("id=\"trtexec\""), std::string::npos);
  EXPECT_NE(h.find("--precisionConstraints=obey"), std::string::npos);
  EXPECT_NE(h.find("id=\"exclude-list\""), std::string::npos);
}

TEST(HtmlReportTest, HostileNamesAreEscaped) {
  const auto r = make_result(8);
  const auto extra = make_extra(r);
  const std::string h = page_for(r, make_meta(), &extra);
  // Only the page's own script element exists.
  EXPECT_EQ(count(h, "<script"), 1u);
  EXPECT_EQ(h.find("<script>alert"), std::string::npos);
  EXPECT_NE(h.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(h.find("a\"b'c"), std::string::npos);
  EXPECT_NE(h.find("a&quot;b&#39;c&amp;d&lt;e&gt;"), std::string::npos);
  EXPECT_EQ(h.find("<net>"), std::string::npos);
  EXPECT_NE(h.find("&lt;net&gt;"), std::string::npos);
  // Every attribute value is quoted and holds no raw quote or angle bracket: each tag parses.
  const std::regex tag("<[a-zA-Z][^<>]*>");
  const std::regex attr_ok(R"(^<[a-zA-Z][a-zA-Z0-9-]*(\s+[a-zA-Z][a-zA-Z0-9:-]*(="[^"<>]*")?)*\s*/?>$)");
  size_t tags = 0;
  for (auto it = std::sregex_iterator(h.begin(), h.end(), tag); it != std::sregex_iterator(); ++it, ++tags)
    EXPECT_TRUE(std::regex_match(it->str(), attr_ok)) << it->str();
  EXPECT_GT(tags, 100u);
}

// The sweep's "diagnosis": the verdict and each part's numbers, escaped; no section without it.
TEST(HtmlReportTest, DiagnosisShowsEachFlaggedLayersParts) {
  const auto r = make_result(8);
  analysis::LayerDiagnosis d;
  d.layer = "conv<3>";
  d.verdict = "its input x<y> loses most";
  analysis::QuantizedInput in;
  in.tensor = "x<y>";
  in.similarity = 61.25;
  in.range = 402.4;
  in.top_channel = 0;
  in.top_channel_max = 2166;
  in.median_channel_max = 2.802;
  d.inputs.push_back(in);
  d.weight_similarity = 99.2789;
  auto j = to_json(r, make_meta());
  EXPECT_EQ(render_html(j)->find("id=\"diagnosis\""), std::string::npos);
  j["diagnosis"] = diagnosis_to_json({d});
  const std::string h = *render_html(j);
  const size_t at = h.find("<ul id=\"diagnosis\">");
  ASSERT_NE(at, std::string::npos);
  const std::string section = h.substr(at, h.find("<h3>", at) - at);
  EXPECT_NE(section.find("<b class=\"mono\">conv&lt;3&gt;</b>: its input x&lt;y&gt; loses most"), std::string::npos)
      << section;
  EXPECT_NE(section.find("61.2500 | range 402.4"), std::string::npos) << section;
  EXPECT_NE(section.find("largest channel max 2166 against a median 2.802"), std::string::npos) << section;
  EXPECT_NE(section.find("weights (per output channel): 99.2789"), std::string::npos) << section;
}

TEST(HtmlReportTest, SelfContained) {
  const auto r = make_result(20);
  const auto extra = make_extra(r);
  const std::string h = page_for(r, make_meta(), &extra);
  for (const char* bad : {"http://", "https://", "<link", "src=", "@import", "url(", "//cdn", "@font-face"})
    EXPECT_EQ(h.find(bad), std::string::npos) << bad;
  EXPECT_NE(h.find("<style>"), std::string::npos);
}

TEST(HtmlReportTest, SamePageFromTheSavedJson) {
  const auto r = make_result(30, true);
  const auto extra = make_extra(r);
  const auto j = to_json(r, make_meta(true), &extra);
  const auto direct = render_html(j);
  const auto reread = render_html(nlohmann::ordered_json::parse(j.dump(2)));
  ASSERT_TRUE(direct.ok() && reread.ok());
  EXPECT_EQ(*direct, *reread);
  // Several inputs: the worst-input column and curve.
  EXPECT_NE(direct->find("data-col=\"worst\""), std::string::npos);
  EXPECT_NE(direct->find("<path class=\"worst\""), std::string::npos);
}

TEST(HtmlReportTest, CsvJsonAndHtmlCarryTheSameNumbers) {
  const auto r = make_result(12);
  const auto extra = make_extra(r);
  const auto j = to_json(r, make_meta(), &extra);
  const std::string h = *render_html(j);
  std::istringstream csv(to_csv(r, &extra));
  std::string line;
  std::getline(csv, line);
  EXPECT_NE(line.find("final_precision,group,range"), std::string::npos);
  for (size_t i = 0; std::getline(csv, line); ++i) {
    // The row of step i in the page holds the CSV's similarity and range.
    const size_t row = h.find("<tr id=\"step-" + std::to_string(i) + "\"");
    ASSERT_NE(row, std::string::npos);
    const std::string tr = h.substr(row, h.find("</tr>", row) - row);
    const std::string sim = format_value(analysis::Metric::kCosine, r.steps[i].mean);
    EXPECT_NE(line.find("," + sim + ","), std::string::npos) << line;
    EXPECT_NE(tr.find(">" + sim + "<"), std::string::npos) << tr;
    const double js = j["steps"][i]["similarity"].is_number() ? j["steps"][i]["similarity"].get<double>() : NAN;
    EXPECT_EQ(format_value(analysis::Metric::kCosine, js), sim);
    char range[32];
    std::snprintf(range, sizeof range, "%.4g", extra.layers[i].range);
    EXPECT_NE(tr.find(std::string(">") + range + "<"), std::string::npos) << tr;
    EXPECT_DOUBLE_EQ(j["layers"][i]["range"].get<double>(), extra.layers[i].range);
  }
}

TEST(HtmlReportTest, IsolateModeShowsIsolatedSensitivity) {
  auto r = make_result(6);
  r.mode = analysis::SweepMode::kIsolate;
  const auto j = to_json(r, make_meta(), nullptr);
  EXPECT_DOUBLE_EQ(j["layers"][0]["isolated_similarity"].get<double>(), r.steps[0].mean);
  const std::string h = *render_html(j);
  EXPECT_NE(h.find("data-col=\"isolated\""), std::string::npos);
  // Without extra: no range or histogram columns, and the page still renders.
  EXPECT_EQ(h.find("data-col=\"range\""), std::string::npos);
  EXPECT_EQ(count(h, "<tr id=\"step-"), 6u);
}

TEST(HtmlReportTest, OneStepAndBadReports) {
  const auto r = make_result(1);
  const std::string h = page_for(r, make_meta(), nullptr);
  EXPECT_EQ(count(h, "<circle class=\"pt"), 1u);
  EXPECT_FALSE(render_html(nlohmann::ordered_json::object()).ok());
  EXPECT_FALSE(render_html(nlohmann::ordered_json::parse(R"({"steps": 3})")).ok());
  EXPECT_FALSE(render_html(nlohmann::ordered_json::parse(R"({"steps": [], "metric": "nope"})")).ok());
  EXPECT_TRUE(render_html(nlohmann::ordered_json::parse(R"({"steps": []})")).ok());
}

TEST(ExportStringsTest, TrtexecFlagsAndExcludeList) {
  passes::PrecisionPlan p;
  p.default_precision = Precision::kInt8;
  EXPECT_EQ(trtexec_flags(p), "--int8");
  p.layers["conv2"] = Precision::kFp32;
  p.layers["conv5"] = Precision::kFp32;
  EXPECT_EQ(trtexec_flags(p), "--int8 --precisionConstraints=obey --layerPrecisions=conv2:fp32,conv5:fp32");
  p.layers["conv5"] = Precision::kFp16;
  EXPECT_EQ(trtexec_flags(p), "--int8 --fp16 --precisionConstraints=obey --layerPrecisions=conv2:fp32,conv5:fp16");
  p.layers = {{"my layer's", Precision::kFp32}};
  EXPECT_EQ(trtexec_flags(p), "--int8 --precisionConstraints=obey '--layerPrecisions=my layer'\\''s:fp32'");
  EXPECT_EQ(exclude_list({"conv2", "a\"b"}), R"(["conv2","a\"b"])");
  EXPECT_EQ(exclude_list({}), "[]");
}

TEST(ExportStringsTest, DownsampleHistogram) {
  std::vector<uint64_t> out;
  std::vector<uint64_t> counts(2048, 0);
  counts[0] = 10, counts[99] = 5;  // data up to bin 99
  const double edge = downsample_histogram(counts, 2048.0, 40, &out);
  ASSERT_EQ(out.size(), 34u);  // groups of 3 bins, ending at the last non-empty one
  EXPECT_DOUBLE_EQ(edge, 102.0);
  EXPECT_EQ(out[0], 10u);
  EXPECT_EQ(out[33], 5u);
  EXPECT_DOUBLE_EQ(downsample_histogram(std::vector<uint64_t>(8, 0), 1.0, 4, &out), 0);
  EXPECT_TRUE(out.empty());
}

// The terminal table fits 80 columns, names are shortened in the middle, colour only when asked.
TEST(TerminalTableTest, FitsEightyColumns) {
  for (bool several : {false, true}) {
    const auto r = make_result(12, several);
    const std::string t = format_table(r, make_meta(several), {});
    std::istringstream in(t);
    size_t rows = 0;
    for (std::string line; std::getline(in, line);) {
      EXPECT_LE(line.size(), 80u) << line;
      rows += line.find('|') != std::string::npos;
    }
    EXPECT_EQ(rows, 13u);  // header and one per step
    EXPECT_NE(t.find("LayerName|"), std::string::npos);
    EXPECT_NE(t.find("Similarity%"), std::string::npos);
    EXPECT_NE(t.find("<< FLAGGED"), std::string::npos);
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(model/[^|]*\.\.\.[^|]*name\|)"))) << t;  // shortened in the middle
    EXPECT_EQ(t.find('\x1b'), std::string::npos);
    EXPECT_NE(t.find("97.2500"), std::string::npos);
    EXPECT_NE(t.find("NaN"), std::string::npos);
    // A note too long for its row goes under the table.
    EXPECT_NE(t.find("[1] Softmax has no INT8 implementation\n"), std::string::npos) << t;
  }
  const std::string c = format_table(make_result(5), make_meta(), TableOptions{true});
  EXPECT_NE(c.find("\x1b[31;1m<< FLAGGED\x1b[0m"), std::string::npos);
  // Without a width limit, nothing is left out and names are whole up to max_name.
  TableOptions wide;
  wide.width = 0;
  wide.max_name = 200;
  const std::string w = format_table(make_result(12, true), make_meta(true), wide);
  EXPECT_NE(w.find("Worst"), std::string::npos);
  EXPECT_NE(w.find("model/encoder/blocks.11/attention/output/dense/MatMul_with_a_very_long_name"), std::string::npos);
}

}  // namespace
}  // namespace qs::report
