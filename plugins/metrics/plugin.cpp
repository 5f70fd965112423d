// The metrics plugin: Function nodes that score a large draw of samples. The graph wires them like
// any node; `ganglion eval` (and a run's outputs.eval) draws the samples and runs them.
#include <ganglion/plugin.h>

void register_mixture_modes(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("metrics", GANGLION_VERSION) { register_mixture_modes(registrar); }
