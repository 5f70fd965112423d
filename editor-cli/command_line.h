// A small command-line parser whose options are declared once, with their docs: `--help` is
// generated from the declarations, and every mistake is a one-line message (exit code 2).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ganglion::cli {

struct OptionSpec {
  std::string name;        ///< without the dashes
  std::string value_name;  ///< "" for a flag
  std::string doc;
  bool repeatable = false;
};

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> options;  ///< flags hold one empty string

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::string value(const std::string& name, const std::string& fallback = {}) const;
  const std::vector<std::string>& values(const std::string& name) const;
};

struct CommandSpec {
  std::string name;
  std::string arguments;  ///< e.g. "GRAPH"
  std::string summary;
  std::string details;
  std::vector<OptionSpec> options;
  size_t min_positional = 0, max_positional = 0;
  std::function<int(const ParsedArgs&)> run;
};

/// Parses argv for `command`; throws UserError on unknown options, missing values, or the wrong
/// number of arguments.
ParsedArgs parse(const CommandSpec& command, const std::vector<std::string>& args);

std::string command_help(const CommandSpec& command);

/// Option `name` as a number from `low` to `high`, `fallback` when it is not given; throws
/// UserError naming the option otherwise.
double number_option(const ParsedArgs& args, const std::string& name, double fallback, double low,
                     double high);
/// The same for a count: a whole number (2.5 frames is refused, not cut to 2).
long long whole_option(const ParsedArgs& args, const std::string& name, long long fallback, long long low,
                       long long high);

}  // namespace ganglion::cli
