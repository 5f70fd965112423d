// The static contract of a node type: its ports and params, declared once. Validation, `inspect`,
// the plan output and (later) the JSON schema are all generated from it. Torch-free on purpose.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ganglion {

/// Element type carried by a port: floating point, integer (class labels, token ids, lengths; not
/// bool), bool (masks), or `Any`.
enum class DType { Float, Long, Any, Bool };

/// What a node type is: a parameterised network several nodes may apply (Module), a stateless or
/// stateful operation (Function), something that draws samples (Source: datasets, noise), a sink
/// the engine calls to write outputs (Writer), or a building block a network makes inside itself
/// when a param names it (Layer: an upsampler, say), never a node of the graph.
enum class NodeKind { Module, Function, Source, Writer, Layer };

/// `Layer`: the name of a registered layer type of the param's family, with params of its own
/// (in a graph: "upsamplers/nearest-conv" or {"type": ..., "params": {...}}). `Schedule`: the name
/// of one of the graph's "schedules" ("" = none), whose value the node reads with
/// RunContext::schedule.
enum class ParamType { Int, Float, Bool, String, Path, Layer, Schedule };

/// A param's value. `std::monostate` as a default means "required: no default".
using ParamValue = std::variant<std::monostate, std::int64_t, double, bool, std::string>;

inline const char* to_string(DType t) {
  switch (t) {
    case DType::Float:
      return "float";
    case DType::Long:
      return "long";
    case DType::Bool:
      return "bool";
    default:
      return "any";
  }
}
inline const char* to_string(NodeKind k) {
  switch (k) {
    case NodeKind::Module:
      return "module";
    case NodeKind::Function:
      return "function";
    case NodeKind::Source:
      return "source";
    case NodeKind::Layer:
      return "layer";
    default:
      return "writer";
  }
}
inline const char* to_string(ParamType t) {
  switch (t) {
    case ParamType::Int:
      return "int";
    case ParamType::Float:
      return "float";
    case ParamType::Bool:
      return "bool";
    case ParamType::String:
      return "string";
    case ParamType::Layer:
      return "layer";
    case ParamType::Schedule:
      return "schedule";
    default:
      return "path";
  }
}

struct PortSpec {
  std::string name;
  DType dtype = DType::Float;
  /// Comma-separated dimensions, e.g. "B,C,H,W"; "" is a scalar; "*" is any rank. A name stands
  /// for one size across all of a node's ports (the engine checks that "B" or "T" agree at every
  /// call); a number is that exact size.
  std::string shape;
  bool optional = false;
  std::string doc;
  /// A port group (input_group): the node takes any number of inputs named NAME.MEMBER, at least
  /// `min_count` of them.
  bool group = false;
  int min_count = 0;

  /// Number of dimensions the shape pattern names, or -1 for "*".
  int rank() const {
    if (shape == "*") return -1;
    if (shape.empty()) return 0;
    int n = 1;
    for (char c : shape) n += c == ',';
    return n;
  }
  /// The dimensions of `shape`, one entry each ("B", "3"); empty for a scalar or "*".
  std::vector<std::string> dimensions() const {
    std::vector<std::string> dims;
    if (shape.empty() || shape == "*") return dims;
    std::string::size_type start = 0;
    for (;;) {
      const auto comma = shape.find(',', start);
      dims.push_back(shape.substr(start, comma - start));
      if (comma == std::string::npos) return dims;
      start = comma + 1;
    }
  }
  /// Whether input name `port` is this spec's: its name, or NAME.MEMBER for a group.
  bool accepts(const std::string& port) const {
    if (!group) return port == name;
    return port.size() > name.size() + 1 && port.compare(0, name.size(), name) == 0 &&
           port[name.size()] == '.';
  }
};

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Int;
  ParamValue default_value;
  std::optional<double> min, max;
  std::string doc;
  /// For a Layer param: the family its layer types belong to ("upsampler").
  std::string family;
  /// For a param group (param_float_group): the input group it is keyed by. The node then takes a
  /// param NAME.MEMBER for each connected input GROUP.MEMBER, defaulted where the graph sets none.
  std::string input_group;

  bool required() const { return std::holds_alternative<std::monostate>(default_value); }
};

/// One node type's description. Built with chaining calls that read like the sentence they declare:
///   Contract("noise/normal", NodeKind::Source).doc("...").output("z", DType::Float, "B,Z", "...")
class Contract {
 public:
  Contract() = default;
  Contract(std::string type, NodeKind kind) : type_(std::move(type)), kind_(kind) {}

  Contract& doc(std::string text);
  Contract& input(std::string name, DType dtype, std::string shape, std::string doc);
  Contract& optional_input(std::string name, DType dtype, std::string shape, std::string doc);
  /// A port group: any number of inputs NAME.MEMBER ("terms.adversarial", "terms.cycle"), each of
  /// this dtype and shape; NodeSetup::inputs lists those a graph connects. `min_count` of them are
  /// required.
  Contract& input_group(std::string name, DType dtype, std::string shape, std::string doc, int min_count = 1);
  Contract& output(std::string name, DType dtype, std::string shape, std::string doc);
  Contract& param_int(std::string name, std::optional<std::int64_t> default_value, std::optional<double> min,
                      std::optional<double> max, std::string doc);
  Contract& param_float(std::string name, std::optional<double> default_value, std::optional<double> min,
                        std::optional<double> max, std::string doc);
  Contract& param_bool(std::string name, bool default_value, std::string doc);
  Contract& param_string(std::string name, std::optional<std::string> default_value, std::string doc);
  Contract& param_path(std::string name, std::optional<std::string> default_value, std::string doc);
  /// A param naming a layer type of `family` (default: `default_type`), resolved through the plugin
  /// registry: a network builds its parts from it with NodeSetup::make_layer.
  Contract& param_layer(std::string name, std::string family, std::string default_type, std::string doc);
  /// For a Layer type: the family it belongs to, which params of that family accept.
  Contract& family(std::string name);
  /// One float param per member of input group `group`: NAME.MEMBER (default `default_value`), e.g.
  /// weights "w.cycle" for inputs "terms.cycle".
  Contract& param_float_group(std::string name, std::string group, double default_value,
                              std::optional<double> min, std::optional<double> max, std::string doc);
  /// A param naming one of the graph's schedules (default: none), which the node reads while it
  /// runs (a fade-in alpha, say) with RunContext::schedule(params.text(name)).
  Contract& param_schedule(std::string name, std::string doc);
  /// The node differentiates its own inputs inside forward (gradient penalties, R1): the plan
  /// keeps the graph of its inputs for a second derivative.
  Contract& second_order(bool value = true);

  // Roles: what the engine does with a node is read here, never from its type's name.
  /// A source whose rows are data (images/s and images seen count them), not noise.
  Contract& counts_rows(bool value = true);
  /// A function that scores a draw of samples: evaluations run it when none are named.
  Contract& metric(bool value = true);
  /// A writer the engine picks for outputs.samples that names none, when the value's rank fits
  /// its input.
  Contract& default_writer(bool value = true);
  /// The param of a class-label source that `ganglion sample --classes` sets.
  Contract& classes_param(std::string name);
  /// The String param of a caption source that `ganglion sample --text` sets to the user's
  /// captions, separated by "|".
  Contract& text_param(std::string name);
  /// The Int param of a writer that says how many images make a row (io/png-grid's "columns"): a
  /// samples grid of rows from several outputs sets it to their batch size unless the graph does.
  Contract& row_length_param(std::string name);
  /// A generator split as StyleGAN's into a mapping and a synthesis: the mapping takes input
  /// `z_port` to per-layer styles, which the module outputs at `w_port` (shape "B,L,D": L style
  /// layers, coarse to fine), and which it takes back as the optional input `w_port` in place of
  /// what the mapping would give (synthesis only); the buffer `w_avg_buffer` holds the mean style
  /// ("D"). `ganglion sample` then offers truncation, style mixing and interpolation in W.
  Contract& style_split(std::string z_port, std::string w_port, std::string w_avg_buffer);

  const std::string& type() const { return type_; }
  NodeKind kind() const { return kind_; }
  const std::string& description() const { return doc_; }
  const std::vector<PortSpec>& inputs() const { return inputs_; }
  const std::vector<PortSpec>& outputs() const { return outputs_; }
  const std::vector<ParamSpec>& params() const { return params_; }
  bool is_second_order() const { return second_order_; }
  const std::string& layer_family() const { return family_; }
  bool counts_rows_as_data() const { return counts_rows_; }
  bool is_metric() const { return metric_; }
  bool is_default_writer() const { return default_writer_; }
  const std::string& classes_param_name() const { return classes_param_; }
  const std::string& text_param_name() const { return text_param_; }
  const std::string& row_length_param_name() const { return row_length_param_; }
  /// The ports and buffer of style_split(); empty names when the module declares none.
  struct StyleSplit {
    std::string z_port, w_port, w_avg_buffer;
    bool declared() const { return !w_port.empty(); }
  };
  const StyleSplit& style_split() const { return style_split_; }

  /// The input spec that input name `name` is: a port, or the group NAME.MEMBER belongs to.
  const PortSpec* find_input(const std::string& name) const;
  const PortSpec* find_output(const std::string& name) const;
  /// The spec of param `name`: a param, or the param group NAME.MEMBER belongs to.
  const ParamSpec* find_param(const std::string& name) const;

 private:
  std::string type_;
  NodeKind kind_ = NodeKind::Function;
  std::string doc_;
  std::vector<PortSpec> inputs_, outputs_;
  std::vector<ParamSpec> params_;

  bool second_order_ = false;
  std::string family_;
  bool counts_rows_ = false, metric_ = false, default_writer_ = false;
  std::string classes_param_, row_length_param_, text_param_;
  StyleSplit style_split_;

  template <class T>
  Contract& set(T& field, T value) {
    field = std::move(value);
    return *this;
  }
};

// Inline so that the SDK stays header-only for out-of-tree plugins.
inline Contract& Contract::doc(std::string text) {
  doc_ = std::move(text);
  return *this;
}
inline Contract& Contract::input(std::string name, DType dtype, std::string shape, std::string doc) {
  inputs_.push_back({std::move(name), dtype, std::move(shape), false, std::move(doc)});
  return *this;
}
inline Contract& Contract::optional_input(std::string name, DType dtype, std::string shape, std::string doc) {
  inputs_.push_back({std::move(name), dtype, std::move(shape), true, std::move(doc)});
  return *this;
}
inline Contract& Contract::input_group(std::string name, DType dtype, std::string shape, std::string doc,
                                       int min_count) {
  PortSpec spec{std::move(name), dtype, std::move(shape), min_count == 0, std::move(doc)};
  spec.group = true;
  spec.min_count = min_count;
  inputs_.push_back(std::move(spec));
  return *this;
}
inline Contract& Contract::output(std::string name, DType dtype, std::string shape, std::string doc) {
  outputs_.push_back({std::move(name), dtype, std::move(shape), false, std::move(doc)});
  return *this;
}
inline Contract& Contract::param_int(std::string name, std::optional<std::int64_t> default_value,
                                     std::optional<double> min, std::optional<double> max, std::string doc) {
  ParamValue v;
  if (default_value) v = *default_value;
  params_.push_back({std::move(name), ParamType::Int, v, min, max, std::move(doc)});
  return *this;
}
inline Contract& Contract::param_float(std::string name, std::optional<double> default_value,
                                       std::optional<double> min, std::optional<double> max,
                                       std::string doc) {
  ParamValue v;
  if (default_value) v = *default_value;
  params_.push_back({std::move(name), ParamType::Float, v, min, max, std::move(doc)});
  return *this;
}
inline Contract& Contract::param_bool(std::string name, bool default_value, std::string doc) {
  params_.push_back({std::move(name), ParamType::Bool, default_value, {}, {}, std::move(doc)});
  return *this;
}
inline Contract& Contract::param_string(std::string name, std::optional<std::string> default_value,
                                        std::string doc) {
  ParamValue v;
  if (default_value) v = *default_value;
  params_.push_back({std::move(name), ParamType::String, v, {}, {}, std::move(doc)});
  return *this;
}
inline Contract& Contract::param_path(std::string name, std::optional<std::string> default_value,
                                      std::string doc) {
  ParamValue v;
  if (default_value) v = *default_value;
  params_.push_back({std::move(name), ParamType::Path, v, {}, {}, std::move(doc)});
  return *this;
}
inline Contract& Contract::param_layer(std::string name, std::string family, std::string default_type,
                                       std::string doc) {
  ParamSpec spec{std::move(name), ParamType::Layer, std::move(default_type), {}, {}, std::move(doc)};
  spec.family = std::move(family);
  params_.push_back(std::move(spec));
  return *this;
}
inline Contract& Contract::param_float_group(std::string name, std::string group, double default_value,
                                             std::optional<double> min, std::optional<double> max,
                                             std::string doc) {
  ParamSpec spec{std::move(name), ParamType::Float, default_value, min, max, std::move(doc)};
  spec.input_group = std::move(group);
  params_.push_back(std::move(spec));
  return *this;
}
inline Contract& Contract::family(std::string name) { return set(family_, std::move(name)); }
inline Contract& Contract::param_schedule(std::string name, std::string doc) {
  params_.push_back({std::move(name), ParamType::Schedule, std::string(), {}, {}, std::move(doc)});
  return *this;
}
inline Contract& Contract::second_order(bool value) { return set(second_order_, std::move(value)); }
inline Contract& Contract::counts_rows(bool value) { return set(counts_rows_, std::move(value)); }
inline Contract& Contract::metric(bool value) { return set(metric_, std::move(value)); }
inline Contract& Contract::default_writer(bool value) { return set(default_writer_, std::move(value)); }
inline Contract& Contract::classes_param(std::string name) { return set(classes_param_, std::move(name)); }
inline Contract& Contract::text_param(std::string name) { return set(text_param_, std::move(name)); }
inline Contract& Contract::row_length_param(std::string name) {
  return set(row_length_param_, std::move(name));
}
inline Contract& Contract::style_split(std::string z_port, std::string w_port, std::string w_avg_buffer) {
  return set(style_split_, StyleSplit{std::move(z_port), std::move(w_port), std::move(w_avg_buffer)});
}
inline const PortSpec* Contract::find_input(const std::string& name) const {
  for (const auto& p : inputs_)
    if (!p.group && p.name == name) return &p;
  for (const auto& p : inputs_)
    if (p.accepts(name)) return &p;
  return nullptr;
}
inline const PortSpec* Contract::find_output(const std::string& name) const {
  for (const auto& p : outputs_)
    if (p.name == name) return &p;
  return nullptr;
}
inline const ParamSpec* Contract::find_param(const std::string& name) const {
  for (const auto& p : params_)
    if (p.input_group.empty() && p.name == name) return &p;
  // NAME.MEMBER of a param group.
  for (const auto& p : params_)
    if (!p.input_group.empty() && name.size() > p.name.size() + 1 &&
        name.compare(0, p.name.size(), p.name) == 0 && name[p.name.size()] == '.')
      return &p;
  return nullptr;
}

}  // namespace ganglion
