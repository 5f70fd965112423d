#include "ganglion/engine/user_error.h"

#include <algorithm>

namespace ganglion {

namespace {

std::string join_messages(const std::vector<Diagnostic>& items) {
  std::string out;
  for (const auto& d : items) out += (out.empty() ? "" : "\n") + d.format();
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string Diagnostic::format() const {
  std::string out;
  if (!file.empty()) out += file + ": ";
  if (!pointer.empty()) out += pointer + ": ";
  return out + message;
}

void Diagnostics::error(std::string pointer, std::string message) {
  items_.push_back({file_, std::move(pointer), std::move(message)});
}

void Diagnostics::throw_if_any() const {
  if (!items_.empty()) throw UserError(items_);
}

UserError::UserError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join_messages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

UserError::UserError(std::string message) : UserError(std::vector<Diagnostic>{{"", "", message}}) {}

UserError::UserError(std::string file, std::string pointer, std::string message)
    : UserError(std::vector<Diagnostic>{{std::move(file), std::move(pointer), std::move(message)}}) {}

std::vector<std::string> closest_names(const std::string& name, const std::vector<std::string>& candidates) {
  std::vector<std::pair<size_t, std::string>> scored;
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  for (const auto& c : candidates) {
    size_t d = edit_distance(name, c);
    // A name that contains the other (e.g. "dcgan-generator" for "nets/dcgan-generator") is close.
    if (c.find(name) != std::string::npos || name.find(c) != std::string::npos) d = std::min(d, limit);
    if (d <= limit) scored.emplace_back(d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) out.push_back(scored[i].second);
  return out;
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates) {
  auto close = closest_names(name, candidates);
  if (close.empty()) return {};
  std::string out = " (did you mean ";
  for (size_t i = 0; i < close.size(); ++i)
    out += (i == 0 ? "" : i + 1 == close.size() ? " or " : ", ") + ("\"" + close[i] + "\"");
  return out + "?)";
}

}  // namespace ganglion
