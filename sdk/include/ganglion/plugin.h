// How a shared library becomes a Ganglion plugin: one exported C entry returning a descriptor, and
// a registration function that adds node types. Use GANGLION_PLUGIN; do not write the entry by hand.
#pragma once

#include <torch/version.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ganglion/abi.h"
#include "ganglion/contract.h"
#include "ganglion/node.h"

namespace ganglion {

/// One node type: its contract and the factory for its kind (only the one matching
/// contract.kind() is set).
struct NodeType {
  Contract contract;
  std::function<std::shared_ptr<NetModule>(const NodeSetup&)> make_module;
  std::function<std::shared_ptr<Function>(const NodeSetup&)> make_function;
  std::function<std::shared_ptr<Source>(const NodeSetup&)> make_source;
  std::function<std::shared_ptr<Writer>(const NodeSetup&)> make_writer;
  std::function<torch::nn::AnyModule(const NodeSetup&, const LayerArgs&)> make_layer;
};

/// A Layer type: a contract of kind Layer (with its family) and a factory that builds the module
/// for given shapes, e.g.
///   layer_type(Contract("upsamplers/nearest-conv", NodeKind::Layer).family("upsampler"),
///              [](const NodeSetup& s, const LayerArgs& a) { return torch::nn::AnyModule(...); })
inline NodeType layer_type(Contract contract,
                           std::function<torch::nn::AnyModule(const NodeSetup&, const LayerArgs&)> make) {
  if (contract.kind() != NodeKind::Layer)
    throw std::logic_error("layer type " + contract.type() + " declares kind " + to_string(contract.kind()));
  if (contract.layer_family().empty())
    throw std::logic_error("layer type " + contract.type() + " names no family (Contract::family)");
  NodeType t;
  t.contract = std::move(contract);
  t.make_layer = std::move(make);
  return t;
}

/// The engine's side of registration.
class TypeRegistrar {
 public:
  virtual ~TypeRegistrar() = default;
  virtual void add(NodeType type) = 0;
};

/// Builds a NodeType for class T, which has `static Contract contract()` and a constructor taking
/// `const NodeSetup&`. The kind is taken from the contract.
template <class T>
NodeType node_type() {
  NodeType t;
  t.contract = T::contract();
  auto wrong_kind = [&](NodeKind base) {
    if (t.contract.kind() != base)
      throw std::logic_error("node type " + t.contract.type() + " declares kind " +
                             to_string(t.contract.kind()) + " but derives from the " + to_string(base) +
                             " base class");
  };
  if constexpr (std::is_base_of_v<NetModule, T>) {
    wrong_kind(NodeKind::Module);
    t.make_module = [](const NodeSetup& s) -> std::shared_ptr<NetModule> { return std::make_shared<T>(s); };
  } else if constexpr (std::is_base_of_v<Function, T>) {
    wrong_kind(NodeKind::Function);
    t.make_function = [](const NodeSetup& s) -> std::shared_ptr<Function> { return std::make_shared<T>(s); };
  } else if constexpr (std::is_base_of_v<Source, T>) {
    wrong_kind(NodeKind::Source);
    t.make_source = [](const NodeSetup& s) -> std::shared_ptr<Source> { return std::make_shared<T>(s); };
  } else {
    static_assert(std::is_base_of_v<Writer, T>,
                  "a node type derives from NetModule, Function, Source or Writer");
    wrong_kind(NodeKind::Writer);
    t.make_writer = [](const NodeSetup& s) -> std::shared_ptr<Writer> { return std::make_shared<T>(s); };
  }
  return t;
}

/// What the entry symbol returns. `sdk_abi` comes first and never moves, so that an engine can
/// read it from a plugin of any ABI and refuse it cleanly.
struct PluginDescriptor {
  int sdk_abi;
  /// sizeof(PluginDescriptor) where the plugin was built: a field added at the end by a later SDK
  /// is read only from plugins whose descriptor is large enough to hold it.
  std::uint32_t size;
  /// libstdc++'s string ABI (_GLIBCXX_USE_CXX11_ABI, -1 elsewhere): std::string and std::function
  /// cross the boundary, so both sides must agree.
  int cxx11_abi;
  const char* name;
  const char* version;
  /// TORCH_VERSION of the LibTorch the plugin was compiled against.
  const char* torch_version;
  /// Registers the plugin's types; returns nullptr, or a message when registration failed.
  /// Never throws: the macro catches everything at the library boundary.
  const char* (*register_types)(TypeRegistrar& registrar);
  /// Room for what later SDKs add without changing the ABI: zero.
  const void* reserved[8];
};

}  // namespace ganglion

#ifdef _GLIBCXX_USE_CXX11_ABI
#define GANGLION_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define GANGLION_CXX11_ABI -1
#endif

#define GANGLION_PLUGIN_ENTRY ganglion_plugin_v1
#define GANGLION_PLUGIN_ENTRY_NAME "ganglion_plugin_v1"

/// Declares a plugin. Write the registration body after it:
///   GANGLION_PLUGIN("nets", "0.1.0") { registrar.add(ganglion::node_type<MyNet>()); }
#define GANGLION_PLUGIN(NAME, VERSION)                                                         \
  static void ganglion_register_types_(::ganglion::TypeRegistrar& registrar);                  \
  static const char* ganglion_register_guarded_(::ganglion::TypeRegistrar& registrar) {        \
    static std::string error;                                                                  \
    try {                                                                                      \
      ganglion_register_types_(registrar);                                                     \
      return nullptr;                                                                          \
    } catch (const std::exception& e) {                                                        \
      error = e.what();                                                                        \
    } catch (...) {                                                                            \
      error = "unknown exception";                                                             \
    }                                                                                          \
    return error.c_str();                                                                      \
  }                                                                                            \
  extern "C" __attribute__((visibility("default"))) const ::ganglion::PluginDescriptor*        \
  GANGLION_PLUGIN_ENTRY() {                                                                    \
    static const ::ganglion::PluginDescriptor descriptor{GANGLION_SDK_ABI,                     \
                                                         sizeof(::ganglion::PluginDescriptor), \
                                                         GANGLION_CXX11_ABI,                   \
                                                         NAME,                                 \
                                                         VERSION,                              \
                                                         TORCH_VERSION,                        \
                                                         &ganglion_register_guarded_,          \
                                                         {}};                                  \
    return &descriptor;                                                                        \
  }                                                                                            \
  static void ganglion_register_types_(::ganglion::TypeRegistrar& registrar)
