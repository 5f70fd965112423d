// An owned libsmf file, deleted with smf_delete: the reader's and the writer's.
#pragma once

#include <smf.h>

#include <memory>

namespace ganglion::midi {

struct SmfDeleter {
  void operator()(smf_t* s) const { smf_delete(s); }
};
using SmfPtr = std::unique_ptr<smf_t, SmfDeleter>;

}  // namespace ganglion::midi
