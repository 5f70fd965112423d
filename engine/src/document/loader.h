// The loader's insides, shared by the files that check each part of a graph document
// (graph_loader.cpp: the whole and the entry points; load_nodes.cpp: modules, nodes, params and
// inputs; load_phases.cpp: phases, optimizers, schedules; load_outputs.cpp: samples, eval, log).
// Private to the engine: not installed, not included outside document/.
#pragma once

#include "ganglion/engine/graph_loader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <set>

#include "ganglion/engine/build_config.h"
#include "ganglion/engine/graph_include.h"
#include "ganglion/engine/json_file.h"
#include "ganglion/engine/node_order.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ganglion::loading {

/// "a string", "an object": what a JSON value is, in messages.
std::string type_name(const json& j);
/// Every module that `node` applies or reads, directly or not, the output of.
std::set<int> modules_upstream(const Graph& g, int node);
/// Whether `node` applies `module` or reads, directly or not, a node that does.
bool influences(const Graph& g, int module, int node);
std::string quote(const std::string& s);
/// "a, b, c", or "none".
std::string list_names(const std::vector<std::string>& names);
/// "no optimizer "X" (did you mean "Y"?); declared: ...", for a name that none of a section's
/// entries has.
std::string no_such(const std::string& what, const std::string& name, const std::vector<std::string>& names,
                    const std::string& section);
/// Why output `r` cannot feed input `spec` (dtype or rank), or "" when it can.
std::string port_mismatch(const PortSpec& spec, const Graph& g, const PortRef& r);

/// Everything the checks share: the document, where errors go, the registry.
class Loader {
 public:
  Loader(const std::string& file, const PluginRegistry& registry, Completeness completeness)
      : file_(file), diags_(file), registry_(registry), completeness_(completeness) {
    std::error_code ec;
    graph_dir_ = fs::absolute(fs::path(file), ec).parent_path().string();
  }

  Graph build(json document);
  /// A lone node entry (check_node_entry).
  CheckedNodeEntry check_entry(const json& entry, const std::vector<std::string>& inputs);

 private:
  void check_keys(const json& object, const std::string& pointer, const std::vector<std::string>& allowed) {
    for (const auto& [key, _] : object.items())
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        diags_.error(pointer + json_pointer({key}), "unknown field " + quote(key) +
                                                        did_you_mean(key, allowed) +
                                                        "; allowed here: " + list_names(allowed));
  }

  /// Reads an integer field with a default and a lower bound; reports and returns the default on
  /// any problem.
  std::int64_t integer_field(const json& object, const std::string& key, const std::string& pointer,
                             std::int64_t fallback, std::int64_t min) {
    if (!object.contains(key)) return fallback;
    const auto& v = object[key];
    const auto where = pointer + json_pointer({key});
    if (!v.is_number_integer()) {
      diags_.error(where, "expected an integer, found " + type_name(v));
      return fallback;
    }
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(INT64_MAX)) {
      diags_.error(where, quote(key) + " is " + v.dump() + ", too large");
      return fallback;
    }
    const auto x = v.get<std::int64_t>();
    if (x < min) {
      diags_.error(where,
                   quote(key) + " is " + std::to_string(x) + ", must be at least " + std::to_string(min));
      return fallback;
    }
    return x;
  }

  double number_field(const json& object, const std::string& key, const std::string& pointer, double fallback,
                      double min, double max) {
    if (!object.contains(key)) return fallback;
    const auto& v = object[key];
    const auto where = pointer + json_pointer({key});
    if (!v.is_number()) {
      diags_.error(where, "expected a number, found " + type_name(v));
      return fallback;
    }
    const double x = v.get<double>();
    if (!(x >= min && x <= max)) {
      diags_.error(where, quote(key) + " is " + v.dump() + ", must be in [" + json(min).dump() + ", " +
                              json(max).dump() + "]");
      return fallback;
    }
    return x;
  }

  const std::string* string_field(const json& object, const std::string& key, const std::string& pointer,
                                  bool required) {
    if (!object.contains(key)) {
      if (required) diags_.error(pointer, "missing field " + quote(key));
      return nullptr;
    }
    const auto& v = object[key];
    if (!v.is_string()) {
      diags_.error(pointer + json_pointer({key}), "expected a string, found " + type_name(v));
      return nullptr;
    }
    return v.get_ptr<const std::string*>();
  }

  const RegisteredType* find_type(const std::string& type, const std::string& pointer, NodeKind wanted,
                                  bool module_entry);
  std::string substitute(const std::string& text, const std::string& pointer);
  Params check_params(const Contract& contract, const json& entry, const std::string& pointer);
  std::optional<LayerChoice> check_layer(const ParamSpec& spec, const json& value, const std::string& where);
  void load_modules(const json& modules, Graph& g);
  void declare_nodes(const json& nodes, Graph& g);
  void resolve_inputs(const json& nodes, Graph& g);
  /// Fills and checks the members of the node's param groups (w.NAME for each input terms.NAME).
  void check_param_groups(NodeEntry& n);
  void declare_weights(const json& value, const std::string& pointer, ModuleEntry& m);
  bool resolve_ref(const json& value, const std::string& pointer, const Graph& g, PortRef& out);
  void load_phases(const json& phases, Graph& g, bool refs_ok);
  void load_named_optimizers(const json& optimizers, Graph& g);
  void attach_optimizers(const json& phases, Graph& g);
  void warn_about_training(Graph& g);
  OptimizerSpec load_optimizer(const json& j, const std::string& pointer, OptimizerSpec base);
  void load_outputs(const json& outputs, Graph& g);
  void load_samples_grid(const json& grid, const std::string& pointer, const std::string& name, Graph& g);
  void load_sequence(const json& sequence, const std::string& pointer, const Graph& g, SamplesSpec& spec);
  void load_eval(const json& e, Graph& g);
  void load_translate(const json& t, const std::string& pointer, const std::string& name, Graph& g);
  void load_schedules(const json& schedules, Graph& g);
  void load_schedule_entry(const std::string& name, const json& entry, const std::string& pointer, Graph& g);
  /// Calls `each` with every entry of a section of named entries ("optimizers", "schedules"),
  /// after checking the section is an object and each name a valid one.
  void for_each_named(const json& section, const std::string& key, const std::string& example,
                      const std::function<void(const std::string&, const json&, const std::string&)>& each);
  /// Whether `name` is one of the graph's schedules; reports at `where` when it is not.
  bool schedule_named(const std::string& name, const std::string& where);
  std::vector<std::string> schedule_names_;
  std::string default_writer(const Graph& g, const PortRef& from, const std::string& pointer);
  void load_schedule(const json& j, const std::string& pointer, OptimizerSpec& o);

  /// A problem of a graph still being built: an error for a runnable graph, else a thing to do.
  void unfinished(const std::string& pointer, const std::string& message);

  std::string file_, graph_dir_;
  /// Checking a lone entry (check_entry): any schedule name is one the caller will provide.
  bool lone_entry_ = false;
  Diagnostics diags_;
  const PluginRegistry& registry_;
  Completeness completeness_;

 public:
  std::vector<Diagnostic> todo_;
};

}  // namespace ganglion::loading
