// `ganglion edit`: a graph built only with edit verbs trains; edits that would break the graph are
// refused and leave the file as it was; renames follow every reference; diffs stay small.
#include <doctest/doctest.h>

#include <sstream>

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>

#include "edit_help.h"
#include "ganglion/engine/graph_edit.h"
#include "ganglion/engine/plugin_registry.h"
#include "test_support.h"

using namespace ganglion;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

test::CliResult edit(const std::string& file, std::vector<std::string> words) {
  words.insert(words.begin(), {"edit", file});
  return test::run_cli(words);
}

/// The DCGAN graph, built verb by verb; returns its path.
std::string build_dcgan_with_verbs(const std::string& name) {
  const std::string file = test::temp_dir(name) + "/graph.json";
  const std::vector<std::vector<std::string>> steps{
      {"create", "dcgan-by-verbs"},
      {"add-module", "G", "nets/dcgan-generator"},
      {"add-module", "D", "nets/dcgan-discriminator"},
      {"add-node", "batch", "data/idx", "images=${data}/mnist/train-images-idx3-ubyte", "batch=32",
       "limit=256"},
      {"add-node", "z", "noise/normal", "in.like=batch.image"},
      {"add-node", "fake", "G"},
      {"connect", "z", "fake.z"},
      {"add-node", "d_real", "D", "in.image=batch.image"},
      {"add-node", "d_fake", "D", "in.image=fake"},
      {"add-node", "d_loss", "losses/bce-discriminator", "in.real=d_real", "in.fake=d_fake", "smooth=0.1"},
      {"add-node", "g_loss", "losses/bce-generator", "in.fake=d_fake"},
      {"add-phase", "D", "d_loss", "D", "optimizer=adam", "lr=0.0002", "betas=0.5,0.5"},
      {"add-phase", "G", "g_loss", "G", "lr=0.0002", "betas=[0.5,0.5]"},
      {"set-output", "samples", "from=fake", "every=100"},
      {"set-output", "log", "every=1"},
  };
  for (const auto& s : steps) {
    const auto r = edit(file, s);
    REQUIRE_MESSAGE(r.exit_code == 0, s[0] << ": " << r.err);
  }
  return file;
}

}  // namespace

TEST_CASE("Edit.AGraphBuiltWithVerbsTrains") {
  REQUIRE(test::mnist_available());
  const std::string file = build_dcgan_with_verbs("verbs");
  CHECK(test::run_cli({"validate", file}).exit_code == 0);
  const std::string out = test::temp_dir("verbs-run");
  const auto r = test::run_cli({"run", file, "--out", out, "--steps", "3", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto log = test::read_log(out);
  REQUIRE(log.size() == 3);
  CHECK(log[2]["losses"].contains("D"));
  CHECK(log[2]["losses"].contains("G"));
  // The plan is DCGAN's: phase G reuses D's fake.
  const auto plan = test::run_cli({"plan", file});
  CHECK(plan.out.find("reuse   fake [apply G]: reused from phase D") != std::string::npos);
}

TEST_CASE("Edit.UnfinishedGraphsSayWhatIsLeft") {
  const std::string file = test::temp_dir("unfinished") + "/g.json";
  REQUIRE(edit(file, {"create"}).exit_code == 0);
  REQUIRE(edit(file, {"add-module", "G", "nets/dcgan-generator"}).exit_code == 0);
  const auto r = edit(file, {"add-node", "fake", "G"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("still to do before it runs:") != std::string::npos);
  CHECK(r.out.find("/nodes/fake: missing required input \"z\"") != std::string::npos);
  CHECK(r.out.find("/phases: no phases yet") != std::string::npos);
  // Not runnable yet: validate says so, with exit code 2.
  CHECK(test::run_cli({"validate", file}).exit_code == 2);
  CHECK(edit(file, {"create"}).exit_code == 2);  // exists: needs --force
  // $schema resolves from the new file's folder, wherever it is, to the built-in plugins' schema.
  const auto doc = nlohmann::json::parse(test::read_file(file));
  const std::string schema = doc.at("$schema").get<std::string>();
  CHECK(schema.find("graphs/ganglion.schema.json") != std::string::npos);
  CHECK(std::filesystem::exists(std::filesystem::path(file).parent_path() / schema));
}

TEST_CASE("Edit.EditsThatBreakTheGraphAreRefusedAndTheFileIsUnchanged") {
  REQUIRE(test::mnist_available());
  const std::string file = build_dcgan_with_verbs("refused");
  const std::string before = test::read_file(file);
  struct Case {
    std::vector<std::string> words;
    const char* expected;
  };
  const std::vector<Case> cases{
      {{"connect", "batch", "d_real.image"}, "node \"batch\" has several outputs (image, label)"},
      {{"connect", "z", "d_real.image"}, "takes shape \"B,C,H,W\" (rank 4) but \"z\" gives \"B,Z\" (rank 2)"},
      {{"set", "z", "dim=-1"}, "/nodes/z/params/dim: param \"dim\" is -1"},
      {{"set", "z", "dims=3"}, "noise/normal has no param \"dims\" (did you mean \"dim\"?)"},
      {{"add-node", "x", "noise/normall"},
       "unknown node type \"noise/normall\" (did you mean \"noise/normal\""},
      {{"add-node", "z", "noise/normal"}, "there is already a node \"z\""},
      {{"add-node", "bad name", "noise/normal"}, "node name \"bad name\" is not valid"},
      {{"remove", "fake"}, "node \"fake\" is still read by input d_fake.image, outputs.samples.from"},
      {{"remove", "G"}, "module \"G\" is still used by node fake, phase G"},
      {{"rename", "z", "d_real"}, "there is already a node \"d_real\""},
      {{"set-phase", "D", "evry=2"}, "a phase has no setting \"evry\" (did you mean \"every\"?)"},
      {{"set-phase", "D", "update=E"}, "no module \"E\""},
      {{"add-phase", "X", "d_real", "D"}, "\"d_real\" is not a scalar"},
      {{"frobnicate"}, "unknown verb \"frobnicate\""},
      {{"add-modul", "E", "nets/dcgan-generator"}, "(did you mean \"add-module\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.words[0]);
    const auto r = edit(file, c.words);
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find(c.expected) != std::string::npos, r.err);
    CHECK(test::read_file(file) == before);
  }
}

TEST_CASE("Edit.RenameFollowsEveryReference") {
  REQUIRE(test::mnist_available());
  const std::string file = build_dcgan_with_verbs("rename");
  REQUIRE(edit(file, {"rename", "fake", "generated"}).exit_code == 0);
  REQUIRE(edit(file, {"rename", "d_loss", "critic_loss"}).exit_code == 0);
  REQUIRE(edit(file, {"rename", "G", "Gen"}).exit_code == 0);
  const auto g = nlohmann::json::parse(test::read_file(file));
  CHECK(g["nodes"]["d_fake"]["in"]["image"] == "generated");
  CHECK(g["nodes"]["generated"]["apply"] == "Gen");
  CHECK(g["outputs"]["samples"]["from"] == "generated");
  CHECK(g["phases"][0]["minimize"] == "critic_loss");
  CHECK(g["phases"][1]["update"][0] == "Gen");
  CHECK_FALSE(g["nodes"].contains("fake"));
  CHECK(test::run_cli({"validate", file}).exit_code == 0);
}

TEST_CASE("Edit.ForcedRemovalCutsWhatDependsOnIt") {
  REQUIRE(test::mnist_available());
  const std::string file = build_dcgan_with_verbs("force");
  const auto r = edit(file, {"remove", "d_loss", "--force"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("removed node d_loss; removed phase D") != std::string::npos);
  const auto g = nlohmann::json::parse(test::read_file(file));
  REQUIRE(g["phases"].size() == 1);
  CHECK(g["phases"][0]["name"] == "G");
  CHECK(test::run_cli({"validate", file}).exit_code == 0);
}

TEST_CASE("Edit.AnEditChangesOnlyItsOwnLines") {
  REQUIRE(test::mnist_available());
  const std::string file = build_dcgan_with_verbs("diff");
  const auto before = lines_of(test::read_file(file));
  REQUIRE(edit(file, {"set", "z", "dim=64"}).exit_code == 0);
  REQUIRE(edit(file, {"set", "G", "z_dim=64"}).exit_code == 0);
  const auto after = lines_of(test::read_file(file));
  REQUIRE(before.size() == after.size());
  int changed = 0;
  for (size_t i = 0; i < before.size(); ++i) changed += before[i] != after[i];
  CHECK(changed == 2);
  // Keys keep their order: "modules" still comes before "nodes".
  const std::string text = test::read_file(file);
  CHECK(text.find("\"modules\"") < text.find("\"nodes\""));
}

TEST_CASE("Edit.ThePromptAppliesVerbsLineByLine") {
  REQUIRE(test::mnist_available());
  const std::string dir = test::temp_dir("prompt");
  const std::string file = dir + "/g.json";
  const auto run_script = [&](const std::string& name, const std::string& lines) {
    const std::string script = test::write_temp(name, lines);
    const std::string command = std::string("'") + GANGLION_CLI + "' edit '" + file + "' < '" + script +
                                "' > '" + dir + "/out' 2> '" + dir + "/err'";
    return WEXITSTATUS(std::system(command.c_str()));
  };
  CHECK(run_script("prompt.txt",
                   "create\n# a comment\nadd-module G nets/dcgan-generator\nadd-node fake G\n"
                   "rename G 'Gen'\nset Gen z_dim=64\nquit\nadd-module never nets/dcgan-generator\n") == 0);
  std::string out = test::read_file(dir + "/out");
  CHECK(out.find("created " + file) != std::string::npos);
  CHECK(out.find("renamed module G to Gen") != std::string::npos);
  auto g = nlohmann::json::parse(test::read_file(file));
  CHECK(g["nodes"]["fake"]["apply"] == "Gen");
  CHECK(g["modules"]["Gen"]["params"]["z_dim"] == 64);
  CHECK_FALSE(g["modules"].contains("never"));  // after quit

  // A refused line stops the script there, names it and exits 2: the lines after it never run
  // against a graph they did not expect.
  CHECK(run_script("refused.txt", "set Gen width=32\nconnect zz fake.z\nset Gen z_dim=32\n") == 2);
  const std::string err = test::read_file(dir + "/err");
  CHECK_MESSAGE(err.find("edit: no node \"zz\"") != std::string::npos, err);
  CHECK_MESSAGE(err.find("stopped at line 2 of the script (connect zz fake.z)") != std::string::npos, err);
  g = nlohmann::json::parse(test::read_file(file));
  CHECK(g["modules"]["Gen"]["params"]["width"] == 32);  // before the refused line: saved
  CHECK(g["modules"]["Gen"]["params"]["z_dim"] == 64);  // after it: not run
}

TEST_CASE("Edit.CompletionOffersWhatFitsTheCursor") {
  REQUIRE(test::mnist_available());
  GraphDocument doc = GraphDocument::parse(test::read_file(build_dcgan_with_verbs("complete")));
  const auto& registry = test::builtin_registry();
  using V = std::vector<std::string>;
  auto has = [](const V& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  CHECK(edit_completions(doc, registry, {}, "add-") == V{"add-module", "add-node", "add-phase"});
  const V module_types = edit_completions(doc, registry, {"add-module", "E"}, "nets/");
  // Module types only, every one of nets/: nets/pack and nets/concat are function nodes and have
  // no place after add-module.
  V expected;
  for (const auto& [name, t] : registry.types())
    if (name.rfind("nets/", 0) == 0 && t.contract.kind() == NodeKind::Module) expected.push_back(name);
  std::sort(expected.begin(), expected.end());
  CHECK(expected.size() >= 9);
  CHECK(module_types == expected);
  CHECK(has(module_types, "nets/dcgan-generator"));
  CHECK_FALSE(has(module_types, "nets/pack"));
  CHECK_FALSE(has(module_types, "nets/concat"));
  const V node_kinds = edit_completions(doc, registry, {"add-node", "x"}, "");
  CHECK(has(node_kinds, "noise/normal"));
  CHECK(has(node_kinds, "G"));                           // a module to apply
  CHECK_FALSE(has(node_kinds, "nets/dcgan-generator"));  // module types go through add-module
  CHECK(edit_completions(doc, registry, {"set", "z"}, "") == V{"dim=", "batch=", "in.like="});
  CHECK(edit_completions(doc, registry, {"set", "G"}, "z") == V{"z_dim="});
  CHECK(edit_completions(doc, registry, {"connect"}, "batch.") == V{"batch.image", "batch.label"});
  CHECK(edit_completions(doc, registry, {"connect", "z"}, "fake.") ==
        V{"fake.z", "fake.label", "fake.condition"});
  CHECK(edit_completions(doc, registry, {"set-phase"}, "") == V{"D", "G"});
  CHECK(edit_completions(doc, registry, {"rename"}, "d_") == V{"d_real", "d_fake", "d_loss"});
  CHECK(split_edit_line("set z 'name=a b' \"x y\"") == V{"set", "z", "name=a b", "x y"});
  CHECK_THROWS_WITH(split_edit_line("set 'z"), doctest::Contains("a quote is not closed"));
}

TEST_CASE("Edit.SetApplyRepointsAModuleNode") {
  REQUIRE(test::mnist_available());
  const std::string file = build_dcgan_with_verbs("repoint");
  // d_fake scores with D; pointed at G it would take an image where G takes z: refused, unchanged.
  const std::string before = test::read_file(file);
  auto r = edit(file, {"set", "d_fake", "apply=G"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(
      r.err.find("/nodes/d_fake/in/image: nets/dcgan-generator has no input \"image\"") != std::string::npos,
      r.err);
  CHECK(test::read_file(file) == before);
  // A second discriminator the node can be re-pointed at.
  REQUIRE(edit(file, {"add-module", "D2", "nets/dcgan-discriminator"}).exit_code == 0);
  r = edit(file, {"set", "d_real", "apply=D2"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(nlohmann::json::parse(test::read_file(file))["nodes"]["d_real"]["apply"] == "D2");
  // Valid, but no phase trains D2 yet: the edit says so.
  CHECK_MESSAGE(r.err.find("warning: no phase updates module \"D2\"") != std::string::npos, r.err);
}
