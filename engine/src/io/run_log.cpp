#include "ganglion/engine/run_log.h"

#include <filesystem>
#include <sstream>
#include <vector>

#include "ganglion/engine/atomic_file.h"
#include "ganglion/engine/user_error.h"

namespace ganglion {

RunLog::RunLog(const std::string& path, std::int64_t keep_through_step) {
  if (keep_through_step >= 0 && std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      try {
        auto j = nlohmann::json::parse(line);
        if (j.value("step", std::int64_t(0)) <= keep_through_step) kept += line + "\n";
      } catch (const nlohmann::json::exception&) {
        // A line cut short by a crash: dropped.
      }
    }
    write_text_atomically(path, kept);
  }
  out_.open(path, std::ios::app);
  if (!out_) throw UserError(path, "", "cannot open the log for writing");
}

void RunLog::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace ganglion
