// `ganglion edit`: one verb applied to a file, or an interactive prompt applying many.
#pragma once

#include <string>
#include <vector>

namespace ganglion {
class PluginRegistry;
}

namespace ganglion::cli {

/// Applies one edit (or `create`) to `file`: validated, written atomically, reported on stdout
/// with what is still left to do. Throws UserError, leaving the file unchanged, when refused.
void edit_file(const std::string& file, const std::vector<std::string>& words, const PluginRegistry& registry,
               bool force);

/// A prompt reading edit verbs line by line (with history and tab completion on a terminal),
/// applying each to `file` as edit_file does; also `show`, `validate`, `help`, `quit`. Returns the
/// exit code: 0, or 2 when the input ended and the last edit was refused.
int run_edit_prompt(const std::string& file, const PluginRegistry& registry);

}  // namespace ganglion::cli
