// The augment plugin: DiffAugment's differentiable augmentations and ADA's adaptive probability.
#include <ganglion/plugin.h>

void register_diff_augment(ganglion::TypeRegistrar&);
void register_ada_probability(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("augment", GANGLION_VERSION) {
  register_diff_augment(registrar);
  register_ada_probability(registrar);
}
