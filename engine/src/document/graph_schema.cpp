#include "ganglion/engine/graph_schema.h"

#include <map>
#include <vector>

#include "ganglion/engine/plugin_registry.h"

using nlohmann::json;

namespace ganglion {

namespace {

const char* kNamePattern = "^[A-Za-z_][A-Za-z0-9_-]*$";
const char* kRefPattern = "^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z_][A-Za-z0-9_-]*)?$";

/// "#/definitions/params/nets~1dcgan-generator": type names hold "/", escaped in a pointer.
std::string params_ref(const std::string& type) {
  std::string escaped;
  for (char c : type)
    escaped += c == '/' ? std::string("~1") : c == '~' ? std::string("~0") : std::string(1, c);
  return "#/definitions/params/" + escaped;
}

/// Layer types by family, for the params that name one.
using Families = std::map<std::string, std::vector<std::string>>;

json param_schema(const ParamSpec& p, const Families& families) {
  json s;
  if (p.type == ParamType::Layer) {
    const auto it = families.find(p.family);
    const json types = it == families.end() ? json::array() : json(it->second);
    json object;
    object["type"] = "object";
    object["additionalProperties"] = false;
    object["required"] = json::array({"type"});
    object["properties"]["type"]["enum"] = types;
    object["properties"]["params"]["type"] = "object";
    json by_name;
    by_name["enum"] = types;
    s["oneOf"] = json::array({by_name, object});
    s["default"] = std::get<std::string>(p.default_value);
    s["description"] = p.doc + " (a layer of family " + p.family + ")";
    return s;
  }
  switch (p.type) {
    case ParamType::Int:
      s["type"] = "integer";
      break;
    case ParamType::Float:
      s["type"] = "number";
      break;
    case ParamType::Bool:
      s["type"] = "boolean";
      break;
    default:
      s["type"] = "string";
      break;
  }
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (!std::is_same_v<T, std::monostate>) s["default"] = v;
      },
      p.default_value);
  if (p.min) s["minimum"] = p.type == ParamType::Int ? json(static_cast<std::int64_t>(*p.min)) : json(*p.min);
  if (p.max) s["maximum"] = p.type == ParamType::Int ? json(static_cast<std::int64_t>(*p.max)) : json(*p.max);
  s["description"] = p.doc;
  return s;
}

json params_schema(const Contract& c, const Families& families) {
  json s{{"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}};
  json required = json::array();
  for (const auto& p : c.params()) {
    if (!p.input_group.empty()) {  // NAME.MEMBER, one per member of its input group
      s["patternProperties"]["^" + p.name + "\\.[A-Za-z_][A-Za-z0-9_-]*$"] = param_schema(p, families);
      continue;
    }
    s["properties"][p.name] = param_schema(p, families);
    if (p.required()) required.push_back(p.name);
  }
  if (!required.empty()) s["required"] = required;
  return s;
}

/// An input's value: "node.port", or {"from": "node.port", "stale": true} (or "previous": true).
json reference_schema(const std::string& description) {
  return {{"description", description},
          {"oneOf",
           {{{"type", "string"}, {"pattern", kRefPattern}},
            {{"type", "object"},
             {"additionalProperties", false},
             {"required", {"from"}},
             {"properties",
              {{"from", {{"type", "string"}, {"pattern", kRefPattern}}},
               {"stale",
                {{"type", "boolean"},
                 {"description",
                  "read the value an earlier phase computed, detached, even if a module it "
                  "depends on was updated since"}}},
               {"previous",
                {{"type", "boolean"},
                 {"description",
                  "read the value an earlier iteration last computed, detached (absent in the first "
                  "iteration: optional inputs only)"}}}}}}}}};
}

json inputs_schema(const Contract& c) {
  json s{{"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}};
  json required = json::array();
  for (const auto& p : c.inputs()) {
    const json ref = reference_schema(p.doc + " (" + to_string(p.dtype) + " [" + p.shape + "])");
    if (p.group) {  // NAME.MEMBER, any number of them
      s["patternProperties"]["^" + p.name + "\\.[A-Za-z_][A-Za-z0-9_-]*$"] = ref;
      continue;
    }
    s["properties"][p.name] = ref;
    if (!p.optional) required.push_back(p.name);
  }
  if (!required.empty()) s["required"] = required;
  return s;
}

/// {"if": field is T, "then": extra}
json when(const char* field, const std::string& type, json then) {
  return {{"if", {{"properties", {{field, {{"const", type}}}}}, {"required", {field}}}},
          {"then", std::move(then)}};
}

json optimizer_properties() {
  return {
      {"type", {{"enum", {"adam", "sgd", "rmsprop"}}, {"description", "optimizer (one type per phase)"}}},
      {"lr", {{"type", "number"}, {"minimum", 0}, {"maximum", 1000}, {"description", "learning rate"}}},
      {"betas",
       {{"type", "array"},
        {"minItems", 2},
        {"maxItems", 2},
        {"items", {{"type", "number"}, {"minimum", 0}, {"exclusiveMaximum", 1}}},
        {"description", "adam's beta1 and beta2"}}},
      {"momentum", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
      {"alpha", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"description", "rmsprop smoothing"}}},
      {"eps", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
      {"weight_decay", {{"type", "number"}, {"minimum", 0}, {"maximum", 1000}}},
      {"schedule",
       {{"type", "object"},
        {"required", {"type"}},
        {"additionalProperties", false},
        {"description",
         "learning-rate schedule: linear (1 at start, `to` at end, default end: the graph's steps) or step "
         "(times gamma every N iterations)"},
        {"properties",
         {{"type", {{"enum", {"constant", "linear", "step"}}}},
          {"start", {{"type", "integer"}, {"minimum", 0}}},
          {"end", {{"type", "integer"}, {"minimum", 1}}},
          {"to", {{"type", "number"}, {"minimum", 0}}},
          {"every", {{"type", "integer"}, {"minimum", 1}}},
          {"gamma", {{"type", "number"}, {"minimum", 0}}}}}}}};
}

json positive_integer(const char* doc) { return {{"type", "integer"}, {"minimum", 1}, {"description", doc}}; }

}  // namespace

json graph_schema(const PluginRegistry& registry) {
  json module_types = json::array(), node_types = json::array(), writer_types = json::array();
  json module_rules = json::array(), node_rules = json::array(), writer_rules = json::array();
  json params = json::object();
  Families families;
  for (const auto& [name, t] : registry.types())
    if (t.contract.kind() == NodeKind::Layer) families[t.contract.layer_family()].push_back(name);
  for (const auto& [name, t] : registry.types()) {
    const Contract& c = t.contract;
    params[name] = params_schema(c, families);
    const json with_params = {{"properties", {{"params", {{"$ref", params_ref(name)}}}}}};
    switch (c.kind()) {
      case NodeKind::Module:
        module_types.push_back(name);
        module_rules.push_back(when("type", name, with_params));
        break;
      case NodeKind::Writer:
        writer_types.push_back(name);
        writer_rules.push_back(when("writer", name, with_params));
        break;
      case NodeKind::Layer:  // never a node: only a network's params name it
        break;
      default:
        node_types.push_back(name);
        node_rules.push_back(
            when("type", name,
                 {{"properties", {{"params", {{"$ref", params_ref(name)}}}, {"in", inputs_schema(c)}}}}));
        break;
    }
  }
  json defs;
  defs["params"] = params;
  json optimizer_props = optimizer_properties();
  defs["optimizer"] = {{"type", "object"}, {"additionalProperties", false}, {"properties", optimizer_props}};

  json module;
  module["type"] = "object";
  module["required"] = {"type"};
  module["additionalProperties"] = false;
  module["properties"]["type"] = {{"enum", module_types}};
  module["properties"]["params"] = {{"type", "object"}};
  module["properties"]["doc"] = {{"type", "string"}};
  module["properties"]["ema"] = {{"type", "object"}, {"additionalProperties", false}};
  module["properties"]["ema"]["properties"]["beta"] = {{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
  module["properties"]["ema"]["properties"]["rampup"] = {{"type", "integer"}, {"minimum", 0}};
  module["properties"]["ema"]["properties"]["half_life_images"] = {
      {"type", "number"},
      {"exclusiveMinimum", 0},
      {"description", "StyleGAN2's half-life in images, instead of beta"}};
  module["properties"]["ema"]["properties"]["rampup_ratio"] = {
      {"type", "number"},
      {"minimum", 0},
      {"description", "the half-life is at most this times the images seen"}};
  const json weights_object = {
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"from"}},
      {"properties", {{"from", {{"type", "string"}, {"minLength", 1}}}, {"module", {{"type", "string"}}}}}};
  module["properties"]["weights"] = {
      {"description", "start from a module of another run: a run directory or checkpoint file"},
      {"oneOf", json::array({json{{"type", "string"}, {"minLength", 1}}, weights_object})}};
  module["properties"]["grow"] = {{"type", "string"},
                                  {"pattern", kNamePattern},
                                  {"description", "the schedule whose whole value is the module's stage"}};
  module["allOf"] = module_rules;
  defs["module"] = module;

  json node;
  node["type"] = "object";
  node["additionalProperties"] = false;
  node["oneOf"] = json::array({json{{"required", {"type"}}}, json{{"required", {"apply"}}}});
  node["properties"]["type"] = {{"enum", node_types}};
  node["properties"]["apply"] = {
      {"type", "string"}, {"pattern", kNamePattern}, {"description", "a module's name"}};
  node["properties"]["params"] = {{"type", "object"}};
  node["properties"]["in"] = {{"type", "object"}, {"additionalProperties", reference_schema("a reference")}};
  node["properties"]["draw"] = {{"enum", {"per-iteration", "per-phase"}}};
  node["properties"]["doc"] = {{"type", "string"}};
  node["allOf"] = node_rules;
  defs["node"] = node;

  json update_entry;
  update_entry["type"] = "object";
  update_entry["required"] = {"module"};
  update_entry["additionalProperties"] = false;
  update_entry["properties"] = optimizer_props;
  update_entry["properties"]["module"] = {{"type", "string"}, {"pattern", kNamePattern}};
  json phase;
  phase["type"] = "object";
  phase["required"] = {"name", "minimize", "update"};
  phase["additionalProperties"] = false;
  phase["properties"]["name"] = {{"type", "string"}};
  phase["properties"]["minimize"] = {{"type", "string"}, {"pattern", kRefPattern}};
  phase["properties"]["update"] = {
      {"type", "array"},
      {"minItems", 1},
      {"items",
       {{"oneOf", json::array({json{{"type", "string"}, {"pattern", kNamePattern}}, update_entry})}}}};
  phase["properties"]["optimizer"] = {
      {"description", "the phase's own optimizer, or the name of one of the graph's \"optimizers\""},
      {"oneOf", json::array({json{{"$ref", "#/definitions/optimizer"}},
                             json{{"type", "string"}, {"pattern", kNamePattern}}})}};
  phase["properties"]["lazy"] = {{"type", "boolean"},
                                 {"description",
                                  "a regularisation phase run every N iterations: its optimizer's lr times "
                                  "N/(N+1), betas to that power"}};
  phase["properties"]["every"] = positive_integer("runs every N iterations");
  phase["properties"]["repeat"] = positive_integer("runs N times in a row");
  phase["properties"]["from"] = positive_integer("first iteration it runs at");
  phase["properties"]["doc"] = {{"type", "string"}};
  defs["phase"] = phase;

  json grid;
  grid["type"] = "object";
  grid["oneOf"] = json::array({json{{"required", {"from"}}}, json{{"required", {"rows"}}}});
  grid["additionalProperties"] = false;
  grid["properties"]["from"] = {{"type", "string"}, {"pattern", kRefPattern}};
  grid["properties"]["rows"] = {{"type", "array"},
                                {"minItems", 1},
                                {"items", {{"type", "string"}, {"pattern", kRefPattern}}},
                                {"description", "several outputs drawn together, a row each"}};
  grid["properties"]["every"] = positive_integer("write samples every N iterations");
  grid["properties"]["writer"] = {{"enum", writer_types}};
  grid["properties"]["params"] = {{"type", "object"}};
  grid["properties"]["sequence"] = {
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"steps"}},
      {"description",
       "draw the rows step after step and join them along dimension axis; from the second step on, each "
       "output feed names holds what its source gave the step before"},
      {"properties",
       {{"steps", positive_integer("steps of the sequence (bars of a melody)")},
        {"axis", positive_integer("the dimension the steps are joined along (default 2)")},
        {"feed",
         {{"type", "object"},
          {"propertyNames", {{"pattern", kRefPattern}}},
          {"additionalProperties", {{"type", "string"}, {"pattern", kRefPattern}}}}}}}};
  grid["allOf"] = writer_rules;
  defs["samples_grid"] = grid;
  json outputs;
  outputs["type"] = "object";
  outputs["additionalProperties"] = false;
  outputs["properties"]["samples"] = {
      {"oneOf",
       {{{"$ref", "#/definitions/samples_grid"}},
        {{"type", "object"},
         {"description", "named grids, each written as samples/NAME-step-N"},
         {"minProperties", 1},
         {"propertyNames", {{"pattern", kNamePattern}}},
         {"additionalProperties", {{"$ref", "#/definitions/samples_grid"}}}}}}};
  outputs["properties"]["checkpoint"] = {{"type", "object"}, {"additionalProperties", false}};
  outputs["properties"]["checkpoint"]["properties"]["every"] =
      positive_integer("checkpoint every N iterations");
  outputs["properties"]["checkpoint"]["properties"]["keep"] = positive_integer("checkpoints kept");
  outputs["properties"]["log"] = {{"type", "object"}, {"additionalProperties", false}};
  outputs["properties"]["log"]["properties"]["every"] = positive_integer("log every N iterations");
  outputs["properties"]["log"]["properties"]["values"] = {
      {"type", "array"},
      {"items", {{"type", "string"}, {"pattern", kRefPattern}}},
      {"description", "single-number outputs logged beside the losses (\"ada.probability\")"}};
  outputs["properties"]["eval"] = {{"type", "object"}, {"additionalProperties", false}};
  outputs["properties"]["eval"]["properties"]["every"] =
      positive_integer("evaluate the metrics every N iterations");
  outputs["properties"]["eval"]["properties"]["samples"] =
      positive_integer("rows drawn for each metric input");
  outputs["properties"]["eval"]["properties"]["metrics"] = {
      {"type", "array"},
      {"items", {{"type", "string"}}},
      {"description", "metric nodes to run (default: every node of a metrics/ type)"}};
  json translator;
  translator["type"] = "object";
  translator["required"] = {"node", "reader"};
  translator["additionalProperties"] = false;
  translator["properties"]["node"] = {
      {"type", "string"},
      {"pattern", kNamePattern},
      {"description", "the node whose module translates (ganglion translate)"}};
  translator["properties"]["input"] = {{"type", "string"}, {"description", "its input each file feeds"}};
  translator["properties"]["output"] = {{"type", "string"}, {"description", "its output that is written"}};
  translator["properties"]["reader"] = {
      {"type", "object"},
      {"required", {"type"}},
      {"additionalProperties", false},
      {"description", "a source type with a path param \"file\", made once per file"},
      {"properties",
       {{"type", {{"type", "string"}}}, {"params", {{"type", "object"}}}, {"port", {{"type", "string"}}}}}};
  translator["properties"]["writer"] = {{"enum", writer_types}};
  translator["properties"]["params"] = {{"type", "object"}};
  translator["properties"]["tile"] = {
      {"type", "integer"}, {"minimum", 0}, {"description", "cut images into tile x tile squares (0: whole)"}};
  defs["translator"] = translator;
  outputs["properties"]["translate"] = {
      {"oneOf",
       {{{"$ref", "#/definitions/translator"}},
        {{"type", "object"},
         {"description", "named translators (ganglion translate --direction NAME)"},
         {"minProperties", 1},
         {"propertyNames", {{"pattern", kNamePattern}}},
         {"additionalProperties", {{"$ref", "#/definitions/translator"}}}}}}};
  defs["outputs"] = outputs;

  json schema;
  schema["$schema"] = "http://json-schema.org/draft-07/schema#";
  schema["title"] = "Ganglion graph file, format 1";
  schema["description"] = "Generated by `ganglion schema` from the contracts of the loaded plugins.";
  schema["type"] = "object";
  schema["required"] = {"ganglion", "nodes", "phases"};
  schema["additionalProperties"] = false;
  auto& props = schema["properties"];
  props["$schema"] = {{"type", "string"}};
  props["ganglion"] = {{"const", 1}, {"description", "format version"}};
  props["name"] = {{"type", "string"}, {"description", "names the run"}};
  props["description"] = {{"type", "string"}};
  props["seed"] = {{"type", "integer"}, {"minimum", 0}, {"description", "seeds every random draw"}};
  props["steps"] = positive_integer("iterations a run does");
  props["modules"] = {{"type", "object"},
                      {"propertyNames", {{"pattern", kNamePattern}}},
                      {"additionalProperties", {{"$ref", "#/definitions/module"}}}};
  props["nodes"] = {{"type", "object"},
                    {"propertyNames", {{"pattern", kNamePattern}}},
                    {"additionalProperties", {{"$ref", "#/definitions/node"}}}};
  json schedule;
  schedule["type"] = "object";
  schedule["required"] = {"points"};
  schedule["additionalProperties"] = false;
  schedule["properties"]["by"] = {{"enum", {"iterations", "images"}}, {"default", "iterations"}};
  schedule["properties"]["interpolate"] = {{"enum", {"linear", "step"}}, {"default", "linear"}};
  schedule["properties"]["points"] = {
      {"type", "array"},
      {"minItems", 1},
      {"items", {{"type", "array"}, {"minItems", 2}, {"maxItems", 2}, {"items", {{"type", "number"}}}}},
      {"description", "[x, value] pairs, x increasing"}};
  schedule["properties"]["doc"] = {{"type", "string"}};
  props["schedules"] = {{"type", "object"},
                        {"description", "named values that change with training progress"},
                        {"propertyNames", {{"pattern", kNamePattern}}},
                        {"additionalProperties", schedule}};
  props["optimizers"] = {{"type", "object"},
                         {"description", "named optimizers that phases share (\"optimizer\": NAME)"},
                         {"propertyNames", {{"pattern", kNamePattern}}},
                         {"additionalProperties", {{"$ref", "#/definitions/optimizer"}}}};
  props["phases"] = {{"type", "array"}, {"minItems", 1}, {"items", {{"$ref", "#/definitions/phase"}}}};
  props["outputs"] = {{"$ref", "#/definitions/outputs"}};
  props["include"] = {{"type", "array"},
                      {"items", {{"type", "string"}}},
                      {"description",
                       "graph fragments (files of modules, nodes and outputs, relative to this file) merged "
                       "into the graph, e.g. [\"probes/mnist-quality.json\"]"}};
  schema["definitions"] = defs;
  return schema;
}

}  // namespace ganglion
