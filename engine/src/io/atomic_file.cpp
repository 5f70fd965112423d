#include "ganglion/engine/atomic_file.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ganglion/engine/user_error.h"

namespace ganglion {

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) throw UserError(path, "", "is a folder, not a file to write");
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    // /dev/null, a pipe, a terminal: written in place; renaming over one would replace the device.
    try {
      write(path);
    } catch (const UserError&) {
      throw;
    } catch (const c10::Error& e) {
      throw UserError(path, "", std::string("cannot write the file: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw UserError(path, "", std::string("cannot write the file: ") + e.what());
    }
    return;
  }
  const std::string tmp = path + ".tmp";
  try {
    write(tmp);
    std::filesystem::rename(tmp, path);
  } catch (const UserError&) {
    std::filesystem::remove(tmp, ec);
    throw;
  } catch (const c10::Error& e) {
    std::filesystem::remove(tmp, ec);
    throw UserError(path, "", std::string("cannot write the file: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    std::filesystem::remove(tmp, ec);
    throw UserError(path, "", std::string("cannot write the file: ") + e.what());
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << text;
    out.close();  // a failed final flush (disk full) shows only here
    if (!out) throw UserError(path, "", "cannot write the file (is the disk full?)");
  });
}

}  // namespace ganglion
