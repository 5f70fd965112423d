// The methods of a validated Graph and its parts (look-ups, schedules, names).
#include "ganglion/engine/graph.h"

#include <cstdio>

#include "ganglion/engine/plugin_registry.h"

namespace ganglion {

const Contract& NodeEntry::contract() const { return type->contract; }

bool NodeEntry::is_metric() const { return type && kind() == NodeKind::Function && contract().is_metric(); }

int OptimizerEntry::group_of(int m) const {
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].module == m) return static_cast<int>(i);
  return -1;
}

bool PhaseSpec::updates(int m) const {
  for (const auto& u : update)
    if (u.module == m) return true;
  return false;
}

int Graph::find_node(const std::string& n) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == n) return static_cast<int>(i);
  return -1;
}

int Graph::find_schedule(const std::string& n) const {
  for (size_t i = 0; i < schedules.size(); ++i)
    if (schedules[i].name == n) return static_cast<int>(i);
  return -1;
}

double ScheduleSpec::at(std::int64_t step, std::int64_t images) const {
  const double x = by_images ? double(images) : double(step);
  if (points.empty()) return 0.0;
  if (x <= points.front().first) return points.front().second;
  for (size_t i = 1; i < points.size(); ++i) {
    const auto& [x1, y1] = points[i];
    if (x < x1) {
      const auto& [x0, y0] = points[i - 1];
      return stepwise ? y0 : y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }
  }
  return points.back().second;
}

const SamplesSpec* Graph::find_samples(const std::string& n) const {
  for (const auto& s : outputs.samples)
    if (n.empty() || s.name == n) return &s;
  return nullptr;
}

std::string SamplesSpec::file_stem(std::int64_t step) const {
  char stem[32];
  std::snprintf(stem, sizeof stem, "step-%08lld", static_cast<long long>(step));
  return name.empty() ? std::string(stem) : name + "-" + stem;
}

int Graph::find_module(const std::string& n) const {
  for (size_t i = 0; i < modules.size(); ++i)
    if (modules[i].name == n) return static_cast<int>(i);
  return -1;
}

std::string Graph::port_name(const PortRef& ref) const {
  const auto& node = nodes.at(ref.node);
  return node.contract().outputs().size() == 1 ? node.name : node.name + "." + ref.port;
}

}  // namespace ganglion
