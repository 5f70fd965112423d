#include "command_line.h"

#include <cmath>
#include <sstream>

#include "ganglion/engine/user_error.h"

namespace ganglion::cli {

std::string ParsedArgs::value(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second.back();
}

const std::vector<std::string>& ParsedArgs::values(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = options.find(name);
  return it == options.end() ? none : it->second;
}

ParsedArgs parse(const CommandSpec& command, const std::vector<std::string>& args) {
  ParsedArgs out;
  const std::string prefix = "ganglion " + command.name + ": ";
  std::vector<std::string> names;
  for (const auto& o : command.options) names.push_back("--" + o.name);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      const auto eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) value = name.substr(eq + 1), name = name.substr(0, eq);
      const OptionSpec* spec = nullptr;
      for (const auto& o : command.options)
        if (o.name == name) spec = &o;
      if (!spec)
        throw UserError(prefix + "unknown option --" + name + did_you_mean("--" + name, names) +
                        " (see ganglion " + command.name + " --help)");
      if (spec->value_name.empty()) {
        if (inline_value) throw UserError(prefix + "--" + name + " takes no value");
      } else if (!inline_value) {
        if (i + 1 >= args.size())
          throw UserError(prefix + "--" + name + " needs a value (" + spec->value_name + ")");
        value = args[++i];
      }
      if (!spec->repeatable && out.has(name)) throw UserError(prefix + "--" + name + " is given twice");
      out.options[name].push_back(value);
    } else {
      out.positional.push_back(a);
    }
  }
  if (out.positional.size() < command.min_positional)
    throw UserError(prefix + "missing " + command.arguments + " (usage: ganglion " + command.name + " " +
                    command.arguments + " [options])");
  if (out.positional.size() > command.max_positional)
    throw UserError(prefix + "unexpected argument \"" + out.positional[command.max_positional] +
                    "\" (usage: ganglion " + command.name + " " + command.arguments + " [options])");
  return out;
}

std::string command_help(const CommandSpec& c) {
  std::string out = "usage: ganglion " + c.name + (c.arguments.empty() ? "" : " " + c.arguments) +
                    " [options]\n\n" + c.summary + "\n";
  if (!c.details.empty()) out += "\n" + c.details + "\n";
  out += "\noptions:\n";
  for (const auto& o : c.options) {
    std::string left = "  --" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    if (left.size() < 28)
      left += std::string(28 - left.size(), ' ');
    else
      left += "\n" + std::string(28, ' ');
    out += left + o.doc + (o.repeatable ? " (repeatable)" : "") + "\n";
  }
  return out;
}

double number_option(const ParsedArgs& args, const std::string& name, double fallback, double low,
                     double high) {
  if (!args.has(name)) return fallback;
  const std::string text = args.value(name);
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && v >= low && v <= high) return v;
  } catch (const std::exception&) {
  }
  std::ostringstream range;
  range << low << " to " << high;
  throw UserError("--" + name + " " + text + ": expected a number from " + range.str());
}

long long whole_option(const ParsedArgs& args, const std::string& name, long long fallback, long long low,
                       long long high) {
  const double v = number_option(args, name, static_cast<double>(fallback), static_cast<double>(low),
                                 static_cast<double>(high));
  if (v != std::floor(v))
    throw UserError("--" + name + " " + args.value(name) + ": expected a whole number from " +
                    std::to_string(low) + " to " + std::to_string(high));
  return static_cast<long long>(v);
}

}  // namespace ganglion::cli
