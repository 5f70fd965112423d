#include "ganglion/engine/plugin_registry.h"
#include <ganglion/plugin.h>

#include <unistd.h>

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "ganglion/engine/build_config.h"
#include "ganglion/engine/user_error.h"

namespace fs = std::filesystem;

namespace ganglion {

namespace {

/// What is wrong with a contract's role declarations, or "": a role that names ports the
/// contract lacks would fail only when the engine first uses it.
std::string contract_mistake(const Contract& c) {
  if (!c.text_param_name().empty()) {
    const ParamSpec* p = c.find_param(c.text_param_name());
    if (!p || p->type != ParamType::String)
      return "its text_param(\"" + c.text_param_name() + "\") names no String param of the contract";
  }
  const auto& split = c.style_split();
  if (!split.declared()) return {};
  const std::string what =
      "its style_split(\"" + split.z_port + "\", \"" + split.w_port + "\", \"" + split.w_avg_buffer + "\") ";
  if (c.kind() != NodeKind::Module)
    return what + "is declared by a " + to_string(c.kind()) + ", not a module";
  const PortSpec* z = c.find_input(split.z_port);
  const PortSpec* w_in = c.find_input(split.w_port);
  const PortSpec* w_out = c.find_output(split.w_port);
  if (!z) return what + "names input \"" + split.z_port + "\", which the contract lacks";
  if (!w_out || w_out->rank() != 3) return what + "needs an output \"" + split.w_port + "\" of shape B,L,D";
  if (!w_in || !w_in->optional || w_in->rank() != 3)
    return what + "needs an optional input \"" + split.w_port + "\" of shape B,L,D";
  if (split.w_avg_buffer.empty()) return what + "names no w_avg buffer";
  return {};
}

}  // namespace

namespace {

/// "1.13.0" -> "1.13": plugins must match the engine's LibTorch major.minor.
std::string major_minor(const std::string& v) {
  const auto first = v.find('.');
  const auto second = first == std::string::npos ? first : v.find('.', first + 1);
  return v.substr(0, second);
}

class CollectingRegistrar : public TypeRegistrar {
 public:
  void add(NodeType type) override { types.push_back(std::move(type)); }
  std::vector<NodeType> types;
};

template <class T>
std::shared_ptr<T> keep_library(std::shared_ptr<T> object, std::shared_ptr<void> library) {
  if (!object) throw std::runtime_error("the plugin's factory returned nothing");
  // The aliasing holder releases the object first, then the library that holds its code.
  struct Holder {
    std::shared_ptr<void> library;
    std::shared_ptr<T> object;
  };
  auto holder = std::make_shared<Holder>(Holder{std::move(library), std::move(object)});
  T* raw = holder->object.get();
  return std::shared_ptr<T>(holder, raw);
}

}  // namespace

int engine_sdk_abi() { return GANGLION_SDK_ABI; }
const char* engine_torch_version() { return TORCH_VERSION; }

std::vector<std::string> PluginRegistry::search_path(const std::vector<std::string>& extra) {
  // The built-in plugins: the build tree's when the engine library is the build tree's, else the
  // installed ones beside it, lib/ganglion/plugins (never both: they define the same types). The
  // library's place, not the program's: a plugin's test linking an installed engine (the node
  // runner) finds them too.
  std::vector<std::string> out;
  std::error_code ec;
  fs::path lib;
  try {
    lib = fs::weakly_canonical(boost::dll::this_line_location().string(), ec);
  } catch (...) {
    // No library location (unusual): fall back to the build tree.
  }
  const fs::path build = fs::weakly_canonical(GANGLION_BUILD_DIR, ec);
  const auto rel = lib.empty() ? fs::path() : lib.lexically_relative(build);
  const bool in_build_tree = lib.empty() || (!rel.empty() && *rel.begin() != "..");
  out.push_back(in_build_tree ? std::string(GANGLION_PLUGIN_BUILD_DIR)
                              : (lib.parent_path() / "ganglion" / "plugins").string());
  if (const char* env = std::getenv("GANGLION_PLUGIN_PATH")) {
    std::stringstream in(env);
    std::string item;
    while (std::getline(in, item, ':'))
      if (!item.empty()) out.push_back(item);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

void PluginRegistry::load(const std::vector<std::string>& folders_or_files) {
  std::vector<std::string> seen;
  for (const auto& entry : folders_or_files) {
    std::error_code ec;
    std::vector<std::string> files;
    if (fs::is_directory(entry, ec)) {
      for (const auto& f : fs::directory_iterator(entry, ec))
        if (f.path().extension() == ".so") files.push_back(f.path().string());
      std::sort(files.begin(), files.end());
    } else if (fs::exists(entry, ec)) {
      files.push_back(entry);
    }
    for (const auto& f : files) {
      const auto canonical = fs::weakly_canonical(f, ec).string();
      if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
      seen.push_back(canonical);
      load_library(f);
    }
  }
  if (!duplicate_errors_.empty()) {
    std::vector<Diagnostic> d;
    for (const auto& e : duplicate_errors_) d.push_back({"", "", e});
    throw UserError(d);
  }
}

void PluginRegistry::load_library(const std::string& path) {
  std::shared_ptr<boost::dll::shared_library> lib;
  try {
    // rtld_now: a missing symbol is found now, and reported, rather than crashing mid-run.
    lib = std::make_shared<boost::dll::shared_library>(
        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    skipped_.push_back({path, std::string("cannot be loaded: ") + e.what()});
    return;
  }
  if (!lib->has(GANGLION_PLUGIN_ENTRY_NAME)) {
    skipped_.push_back({path, "not a Ganglion plugin: it exports no " GANGLION_PLUGIN_ENTRY_NAME " symbol"});
    return;
  }
  const PluginDescriptor* d = nullptr;
  try {
    d = lib->get<const PluginDescriptor*()>(GANGLION_PLUGIN_ENTRY_NAME)();
  } catch (...) {
    d = nullptr;
  }
  if (!d) {
    skipped_.push_back({path, "its " GANGLION_PLUGIN_ENTRY_NAME "() returned nothing"});
    return;
  }
  if (d->sdk_abi != GANGLION_SDK_ABI) {
    skipped_.push_back({path, "built against Ganglion SDK ABI " + std::to_string(d->sdk_abi) +
                                  ", but this engine has ABI " + std::to_string(GANGLION_SDK_ABI) +
                                  ": rebuild the plugin against this SDK"});
    return;
  }
  // The fields this engine reads must lie inside the plugin's descriptor.
  if (d->size < offsetof(PluginDescriptor, reserved)) {
    skipped_.push_back({path, "its plugin descriptor is " + std::to_string(d->size) +
                                  " bytes, smaller than this SDK's: rebuild the plugin against this SDK"});
    return;
  }
  if (d->cxx11_abi != GANGLION_CXX11_ABI) {
    skipped_.push_back({path, "built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(d->cxx11_abi) +
                                  ", but this engine uses " + std::to_string(GANGLION_CXX11_ABI) +
                                  ": rebuild the plugin with the engine's compiler flags"});
    return;
  }
  const std::string theirs = d->torch_version ? d->torch_version : "?";
  if (major_minor(theirs) != major_minor(TORCH_VERSION)) {
    skipped_.push_back({path, "built against LibTorch " + theirs + ", but this engine uses LibTorch " +
                                  TORCH_VERSION + ": rebuild the plugin against this LibTorch"});
    return;
  }
  CollectingRegistrar registrar;
  if (const char* error = d->register_types(registrar)) {
    skipped_.push_back({path, std::string("its registration failed: ") + error});
    return;
  }
  std::shared_ptr<void> keep = lib;
  for (auto& t : registrar.types) {
    const std::string name = t.contract.type();
    auto it = types_->find(name);
    if (it != types_->end()) {
      duplicate_errors_.push_back("node type \"" + name + "\" is defined by two plugins: " + it->second.file +
                                  " and " + path + ": remove one of them");
      continue;
    }
    if (const std::string mistake = contract_mistake(t.contract); !mistake.empty()) {
      skipped_.push_back({path, "its type \"" + name + "\" is skipped: " + mistake});
      continue;
    }
    Contract contract = t.contract;
    (*types_)[name] =
        RegisteredType{keep,        std::move(contract),     std::make_shared<const NodeType>(std::move(t)),
                       path,        d->name ? d->name : "?", d->version ? d->version : "?",
                       types_.get()};
  }
}

void PluginRegistry::add(NodeType type, const std::string& file) {
  const std::string name = type.contract.type();
  Contract contract = type.contract;
  (*types_)[name] =
      RegisteredType{nullptr,     std::move(contract), std::make_shared<const NodeType>(std::move(type)),
                     file,        "built-in",          GANGLION_VERSION,
                     types_.get()};
}

const RegisteredType* PluginRegistry::find(const std::string& type) const {
  auto it = types_->find(type);
  return it == types_->end() ? nullptr : &it->second;
}

std::vector<std::string> PluginRegistry::type_names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : *types_) out.push_back(name);
  return out;
}

std::shared_ptr<NetModule> make_module(const RegisteredType& t, const NodeSetup& s) {
  if (s.make_layer || !t.registry) return keep_library(t.type->make_module(s), t.library);
  NodeSetup with_layers = s;
  with_layers.make_layer = [registry = t.registry, params = s.params](const std::string& param,
                                                                      const LayerArgs& args) {
    const LayerChoice& choice = params.layer(param);
    const auto it = registry->find(choice.type);
    if (it == registry->end() || it->second.contract.kind() != NodeKind::Layer)
      throw std::invalid_argument("param " + param + " names \"" + choice.type +
                                  "\", which is not a layer type of the loaded plugins");
    NodeSetup layer;
    layer.params = defaults_of(it->second.contract, choice.params);
    layer.name = param;
    // The module's code lives in the layer's library, which the registry keeps loaded.
    return it->second.type->make_layer(layer, args);
  };
  return keep_library(t.type->make_module(with_layers), t.library);
}
std::shared_ptr<Function> make_function(const RegisteredType& t, const NodeSetup& s) {
  return keep_library(t.type->make_function(s), t.library);
}
std::shared_ptr<Source> make_source(const RegisteredType& t, const NodeSetup& s) {
  return keep_library(t.type->make_source(s), t.library);
}
std::shared_ptr<Writer> make_writer(const RegisteredType& t, const NodeSetup& s) {
  return keep_library(t.type->make_writer(s), t.library);
}

}  // namespace ganglion
