// The verbs of the `ganglion` executable.
#pragma once

#include <vector>

#include "command_line.h"

namespace ganglion::cli {

std::vector<CommandSpec> commands();

}  // namespace ganglion::cli
