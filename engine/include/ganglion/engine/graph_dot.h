// A picture of a planned graph in Graphviz's DOT language: one cluster per phase, nodes grouped by
// the module they apply, ports as record fields, edges labelled by port, updated and frozen
// modules and reused values drawn differently.
#pragma once

#include <string>

#include "ganglion/engine/graph.h"
#include "ganglion/engine/planner.h"

namespace ganglion {

std::string graph_to_dot(const Graph& graph, const Plan& plan);

}  // namespace ganglion
