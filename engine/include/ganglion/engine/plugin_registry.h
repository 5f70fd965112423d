// Finding, loading and indexing plugins. A library that cannot be used is skipped with the reason
// (never silently); two libraries defining one type name is an error naming both.
//
// Torch-free: what reads only contracts (the loader, planner, schema, edit, inspect) includes this
// without LibTorch; the factories, which make torch objects, are behind NodeType (ganglion/plugin.h).
#pragma once

#include <ganglion/contract.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ganglion {

struct NodeType;
struct NodeSetup;
class NetModule;
class Function;
class Source;
class Writer;

/// A node type together with where it came from. `library` keeps the shared library loaded for as
/// long as anything made by the type may live: objects made through the registry hold it too.
struct RegisteredType {
  /// First, so that it is destroyed last: the factories below are code inside the library.
  std::shared_ptr<void> library;
  /// What the type declares: all that validation, planning and the schema read.
  Contract contract;
  /// Its factories (complete only where ganglion/plugin.h is included).
  std::shared_ptr<const NodeType> type;
  std::string file;
  std::string plugin;
  std::string plugin_version;
  /// Every type of the registry this one belongs to: where the layer types a network's Layer
  /// params name are found when it is made (null for a type made outside a registry).
  const std::map<std::string, RegisteredType>* registry = nullptr;
};

struct SkippedPlugin {
  std::string file;
  std::string reason;
};

class PluginRegistry {
 public:
  /// The folders searched, in order: the built-in plugins (the build tree's plugin folder when the
  /// engine library is the build tree's, else lib/ganglion/plugins beside the installed library),
  /// then each entry of GANGLION_PLUGIN_PATH (colon-separated), then `extra`.
  static std::vector<std::string> search_path(const std::vector<std::string>& extra);

  /// Loads every `*.so` in the folders (a folder that does not exist is skipped quietly, a file
  /// named directly is loaded). Throws UserError when two plugins define the same type.
  void load(const std::vector<std::string>& folders_or_files);

  const RegisteredType* find(const std::string& type) const;
  std::vector<std::string> type_names() const;
  const std::vector<SkippedPlugin>& skipped() const { return skipped_; }
  const std::map<std::string, RegisteredType>& types() const { return *types_; }

  /// Adds a type directly (for tests and built-in types), as if from `file`.
  void add(NodeType type, const std::string& file);

 private:
  void load_library(const std::string& path);
  // Behind a pointer, so the map stays where each type's `registry` points when a registry moves.
  std::shared_ptr<std::map<std::string, RegisteredType>> types_ =
      std::make_shared<std::map<std::string, RegisteredType>>();
  std::vector<SkippedPlugin> skipped_;
  std::vector<std::string> duplicate_errors_;
};

/// Makes the object of a registered type, keeping its library alive for the object's lifetime.
/// A network's Layer params are resolved through the type's registry (NodeSetup::make_layer).
std::shared_ptr<NetModule> make_module(const RegisteredType& t, const NodeSetup& setup);
std::shared_ptr<Function> make_function(const RegisteredType& t, const NodeSetup& setup);
std::shared_ptr<Source> make_source(const RegisteredType& t, const NodeSetup& setup);
std::shared_ptr<Writer> make_writer(const RegisteredType& t, const NodeSetup& setup);

/// The SDK ABI and LibTorch version this engine accepts.
int engine_sdk_abi();
const char* engine_torch_version();

}  // namespace ganglion
