#include "test_support.h"

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/json_file.h"
#include "ganglion/engine/plugin_registry.h"

namespace fs = std::filesystem;

namespace ganglion::test {

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

std::pair<int, int> png_size(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 24 || bytes.compare(1, 3, "PNG") != 0) return {0, 0};
  const auto word = [&](size_t at) {
    return static_cast<int>(
        (static_cast<unsigned char>(bytes[at]) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
        (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]));
  };
  return {word(16), word(20)};
}

CliResult run_cli(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string dir = temp_dir("cli-" + std::to_string(counter++));
  std::string cmd = shell_quote(GANGLION_CLI);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " > " + shell_quote(dir + "/out") + " 2> " + shell_quote(dir + "/err") + " < /dev/null";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir + "/out");
  r.err = read_file(dir + "/err");
  return r;
}

std::string temp_dir(const std::string& name) {
  const fs::path base = fs::temp_directory_path() / ("ganglion-tests-" + std::to_string(::getpid()));
  const fs::path dir = base / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string write_temp(const std::string& name, const std::string& text) {
  const fs::path path = fs::path(temp_dir("files")).parent_path() / "files-kept" / name;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

const RegisteredType& registered(const std::string& type) {
  const RegisteredType* t = builtin_registry().find(type);
  REQUIRE_MESSAGE(t != nullptr, "no loaded plugin has type " << type << " (is its plugin built?)");
  return *t;
}

NodeSetup node_setup(const std::string& type, const std::map<std::string, ParamValue>& params,
                     std::uint64_t seed) {
  NodeSetup setup;
  setup.params = defaults_of(registered(type).contract, params);
  setup.seed = seed;
  return setup;
}

const PluginRegistry& builtin_registry() {
  static PluginRegistry registry = [] {
    PluginRegistry r;
    r.load({GANGLION_PLUGIN_BUILD_DIR_FOR_TESTS, std::string(GANGLION_TEST_PLUGIN_DIR) + "/test-nodes"});
    return r;
  }();
  return registry;
}

nlohmann::json shipped_graph(const std::string& name) {
  return load_json_file(std::string(GANGLION_SOURCE_DIR) + "/graphs/" + name + ".json");
}

nlohmann::json dcgan_graph() { return shipped_graph("dcgan-mnist"); }

nlohmann::json small_stylegan2(const std::string& name) {
  nlohmann::json g = shipped_graph(name);
  g.erase("$schema");
  auto& batch = g["nodes"]["batch"]["params"];
  batch["batch"] = 8;
  batch["size"] = 16;
  if (batch.contains("resize")) batch["resize"] = 18;
  g["nodes"]["z_pl"]["params"]["batch"] = 4;
  for (const char* m : {"G", "D"}) {
    g["modules"][m]["params"]["resolution"] = 16;
    g["modules"][m]["params"]["channel_base"] = 128;
    g["modules"][m]["params"]["channel_max"] = 16;
  }
  return g;
}

nlohmann::json with_ada(nlohmann::json g, double adjust_images) {
  g["nodes"]["ada"] = {{"type", "augment/ada-probability"},
                       {"params", {{"interval", 1}, {"adjust_images", adjust_images}}},
                       {"in", {{"real_score", {{"from", "d_real"}, {"previous", true}}}}}};
  for (const char* aug : {"aug_fake", "aug_real", "aug_leaf"})
    g["nodes"][aug]["in"]["probability"] = "ada.probability";
  g["outputs"]["log"]["values"] = {"ada.probability", "ada.overfitting"};
  return g;
}

nlohmann::json small_dcgan_graph(int limit, int batch) {
  auto g = dcgan_graph();
  g["nodes"]["batch"]["params"]["limit"] = limit;
  g["nodes"]["batch"]["params"]["batch"] = batch;
  g["outputs"]["log"]["every"] = 1;
  g["outputs"]["samples"]["every"] = 1000000;
  g["outputs"]["checkpoint"]["every"] = 1000000;
  return g;
}

bool mnist_available() { return fs::exists(data_folder() + "/mnist/train-images-idx3-ubyte"); }

std::vector<nlohmann::json> read_log(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir + "/log.jsonl");
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace ganglion::test
