#include "ganglion/engine/graph_dot.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "ganglion/engine/plugin_registry.h"

namespace ganglion {

namespace {

/// A double-quoted DOT string of plain text.
std::string id(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

/// A double-quoted DOT string of a label that already uses DOT's escapes (\n, record escapes).
std::string escaped_label(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out + "\"";
}

/// Text inside a record label: the record syntax characters escaped.
std::string record_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string("{}|<> \"\\").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

/// "{{<in_a> a|<in_b> b}|name\ntype|{<out_x> x}}": inputs left, outputs right.
std::string record_label(const NodeEntry& node, const std::string& what) {
  auto ports = [&](const std::vector<PortSpec>& list, const char* prefix) {
    std::string out;
    auto add = [&](const std::string& name) {
      out += (out.empty() ? "" : "|") + std::string("<") + prefix + name + "> " + record_text(name);
    };
    for (const auto& p : list) {
      if (!p.group) {
        add(p.name);
        continue;
      }
      // A port group: the members this graph connects.
      for (const auto& [port, ref] : node.inputs)
        if (p.accepts(port)) add(port);
    }
    return out;
  };
  std::string label = "{";
  const std::string in = ports(node.contract().inputs(), "in_");
  if (!in.empty()) label += "{" + in + "}|";
  label += record_text(node.name) + "\\n" + record_text(what);
  const std::string out = ports(node.contract().outputs(), "out_");
  if (!out.empty()) label += "|{" + out + "}";
  return label + "}";
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

std::string graph_to_dot(const Graph& g, const Plan& plan) {
  std::ostringstream out;
  out << "digraph " << id(g.name) << " {\n"
      << "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, label="
      << id(g.name + " (" + g.file + ")") << ", labelloc=t];\n"
      << "  node [shape=record, fontname=\"Helvetica\", fontsize=10];\n"
      << "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  // dot stacks the clusters of a left-to-right graph bottom up, in the order they are written: the
  // last phase is written first so that the first phase is drawn on top, read in file order.
  for (auto it = plan.phases.rbegin(); it != plan.phases.rend(); ++it) {
    const PhasePlan& pp = *it;
    const PhaseSpec& spec = g.phases[pp.phase];
    const std::string prefix = spec.name + "/";
    std::string updated;
    for (int m : pp.updated) updated += (updated.empty() ? "" : ", ") + g.modules[m].name;
    out << "  subgraph " << id("cluster_phase_" + spec.name) << " {\n"
        << "    label="
        << id(std::to_string(pp.phase + 1) + ". phase " + spec.name + ": minimise " +
              g.port_name(spec.minimize) + ", update " + updated)
        << ";\n    style=rounded; color=\"#555555\";\n";
    // Nodes, grouped by the module they apply.
    std::set<int> modules_here;
    for (const auto& s : pp.nodes)
      if (g.nodes[s.node].module >= 0) modules_here.insert(g.nodes[s.node].module);
    auto emit_node = [&](const PlannedNode& s, const std::string& indent) {
      const NodeEntry& node = g.nodes[s.node];
      const std::string what =
          node.module >= 0 ? "apply " + g.modules[node.module].name : node.contract().type();
      out << indent << id(prefix + node.name) << " [label=" << escaped_label(record_label(node, what));
      if (s.reuse)
        out << ", style=dashed, tooltip=" << id(s.reason);
      else
        out << ", tooltip=" << id(s.reason);
      if (s.node == spec.minimize.node) out << ", peripheries=2";
      out << "];\n";
    };
    for (int m : modules_here) {
      const bool is_updated = contains(pp.updated, m);
      out << "    subgraph " << id("cluster_" + spec.name + "_module_" + g.modules[m].name) << " {\n"
          << "      label=" << id(g.modules[m].name + (is_updated ? " (updated)" : " (frozen)")) << ";\n"
          << "      style=\"filled,rounded" << (is_updated ? "" : ",dashed")
          << "\"; fillcolor=" << (is_updated ? "\"#fde0dd\"" : "\"#deebf7\"") << ";\n";
      for (const auto& s : pp.nodes)
        if (g.nodes[s.node].module == m) emit_node(s, "      ");
      out << "    }\n";
    }
    for (const auto& s : pp.nodes)
      if (g.nodes[s.node].module < 0) emit_node(s, "    ");
    // Edges between the phase's nodes, from output port to input port.
    for (const auto& s : pp.nodes)
      for (const auto& [port, ref] : g.nodes[s.node].inputs) {
        // A stale read comes from the earlier phase's node, dotted.
        std::string from = prefix, style;
        for (const auto& read : s.stale_reads)
          if (read.port == port) {
            from = g.phases[read.phase].name + "/";
            style = ", style=dotted, constraint=false";
          }
        out << "    " << id(from + g.nodes[ref.node].name) << ":" << id("out_" + ref.port) << " -> "
            << id(prefix + g.nodes[s.node].name) << ":" << id("in_" + port)
            << " [label=" << id(style.empty() ? ref.port : ref.port + " (stale)") << style << "];\n";
      }
    // A previous-iteration read comes from the phase that computes the producer, dashed.
    for (const auto& s : pp.nodes)
      for (const auto& [port, ref] : g.nodes[s.node].previous_inputs)
        for (const auto& other : plan.phases) {
          const auto computed =
              std::find_if(other.nodes.begin(), other.nodes.end(),
                           [&](const PlannedNode& o) { return o.node == ref.node && !o.reuse; });
          if (computed == other.nodes.end()) continue;
          out << "    " << id(g.phases[other.phase].name + "/" + g.nodes[ref.node].name) << ":"
              << id("out_" + ref.port) << " -> " << id(prefix + g.nodes[s.node].name) << ":"
              << id("in_" + port) << " [label=" << id(ref.port + " (previous iteration)")
              << ", style=dashed, constraint=false];\n";
          break;
        }
    out << "  }\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace ganglion
