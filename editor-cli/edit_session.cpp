#include "edit_session.h"

#include "edit_help.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "ganglion/engine/build_config.h"
#include "ganglion/engine/graph_edit.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/json_file.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"

#ifdef GANGLION_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

namespace ganglion::cli {

namespace {

GraphDocument read_document(const std::string& file) {
  const std::string text = read_user_file(file);
  parse_json_text(text, file);  // the usual messages for a broken file
  return GraphDocument::parse(text);
}

void print_errors(const UserError& e) {
  std::fflush(stdout);
  for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.format().c_str());
}

#ifdef GANGLION_HAVE_LIBEDIT
// The completion callback of libedit's readline interface has no user pointer: the prompt's state.
struct CompletionState {
  GraphDocument document;
  const PluginRegistry* registry = nullptr;
  std::vector<std::string> matches;
} completion;

char* next_match(const char*, int state) {
  static size_t index;
  if (state == 0) index = 0;
  if (index >= completion.matches.size()) return nullptr;
  return strdup(completion.matches[index++].c_str());
}

char** complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1;
  std::vector<std::string> words;
  try {
    words = split_edit_line(std::string(rl_line_buffer, rl_line_buffer + start));
    completion.matches = edit_completions(completion.document, *completion.registry, words, text);
  } catch (const std::exception&) {
    completion.matches.clear();
  }
  // "key=" and "node." go on without a space.
  const bool open_ended = completion.matches.size() == 1 && !completion.matches[0].empty() &&
                          (completion.matches[0].back() == '=' || completion.matches[0].back() == '.');
  rl_completion_append_character = open_ended ? '\0' : ' ';
  return rl_completion_matches(text, next_match);
}
#endif

/// The built-in schema as a path relative to where `file` will be, so an editor finds it from
/// any folder; "" when this Ganglion has no source tree beside it (an installed one).
std::string schema_reference(const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(GANGLION_SCHEMA_FILE, ec)) return {};
  const fs::path folder = fs::absolute(fs::path(file), ec).parent_path();
  const fs::path relative = fs::path(GANGLION_SCHEMA_FILE).lexically_relative(folder);
  return relative.empty() ? std::string(GANGLION_SCHEMA_FILE) : relative.string();
}

}  // namespace

void edit_file(const std::string& file, const std::vector<std::string>& words, const PluginRegistry& registry,
               bool force) {
  GraphDocument document;
  std::string summary;
  if (words.at(0) == "create") {
    if (std::filesystem::exists(file) && !force)
      throw UserError(file, "", "the file exists: pass --force to replace it");
    if (words.size() > 2) throw UserError("usage: ganglion edit FILE create [NAME]");
    document = new_graph_document(words.size() == 2 ? words[1] : std::filesystem::path(file).stem().string(),
                                  schema_reference(file));
    summary = "created " + file;
  } else {
    document = read_document(file);
    summary = apply_edit(document, words, registry, force).summary;
  }
  // The edited graph must be valid, though it may still be unfinished (no phases yet, say).
  std::vector<Diagnostic> unfinished, warnings;
  try {
    warnings = build_graph(nlohmann::json::parse(document.dump()), file, registry,
                           Completeness::UnderConstruction, &unfinished)
                   .warnings;
  } catch (const UserError& e) {
    std::vector<Diagnostic> out = e.diagnostics();
    out.push_back({file, "", "edit refused: the graph would be invalid; the file is unchanged"});
    throw UserError(out);
  }
  write_graph_document(file, document);
  std::printf("%s\n", summary.c_str());
  std::fflush(stdout);
  for (const auto& w : warnings) std::fprintf(stderr, "%s\n", w.format().c_str());
  if (!unfinished.empty()) {
    std::printf("still to do before it runs:\n");
    for (const auto& d : unfinished) std::printf("  %s\n", d.format().c_str());
  }
  std::fflush(stdout);
}

int run_edit_prompt(const std::string& file, const PluginRegistry& registry) {
  const bool terminal = isatty(STDIN_FILENO);
  const std::string prompt = "edit " + std::filesystem::path(file).filename().string() + "> ";
#ifdef GANGLION_HAVE_LIBEDIT
  std::string history_file;
  if (terminal) {
    if (const char* home = std::getenv("HOME")) history_file = std::string(home) + "/.ganglion_edit_history";
    using_history();
    if (!history_file.empty()) read_history(history_file.c_str());
    completion.registry = &registry;
    rl_attempted_completion_function = complete;
  }
#endif
  if (terminal)
    std::printf("editing %s: type an edit verb, `help`, `show`, `validate` or `quit`; Tab completes\n",
                file.c_str());
  int last = 0;
  std::int64_t line_number = 0;
  for (;;) {
    std::string line;
#ifdef GANGLION_HAVE_LIBEDIT
    if (terminal) {
      try {
        completion.document = std::filesystem::exists(file) ? read_document(file) : GraphDocument::object();
      } catch (const UserError&) {
        completion.document = GraphDocument::object();
      }
      char* raw = readline(prompt.c_str());
      if (!raw) break;
      line = raw;
      std::free(raw);
      if (!line.empty()) add_history(line.c_str());
    } else
#endif
    {
      if (terminal) std::printf("%s", prompt.c_str()), std::fflush(stdout);
      if (!std::getline(std::cin, line)) break;
    }
    ++line_number;
    try {
      const auto words = split_edit_line(line);
      if (words.empty() || words[0].rfind("#", 0) == 0) continue;
      if (words[0] == "quit" || words[0] == "exit") break;
      if (words[0] == "help") {
        std::printf("%s", edit_verbs_help().c_str());
        continue;
      }
      if (words[0] == "show") {
        std::printf("%s\n", read_document(file).dump(2).c_str());
        continue;
      }
      if (words[0] == "validate") {
        build_graph(nlohmann::json::parse(read_document(file).dump()), file, registry);
        std::printf("%s: valid\n", file.c_str());
        last = 0;
        continue;
      }
      bool force = false;
      std::vector<std::string> verb_words;
      for (const auto& w : words)
        if (w == "--force")
          force = true;
        else
          verb_words.push_back(w);
      edit_file(file, verb_words, registry, force);
      last = 0;
    } catch (const UserError& e) {
      print_errors(e);
      last = 2;
      // A script stops at its first refused line, so the lines after it never run against a graph
      // it did not expect; at a terminal the person reads the message and goes on.
      if (!terminal) {
        std::fprintf(
            stderr, "ganglion edit: stopped at line %lld of the script (%s); the edits before it are saved\n",
            static_cast<long long>(line_number), line.c_str());
        break;
      }
    }
  }
#ifdef GANGLION_HAVE_LIBEDIT
  if (terminal && !history_file.empty()) write_history(history_file.c_str());
#endif
  if (terminal) std::printf("\n");
  return last;
}

}  // namespace ganglion::cli
