#include "app/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace qs::app {

Progress::Progress(std::string label, std::string unit, int64_t total, Style style, FILE* out)
    : label_(std::move(label)), unit_(std::move(unit)), total_(std::max<int64_t>(total, 0)), style_(style), out_(out) {
  if (style_ == Style::kAuto) style_ = ::isatty(::fileno(out_)) ? Style::kBar : Style::kLines;
}

Progress::~Progress() { Finish(); }

void Progress::Update(int64_t done, const std::string& note) {
  const std::string tail = note.empty() ? "" : "  " + note;
  if (style_ == Style::kLines) {
    fmt::print(out_, "{}: {} {}/{}{}\n", label_, unit_, done, total_, tail);
    std::fflush(out_);
  } else if (style_ == Style::kBar) {
    // Redraw at most ~10 times a second, and always at the end.
    const auto now = std::chrono::steady_clock::now();
    if (done < total_ && open_line_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * std::min(done, total_) / total_) : kWidth;
    fmt::print(out_, "\r{} [{}{}] {}/{} {}{}\x1b[K", label_, std::string(static_cast<size_t>(filled), '#'),
               std::string(static_cast<size_t>(kWidth - filled), '.'), done, total_, unit_, tail);
    std::fflush(out_);
    open_line_ = true;
  }
}

void Progress::Finish() {
  if (style_ == Style::kBar && open_line_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
  }
  open_line_ = false;
}

}  // namespace qs::app
