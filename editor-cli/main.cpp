// `ganglion`: run, validate, plan, plugins, inspect. Every user error is one clear message on
// stderr and exit code 2; never a stack dump.
#include <ganglion/abi.h>
#include <torch/version.h>

#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"
#include "ganglion/engine/user_error.h"

namespace {

void print_usage() {
  std::printf(
      "usage: ganglion COMMAND [ARGS] [options]\n\n"
      "Ganglion trains generative adversarial networks described as JSON graphs of plugin nodes.\n\n"
      "commands:\n");
  for (const auto& c : ganglion::cli::commands()) {
    std::string left = "  " + c.name + (c.arguments.empty() ? "" : " " + c.arguments);
    left += std::string(left.size() < 20 ? 20 - left.size() : 1, ' ');
    std::printf("%s%s\n", left.c_str(), c.summary.c_str());
  }
  std::printf(
      "\n`ganglion COMMAND --help` describes a command; `ganglion --version` prints versions.\n"
      "Documentation: docs/ in the source tree.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::printf("ganglion %s (SDK ABI %d, LibTorch %s)\n", GANGLION_VERSION, GANGLION_SDK_ABI, TORCH_VERSION);
    return 0;
  }
  const auto all = ganglion::cli::commands();
  const ganglion::cli::CommandSpec* command = nullptr;
  std::vector<std::string> names;
  for (const auto& c : all) {
    names.push_back(c.name);
    if (c.name == args[0]) command = &c;
  }
  try {
    if (!command)
      throw ganglion::UserError("ganglion: unknown command \"" + args[0] + "\"" +
                                ganglion::did_you_mean(args[0], names) + " (see ganglion --help)");
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest)
      if (a == "--help" || a == "-h") {
        std::printf("%s", ganglion::cli::command_help(*command).c_str());
        return 0;
      }
    return command->run(ganglion::cli::parse(*command, rest));
  } catch (const ganglion::UserError& e) {
    std::fflush(stdout);
    for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.format().c_str());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // A folder that cannot be made, a full disk: the user's machine, not a bug.
    std::fprintf(stderr, "ganglion: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "ganglion: internal error: %s\n", e.what_without_backtrace());
    return 3;
  } catch (const std::exception& e) {
    // Not the user's doing: say so plainly, still without a stack dump.
    std::fprintf(stderr, "ganglion: internal error: %s\n", e.what());
    return 3;
  }
}
