// Writing a file so that no reader, and no crash, ever sees it half-written.
#pragma once

#include <functional>
#include <string>

namespace ganglion {

/// Calls `write(temporary_path)`, then renames the temporary file to `path`. On any failure the
/// temporary file is removed and UserError names `path`; an existing `path` is left as it was.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

/// write_atomically for a text.
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace ganglion
