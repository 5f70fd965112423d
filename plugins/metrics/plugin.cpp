// The metrics plugin: Function nodes that score a large draw of samples. The graph wires them like
// any node; `ganglion eval` (and a run's outputs.eval) draws the samples and runs them.
#include <ganglion/plugin.h>

void register_mixture_modes(ganglion::TypeRegistrar&);
void register_class_accuracy(ganglion::TypeRegistrar&);
void register_frechet_distance(ganglion::TypeRegistrar&);
void register_kernel_distance(ganglion::TypeRegistrar&);
void register_precision_recall(ganglion::TypeRegistrar&);
void register_attribute_agreement(ganglion::TypeRegistrar&);
void register_image_error(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("metrics", GANGLION_VERSION) {
  register_mixture_modes(registrar);
  register_class_accuracy(registrar);
  register_frechet_distance(registrar);
  register_kernel_distance(registrar);
  register_precision_recall(registrar);
  register_attribute_agreement(registrar);
  register_image_error(registrar);
}
