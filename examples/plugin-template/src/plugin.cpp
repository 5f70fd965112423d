// The plugin's entry: registers its node types with the engine.
#include <ganglion/plugin.h>

#include "linear_generator.h"
#include "negated_mean_loss.h"

GANGLION_PLUGIN("template", "0.1.0") {
  registrar.add(ganglion::node_type<template_nodes::LinearGenerator>());
  registrar.add(ganglion::node_type<template_nodes::NegatedMeanLoss>());
}
