// log.jsonl: one JSON object per logged step, flushed line by line, so a farm's log reader can
// follow it while the run goes on.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <string>

namespace ganglion {

class RunLog {
 public:
  /// Opens `path` for appending. With `keep_through_step` >= 0, lines of later steps are removed
  /// first (a resumed run continues from its checkpoint, not from where the log stopped).
  RunLog(const std::string& path, std::int64_t keep_through_step);
  void write(const nlohmann::json& record);

 private:
  std::ofstream out_;
};

}  // namespace ganglion
