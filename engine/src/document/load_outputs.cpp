// outputs: samples grids and their writers, evaluations, checkpoints and the log.
#include "document/loader.h"

namespace ganglion::loading {

namespace {

/// Whether every output of `c` is one number (what a metric gives).
bool scalar_outputs(const Contract& c) {
  for (const auto& out : c.outputs())
    if (out.rank() != 0) return false;
  return true;
}

}  // namespace

void Loader::load_eval(const json& e, Graph& g) {
  const std::string p = "/outputs/eval";
  if (!e.is_object()) {
    diags_.error(p, "expected an object such as {\"every\": 1000, \"samples\": 2500}");
    return;
  }
  check_keys(e, p, {"every", "samples", "metrics"});
  auto& spec = g.outputs.eval;
  spec.enabled = true;
  spec.every = integer_field(e, "every", p, spec.every, 1);
  spec.samples = integer_field(e, "samples", p, spec.samples, 1);
  std::vector<std::string> names;
  for (const auto& n : g.nodes) names.push_back(n.name);
  if (e.contains("metrics")) {
    const json& m = e["metrics"];
    if (!m.is_array()) {
      diags_.error(p + "/metrics", "expected an array of node names, found " + type_name(m));
      return;
    }
    for (size_t i = 0; i < m.size(); ++i) {
      const std::string at = p + "/metrics/" + std::to_string(i);
      if (!m[i].is_string()) {
        diags_.error(at, "expected a node name, found " + type_name(m[i]));
        continue;
      }
      const std::string name = m[i].get<std::string>();
      const int n = g.find_node(name);
      if (n < 0)
        diags_.error(at, "no node " + quote(name) + did_you_mean(name, names));
      else if (g.nodes[n].type && g.nodes[n].kind() != NodeKind::Function)
        diags_.error(at, "node " + quote(name) + " is a " + g.nodes[n].contract().type() +
                             ", not a function node that can score a draw");
      else if (g.nodes[n].type && !scalar_outputs(g.nodes[n].contract()))
        diags_.error(at,
                     "node " + quote(name) + " (" + g.nodes[n].contract().type() +
                         ") has outputs that are not single numbers; a metric gives one number per output");
      else
        spec.metrics.push_back(name);
    }
    if (m.empty())
      diags_.error(p + "/metrics", "an empty list; name metric nodes, or leave \"metrics\" out for all");
  } else {
    if (std::none_of(g.nodes.begin(), g.nodes.end(), [](const NodeEntry& n) { return n.is_metric(); }))
      diags_.error(
          p,
          "the graph has no node of a metrics/ type to evaluate; add one (e.g. metrics/mixture-modes) "
          "or list function nodes in \"metrics\"");
  }
}

std::string Loader::default_writer(const Graph& g, const PortRef& from, const std::string& pointer) {
  // The writers that declare themselves a default, by whether their input's rank fits.
  if (!g.nodes[from.node].type) return {};
  const PortSpec* out = g.nodes[from.node].contract().find_output(from.port);
  std::vector<std::string> fitting, all;
  for (const auto& [name, t] : registry_.types()) {
    const Contract& c = t.contract;
    if (c.kind() != NodeKind::Writer || !c.is_default_writer() || c.inputs().empty()) continue;
    all.push_back(name + " (" + c.inputs().front().shape + ")");
    const int rank = c.inputs().front().rank();
    if (rank < 0 || !out || out->rank() < 0 || rank == out->rank()) fitting.push_back(name);
  }
  if (fitting.size() == 1) return fitting.front();
  diags_.error(pointer + "/writer",
               (fitting.empty() ? "no default writer takes " : "several default writers take ") +
                   quote(g.port_name(from)) + " (shape " + quote(out ? out->shape : "?") +
                   "): name one with \"writer\" (default writers: " + list_names(all) + ")");
  return {};
}

void Loader::load_sequence(const json& q, const std::string& p, const Graph& g, SamplesSpec& spec) {
  if (!q.is_object()) {
    diags_.error(p, "expected an object such as {\"steps\": 8, \"feed\": {\"batch.previous\": \"fake\"}}");
    return;
  }
  check_keys(q, p, {"steps", "axis", "feed"});
  spec.sequence.steps = integer_field(q, "steps", p, 0, 1);
  if (!q.contains("steps")) diags_.error(p, "missing field \"steps\": how many steps the sequence has");
  spec.sequence.axis = integer_field(q, "axis", p, 2, 1);
  if (!q.contains("feed")) return;
  if (!q["feed"].is_object()) {
    diags_.error(
        p + "/feed",
        "expected an object of OUTPUT: SOURCE, such as {\"batch.previous\": \"fake\"}: from the second "
        "step on, OUTPUT holds what SOURCE gave the step before");
    return;
  }
  for (const auto& [replaced, from] : q["feed"].items()) {
    const std::string fp = p + "/feed" + json_pointer({replaced});
    SamplesSpec::Sequence::Feed feed;
    if (!resolve_ref(json(replaced), fp, g, feed.replaced) || !resolve_ref(from, fp, g, feed.from)) continue;
    spec.sequence.feed.push_back(feed);
  }
}

void Loader::load_samples_grid(const json& s, const std::string& p, const std::string& name, Graph& g) {
  check_keys(s, p, {"from", "rows", "every", "writer", "params", "sequence"});
  SamplesSpec spec;
  spec.name = name;
  spec.pointer = p;
  spec.every = integer_field(s, "every", p, spec.every, 1);
  if (s.contains("from") == s.contains("rows")) {
    diags_.error(p, s.contains("from") ? "give \"from\" or \"rows\", not both"
                                       : "missing field \"from\" (the node whose values are written) or "
                                         "\"rows\" (several, a row each)");
    return;
  }
  if (s.contains("from")) {
    PortRef r;
    if (resolve_ref(s["from"], p + "/from", g, r)) spec.rows.push_back(r);
  } else if (!s["rows"].is_array() || s["rows"].empty()) {
    diags_.error(p + "/rows",
                 "expected a list of outputs such as [\"real_a\", \"fake_b\", \"rec_a\"], a row each");
  } else {
    for (size_t i = 0; i < s["rows"].size(); ++i) {
      PortRef r;
      if (resolve_ref(s["rows"][i], p + "/rows/" + std::to_string(i), g, r)) spec.rows.push_back(r);
    }
  }
  if (spec.rows.empty()) return;
  if (s.contains("sequence")) load_sequence(s["sequence"], p + "/sequence", g, spec);
  std::string writer;
  if (const std::string* w = string_field(s, "writer", p, false))
    writer = *w;
  else
    writer = default_writer(g, spec.rows.front(), p);
  if (!writer.empty()) spec.writer = find_type(writer, p + "/writer", NodeKind::Writer, false);
  if (spec.writer) {
    spec.writer_params = check_params(spec.writer->contract, s, p);
    const std::string& row_length = spec.writer->contract.row_length_param_name();
    spec.row_length_given = !row_length.empty() && s.contains("params") && s["params"].is_object() &&
                            s["params"].contains(row_length);
    // A writer is checked against its contract as a node's input is, for every row.
    const auto& inputs = spec.writer->contract.inputs();
    if (inputs.empty())
      diags_.error(p + "/writer",
                   writer + " declares no input port, so it cannot be given \"from\" (a plugin bug)");
    else
      for (size_t i = 0; i < spec.rows.size(); ++i) {
        const std::string mismatch = port_mismatch(inputs.front(), g, spec.rows[i]);
        if (!mismatch.empty())
          diags_.error(p + (s.contains("from") ? "/from" : "/rows/" + std::to_string(i)),
                       "the samples writer " + writer + "'s " + mismatch);
      }
  }
  g.outputs.samples.push_back(std::move(spec));
}

void Loader::load_translate(const json& t, const std::string& p, const std::string& name, Graph& g) {
  check_keys(t, p, {"node", "input", "output", "reader", "writer", "params", "tile"});
  TranslateSpec spec;
  spec.name = name;
  spec.pointer = p;
  spec.tile = integer_field(t, "tile", p, 0, 0);
  const std::string* node_name = string_field(t, "node", p, true);
  if (!node_name) return;
  spec.node = g.find_node(*node_name);
  if (spec.node < 0) {
    std::vector<std::string> names;
    for (const auto& n : g.nodes) names.push_back(n.name);
    diags_.error(p + "/node", "no node " + quote(*node_name) + did_you_mean(*node_name, names));
    return;
  }
  const NodeEntry& n = g.nodes[spec.node];
  if (n.module < 0) {
    diags_.error(p + "/node", "node " + quote(n.name) +
                                  " applies no module; the translator is a node that applies a generator "
                                  "(\"apply\": \"G\")");
    return;
  }
  if (!n.type) return;
  const Contract& c = n.contract();
  if (const std::string* input = string_field(t, "input", p, false)) {
    if (!c.find_input(*input)) {
      std::vector<std::string> ports;
      for (const auto& in : c.inputs()) ports.push_back(in.name);
      diags_.error(p + "/input",
                   c.type() + " has no input " + quote(*input) + "; its inputs: " + list_names(ports));
      return;
    }
    spec.input = *input;
  } else {
    std::vector<std::string> required;
    for (const auto& in : c.inputs())
      if (!in.optional && !in.group) required.push_back(in.name);
    if (required.size() != 1) {
      diags_.error(p, "say which input of " + quote(n.name) + " each file feeds with \"input\" (" + c.type() +
                          " takes " + list_names(required) + ")");
      return;
    }
    spec.input = required.front();
  }
  if (const std::string* output = string_field(t, "output", p, false)) {
    if (!c.find_output(*output)) {
      std::vector<std::string> ports;
      for (const auto& out : c.outputs()) ports.push_back(out.name);
      diags_.error(p + "/output",
                   c.type() + " has no output " + quote(*output) + "; its outputs: " + list_names(ports));
      return;
    }
    spec.output = *output;
  } else {
    spec.output = c.outputs().front().name;
  }
  const PortSpec& fed = *c.find_input(spec.input);
  // The reader: a source type that reads one file, named by its path param `file`.
  const std::string rp = p + "/reader";
  if (!t.contains("reader")) {
    diags_.error(p,
                 "missing field \"reader\", the source that reads each file, e.g. {\"type\": "
                 "\"data/image-file\", \"params\": {\"size\": 64}}");
    return;
  }
  const json& r = t["reader"];
  if (!r.is_object()) {
    diags_.error(rp,
                 "expected an object such as {\"type\": \"data/image-file\", \"params\": {\"size\": 64}}");
    return;
  }
  check_keys(r, rp, {"type", "params", "port"});
  const std::string* reader_type = string_field(r, "type", rp, true);
  if (!reader_type) return;
  spec.reader = find_type(*reader_type, rp + "/type", NodeKind::Source, false);
  if (!spec.reader) return;
  const Contract& rc = spec.reader->contract;
  const ParamSpec* file_param = rc.find_param("file");
  if (!file_param || file_param->type != ParamType::Path) {
    diags_.error(rp + "/type", *reader_type +
                                   " has no path param \"file\", so it cannot read one file a "
                                   "time (data/image-file can)");
    return;
  }
  json entry = r;
  if (!entry.contains("params")) entry["params"] = json::object();
  if (entry["params"].is_object()) {
    if (entry["params"].contains("file"))
      diags_.error(rp + "/params/file", "translate sets \"file\" to each input file; leave it out");
    entry["params"]["file"] = ".";
  }
  spec.reader_params = check_params(rc, entry, rp);
  if (const std::string* port = string_field(r, "port", rp, false))
    spec.reader_port = *port;
  else if (!rc.outputs().empty())
    spec.reader_port = rc.outputs().front().name;
  const PortSpec* made = rc.find_output(spec.reader_port);
  if (!made) {
    diags_.error(rp + "/port", *reader_type + " has no output " + quote(spec.reader_port));
    return;
  }
  if (made->dtype != fed.dtype && made->dtype != DType::Any && fed.dtype != DType::Any)
    diags_.error(rp, *reader_type + "'s " + spec.reader_port + " is " + to_string(made->dtype) + " but " +
                         quote(n.name) + "'s input " + spec.input + " takes " + to_string(fed.dtype));
  else if (made->rank() >= 0 && fed.rank() >= 0 && made->rank() != fed.rank())
    diags_.error(rp, *reader_type + "'s " + spec.reader_port + " is \"" + made->shape + "\" but " +
                         quote(n.name) + "'s input " + spec.input + " takes \"" + fed.shape + "\"");
  if (spec.tile > 0 && fed.rank() != 4 && fed.rank() >= 0)
    diags_.error(p + "/tile", "tiles cut images (B,C,H,W); " + quote(n.name) + "'s input " + spec.input +
                                  " is \"" + fed.shape + "\"");
  // The writer, as a samples grid's.
  const PortRef out{spec.node, spec.output};
  std::string writer;
  if (const std::string* w = string_field(t, "writer", p, false))
    writer = *w;
  else
    writer = default_writer(g, out, p);
  if (!writer.empty()) spec.writer = find_type(writer, p + "/writer", NodeKind::Writer, false);
  if (!spec.writer) return;
  spec.writer_params = check_params(spec.writer->contract, t, p);
  if (!spec.writer->contract.inputs().empty()) {
    const std::string mismatch = port_mismatch(spec.writer->contract.inputs().front(), g, out);
    if (!mismatch.empty()) diags_.error(p + "/writer", "the translate writer " + writer + "'s " + mismatch);
  }
  g.outputs.translate.push_back(std::move(spec));
}

void Loader::load_outputs(const json& outputs, Graph& g) {
  if (!outputs.is_object()) {
    diags_.error("/outputs", "expected an object, found " + type_name(outputs));
    return;
  }
  check_keys(outputs, "/outputs", {"samples", "checkpoint", "log", "eval", "translate"});
  if (outputs.contains("samples")) {
    const json& s = outputs["samples"];
    static const std::vector<std::string> grid_keys{"from", "rows", "every", "writer", "params", "sequence"};
    const bool single =
        s.is_object() && (s.empty() || std::any_of(s.items().begin(), s.items().end(), [](const auto& kv) {
                            return std::find(grid_keys.begin(), grid_keys.end(), kv.key()) != grid_keys.end();
                          }));
    if (!s.is_object()) {
      diags_.error("/outputs/samples",
                   "expected an object such as {\"from\": \"fake\", \"every\": 500}, or named grids such as "
                   "{\"a2b\": {\"rows\": [\"real_a\", \"fake_b\"]}}");
    } else if (single) {
      load_samples_grid(s, "/outputs/samples", "", g);
    } else {
      for (const auto& [name, grid] : s.items()) {
        const std::string p = "/outputs/samples" + json_pointer({name});
        if (!valid_graph_name(name))
          diags_.error(p, "a grid's name uses letters, digits, '_' and '-' (it names the grid's files)");
        else if (!grid.is_object())
          diags_.error(
              p, "expected a grid such as {\"rows\": [\"real_a\", \"fake_b\"], \"every\": 500}, found " +
                     type_name(grid));
        else
          load_samples_grid(grid, p, name, g);
      }
    }
  }
  if (outputs.contains("checkpoint")) {
    const json& c = outputs["checkpoint"];
    if (!c.is_object()) {
      diags_.error("/outputs/checkpoint", "expected an object such as {\"every\": 1000}");
    } else {
      check_keys(c, "/outputs/checkpoint", {"every", "keep"});
      g.outputs.checkpoint_every =
          integer_field(c, "every", "/outputs/checkpoint", g.outputs.checkpoint_every, 1);
      g.outputs.keep_checkpoints =
          integer_field(c, "keep", "/outputs/checkpoint", g.outputs.keep_checkpoints, 1);
    }
  }
  if (outputs.contains("eval")) load_eval(outputs["eval"], g);
  if (outputs.contains("translate")) {
    const json& t = outputs["translate"];
    const std::string p = "/outputs/translate";
    if (!t.is_object() || t.empty()) {
      diags_.error(p,
                   "expected a translator such as {\"node\": \"fake_b\", \"reader\": {\"type\": "
                   "\"data/image-file\"}}, or named ones such as {\"a2b\": {...}, \"b2a\": {...}}");
    } else if (t.contains("node")) {
      load_translate(t, p, "", g);
    } else {
      for (auto it = t.begin(); it != t.end(); ++it) {
        const std::string at = p + json_pointer({it.key()});
        if (!valid_graph_name(it.key()))
          diags_.error(
              at, "a translator's name uses letters, digits, '_' and '-' (ganglion translate --direction)");
        else if (!it.value().is_object())
          diags_.error(at, "expected a translator such as {\"node\": \"fake_b\", \"reader\": {...}}, found " +
                               type_name(it.value()));
        else
          load_translate(it.value(), at, it.key(), g);
      }
    }
  }
  if (outputs.contains("log")) {
    const json& l = outputs["log"];
    if (!l.is_object()) {
      diags_.error("/outputs/log", "expected an object such as {\"every\": 10}");
    } else {
      check_keys(l, "/outputs/log", {"every", "values"});
      g.outputs.log_every = integer_field(l, "every", "/outputs/log", g.outputs.log_every, 1);
      if (l.contains("values")) {
        const json& values = l["values"];
        if (!values.is_array()) {
          diags_.error("/outputs/log/values",
                       "expected a list of single-number outputs, e.g. [\"ada.probability\"]");
        } else {
          for (size_t i = 0; i < values.size(); ++i) {
            const std::string where = "/outputs/log/values/" + std::to_string(i);
            PortRef r;
            if (!resolve_ref(values[i], where, g, r)) continue;
            const PortSpec* port = g.nodes[r.node].contract().find_output(r.port);
            if (port && !port->shape.empty()) {
              diags_.error(where, quote(g.port_name(r)) + " has shape " + quote(port->shape) +
                                      ": the log takes single numbers (a loss, a probability)");
              continue;
            }
            g.outputs.log_values.push_back(r);
          }
        }
      }
    }
  }
}

}  // namespace ganglion::loading
