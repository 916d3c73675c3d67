// The sweep report as one self-contained HTML page (no network, no external scripts or fonts):
// the similarity of each step drawn along the network (inline SVG, scaled by chart.h), flagged
// layers marked, the all-INT8 and final-plan similarities as reference lines; the plan and
// its export forms; the full table, sortable by a small inline script, with each layer's op,
// shape, fusion group, final precision, activation range, calibration histogram and isolated
// sensitivity where the report has them.
//
// The page is built from the report JSON alone (report::to_json's), so that `qscope report
// R.json -o R.html` rebuilds the page `qscope sweep --html` wrote. Every name is escaped.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace qs::report {

// Escapes &, <, >, " and ' for text and attribute values.
std::string html_escape(std::string_view s);

// The page for a report JSON; an error names what the JSON lacks.
Expected<std::string> render_html(const nlohmann::ordered_json& report);

}  // namespace qs::report
