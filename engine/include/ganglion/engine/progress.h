// What a person (or a log collector) sees while a run goes on: a bar with rate, ETA and losses on
// a terminal; plain lines otherwise; JSON lines with --log-format jsonl.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace ganglion {

/// Silent: a rank other than 0 of a run over several processes, which leaves reporting to rank 0.
enum class ProgressStyle { Bar, Lines, Jsonl, Silent };

class Progress {
 public:
  Progress(ProgressStyle style, std::int64_t first_step, std::int64_t last_step);
  /// Called after each logged step.
  void update(std::int64_t step, const std::map<std::string, double>& losses, double steps_per_s);
  /// A message on its own line (the bar is redrawn after it).
  void note(const std::string& text);
  void finish();

  static ProgressStyle style_for(const std::string& log_format);

 private:
  ProgressStyle style_;
  std::int64_t first_, last_;
  bool bar_drawn_ = false;
};

}  // namespace ganglion
