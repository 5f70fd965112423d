// The params a node receives: already checked by the engine against the node's contract (type,
// range, required), with defaults filled in, so a plugin reads them without checking again.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "ganglion/contract.h"

namespace ganglion {

/// The value of a Layer param: the layer type it names and that type's own params, as given (the
/// engine fills the layer's defaults when it makes it).
struct LayerChoice {
  std::string type;
  std::map<std::string, ParamValue> params;
};

class Params {
 public:
  Params() = default;
  explicit Params(std::map<std::string, ParamValue> values, std::map<std::string, LayerChoice> layers = {})
      : values_(std::move(values)), layers_(std::move(layers)) {}

  std::int64_t integer(const std::string& name) const { return get<std::int64_t>(name); }
  double real(const std::string& name) const {
    const ParamValue& v = at(name);
    if (auto i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    return get<double>(name);
  }
  bool flag(const std::string& name) const { return get<bool>(name); }
  const std::string& text(const std::string& name) const { return get<std::string>(name); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  const std::map<std::string, ParamValue>& values() const { return values_; }
  void set(const std::string& name, ParamValue value) { values_[name] = std::move(value); }
  /// A Layer param's choice (its type name is also text(name)).
  const LayerChoice& layer(const std::string& name) const {
    auto it = layers_.find(name);
    if (it == layers_.end())
      throw std::logic_error("param \"" + name + "\" is not a layer param of this node");
    return it->second;
  }
  const std::map<std::string, LayerChoice>& layers() const { return layers_; }
  void set_layer(const std::string& name, LayerChoice choice) {
    values_[name] = choice.type;
    layers_[name] = std::move(choice);
  }

 private:
  const ParamValue& at(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end())
      throw std::logic_error("param \"" + name + "\" is not declared in this node's contract");
    return it->second;
  }
  template <class T>
  const T& get(const std::string& name) const {
    const T* v = std::get_if<T>(&at(name));
    if (!v) throw std::logic_error("param \"" + name + "\" read with the wrong type");
    return *v;
  }

  std::map<std::string, ParamValue> values_;
  std::map<std::string, LayerChoice> layers_;
};

/// A contract's defaults with `overrides` on top: what the engine would pass for a node whose
/// graph entry sets only `overrides`. For testing a node on its own. Members of a param group
/// (NAME.MEMBER) are there only when `overrides` names them.
inline Params defaults_of(const Contract& contract, const std::map<std::string, ParamValue>& overrides = {}) {
  std::map<std::string, ParamValue> values;
  for (const auto& p : contract.params())
    if (p.input_group.empty()) values[p.name] = p.default_value;  // a group's members are named below
  for (const auto& [name, value] : overrides) {
    if (!contract.find_param(name))
      throw std::logic_error(contract.type() + " has no param \"" + name + "\"");
    values[name] = value;
  }
  // A Layer param given (or defaulting to) a type name chooses that type with its default params.
  std::map<std::string, LayerChoice> layers;
  for (const auto& p : contract.params())
    if (p.type == ParamType::Layer)
      if (const auto* type = std::get_if<std::string>(&values[p.name]))
        layers[p.name] = LayerChoice{*type, {}};
  return Params(std::move(values), std::move(layers));
}

}  // namespace ganglion
