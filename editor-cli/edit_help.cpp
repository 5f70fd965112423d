#include "edit_help.h"

#include <ganglion/contract.h>

#include "ganglion/engine/plugin_registry.h"

namespace ganglion {

namespace {

using Json = GraphDocument;

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> out;
  if (object.is_object())
    for (const auto& [k, v] : object.items()) out.push_back(k);
  return out;
}

bool has_entry(const Json& doc, const char* section, const std::string& name) {
  return doc.contains(section) && doc[section].is_object() && doc[section].contains(name);
}

/// The contract a node or module entry of the document follows, if its type is known.
const Contract* contract_of(const Json& doc, const PluginRegistry& registry, const std::string& name) {
  const Json* entry = nullptr;
  if (has_entry(doc, "nodes", name))
    entry = &doc["nodes"][name];
  else if (has_entry(doc, "modules", name))
    entry = &doc["modules"][name];
  if (!entry || !entry->is_object()) return nullptr;
  std::string type = entry->value("type", "");
  if (type.empty() && entry->contains("apply")) {
    const std::string module = entry->value("apply", "");
    if (has_entry(doc, "modules", module)) type = doc["modules"][module].value("type", "");
  }
  const RegisteredType* t = registry.find(type);
  return t ? &t->contract : nullptr;
}

/// "node.port" for every output (or input) port of every node.
std::vector<std::string> port_refs(const Json& doc, const PluginRegistry& registry, bool inputs) {
  std::vector<std::string> out;
  for (const auto& node : keys_of(doc.value("nodes", Json::object()))) {
    if (!inputs) out.push_back(node);
    if (const Contract* c = contract_of(doc, registry, node))
      for (const auto& p : inputs ? c->inputs() : c->outputs()) out.push_back(node + "." + p.name);
  }
  return out;
}

/// PARAM= of a contract, and in.PORT= when `with_inputs`.
std::vector<std::string> assignments_of(const Contract* c, bool params, bool with_inputs) {
  std::vector<std::string> out;
  if (!c) return out;
  if (params)
    for (const auto& p : c->params()) out.push_back(p.name + "=");
  if (with_inputs)
    for (const auto& p : c->inputs()) out.push_back("in." + p.name + "=");
  return out;
}

/// The candidates for a word of kind `kind`, the `words` before it given.
std::vector<std::string> candidates_for(EditArg kind, const Json& doc, const PluginRegistry& registry,
                                        const std::vector<std::string>& words) {
  const auto nodes = keys_of(doc.value("nodes", Json::object()));
  const auto modules = keys_of(doc.value("modules", Json::object()));
  auto types_of = [&](bool module_types) {
    std::vector<std::string> out;
    for (const auto& [name, t] : registry.types()) {
      const NodeKind k = t.contract.kind();
      if (module_types ? k == NodeKind::Module : (k == NodeKind::Function || k == NodeKind::Source))
        out.push_back(name);
    }
    return out;
  };
  static const std::vector<std::string> phase_settings{
      "every=", "repeat=",   "from=",  "lazy=", "optimizer=",   "lr=",
      "betas=", "momentum=", "alpha=", "eps=",  "weight_decay="};
  switch (kind) {
    case EditArg::NewName:
      return {};
    case EditArg::ModuleType:
      return types_of(true);
    case EditArg::NodeTypeOrModule: {
      auto out = types_of(false);
      out.insert(out.end(), modules.begin(), modules.end());
      return out;
    }
    case EditArg::ParamsOfType: {
      // Params of the type being added (a module's node takes none), and the inputs of a node.
      const bool applies = has_entry(doc, "modules", words[2]);
      const RegisteredType* t =
          registry.find(applies ? doc["modules"][words[2]].value("type", "") : words[2]);
      return assignments_of(t ? &t->contract : nullptr, !applies, words[0] == "add-node");
    }
    case EditArg::NodeOrModule: {
      auto out = nodes;
      out.insert(out.end(), modules.begin(), modules.end());
      return out;
    }
    case EditArg::ParamsOfEntry:
      return assignments_of(contract_of(doc, registry, words[1]), true, has_entry(doc, "nodes", words[1]));
    case EditArg::OutputRef:
      return port_refs(doc, registry, false);
    case EditArg::InputRef:
      return port_refs(doc, registry, true);
    case EditArg::Module:
      return modules;
    case EditArg::Phase: {
      std::vector<std::string> out;
      for (const auto& p : doc.value("phases", Json::array())) out.push_back(p.value("name", ""));
      return out;
    }
    case EditArg::PhaseSettings:
      return phase_settings;
    case EditArg::PhaseChanges: {
      auto out = phase_settings;
      out.insert(out.end(), {"minimize=", "update="});
      return out;
    }
    case EditArg::OutputSection:
      return {"samples", "checkpoint", "log"};
    case EditArg::OutputSettings:
      return {};
    case EditArg::GraphSettings:
      return {"name=", "seed=", "steps=", "description="};
  }
  return {};
}

}  // namespace

std::string edit_verbs_help() {
  // The usage column is as wide as the widest that fits; a longer one puts its help below it.
  constexpr size_t column = 40;
  std::string out = "verbs:\n";
  auto line = [&](const std::string& usage, const std::string& help) {
    std::string text = "  " + usage;
    if (text.size() + 1 > column)
      text += "\n" + std::string(column, ' ');
    else
      text += std::string(column - text.size(), ' ');
    // Wrap the help at 100 columns, continuing under itself.
    std::string rest = help;
    size_t width = 100 - column;
    while (rest.size() > width) {
      size_t cut = rest.rfind(' ', width);
      if (cut == std::string::npos) cut = width;
      text += rest.substr(0, cut) + "\n" + std::string(column, ' ');
      rest = rest.substr(cut + 1);
    }
    out += text + rest + "\n";
  };
  line("create [NAME]", "a new graph file (no modules, nodes or phases yet)");
  for (const auto& v : edit_verbs()) line(std::string(v.name) + " " + v.usage, v.help);
  out +=
      "VALUE is JSON when it parses as JSON, else a string. Every edit is validated; an edit that\n"
      "would make the graph invalid is refused and the file is left as it was.\n";
  return out;
}

std::vector<std::string> edit_completions(const GraphDocument& doc, const PluginRegistry& registry,
                                          const std::vector<std::string>& words, const std::string& partial) {
  std::vector<std::string> candidates;
  if (words.empty()) {
    for (const auto& v : edit_verbs()) candidates.push_back(v.name);
    for (const char* extra : {"show", "validate", "help", "quit"}) candidates.push_back(extra);
  } else if (const EditVerb* verb = find_edit_verb(words[0]); verb && !verb->args.empty()) {
    // The kind of the word being typed: the verb's argument at this place, or its last one.
    const size_t at = std::min(words.size() - 1, verb->args.size() - 1);
    candidates = candidates_for(verb->args[at], doc, registry, words);
  }
  std::vector<std::string> out;
  for (const auto& c : candidates)
    if (c.rfind(partial, 0) == 0) out.push_back(c);
  return out;
}

}  // namespace ganglion
