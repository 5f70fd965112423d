#include "ganglion/engine/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace ganglion {

namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string losses_text(const std::map<std::string, double>& losses) {
  std::string out;
  char buf[64];
  for (const auto& [name, v] : losses) {
    std::snprintf(buf, sizeof buf, " %s %.4g", name.c_str(), v);
    out += buf;
  }
  return out;
}

}  // namespace

ProgressStyle Progress::style_for(const std::string& log_format) {
  if (log_format == "jsonl") return ProgressStyle::Jsonl;
  return isatty(STDERR_FILENO) ? ProgressStyle::Bar : ProgressStyle::Lines;
}

Progress::Progress(ProgressStyle style, std::int64_t first_step, std::int64_t last_step)
    : style_(style), first_(first_step), last_(last_step) {}

void Progress::update(std::int64_t step, const std::map<std::string, double>& losses, double rate) {
  if (style_ == ProgressStyle::Silent) return;
  const double eta = rate > 0 ? (last_ - step) / rate : NAN;
  if (style_ == ProgressStyle::Jsonl) {
    nlohmann::json j{{"step", step}, {"of", last_}, {"steps_per_s", rate}, {"losses", losses}};
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    return;
  }
  if (style_ == ProgressStyle::Lines) {
    std::fprintf(stderr, "step %lld/%lld  %.2f it/s  eta %s %s\n", static_cast<long long>(step),
                 static_cast<long long>(last_), rate, clock_text(eta).c_str(), losses_text(losses).c_str());
    return;
  }
  const int width = 28;
  const double done = last_ > first_ ? double(step - first_) / double(last_ - first_) : 1.0;
  const int filled = static_cast<int>(std::lround(done * width));
  std::string bar(filled, '#');
  bar += std::string(width - filled, '.');
  std::fprintf(stderr, "\r\033[K[%s] %lld/%lld %.2f it/s eta %s%s", bar.c_str(), static_cast<long long>(step),
               static_cast<long long>(last_), rate, clock_text(eta).c_str(), losses_text(losses).c_str());
  std::fflush(stderr);
  bar_drawn_ = true;
}

void Progress::note(const std::string& text) {
  if (style_ == ProgressStyle::Silent) return;
  if (style_ == ProgressStyle::Jsonl) {
    std::fprintf(stderr, "%s\n", text.c_str());
    return;
  }
  if (bar_drawn_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", text.c_str());
  bar_drawn_ = false;
}

void Progress::finish() {
  if (bar_drawn_) std::fprintf(stderr, "\n");
  bar_drawn_ = false;
}

}  // namespace ganglion
