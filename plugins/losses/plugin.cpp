// The losses plugin: each loss its own small node.
#include <ganglion/plugin.h>

void register_bce_losses(ganglion::TypeRegistrar&);
void register_wasserstein_losses(ganglion::TypeRegistrar&);
void register_gradient_penalty(ganglion::TypeRegistrar&);
void register_weighted_sum(ganglion::TypeRegistrar&);
void register_least_squares_losses(ganglion::TypeRegistrar&);
void register_hinge_losses(ganglion::TypeRegistrar&);
void register_minimax_generator_loss(ganglion::TypeRegistrar&);
void register_cross_entropy(ganglion::TypeRegistrar&);
void register_path_length(ganglion::TypeRegistrar&);
void register_l1_loss(ganglion::TypeRegistrar&);
void register_feature_matching(ganglion::TypeRegistrar&);
void register_mean_matching(ganglion::TypeRegistrar&);
void register_kl_divergence(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("losses", GANGLION_VERSION) {
  register_bce_losses(registrar);
  register_wasserstein_losses(registrar);
  register_gradient_penalty(registrar);
  register_weighted_sum(registrar);
  register_least_squares_losses(registrar);
  register_hinge_losses(registrar);
  register_minimax_generator_loss(registrar);
  register_cross_entropy(registrar);
  register_path_length(registrar);
  register_l1_loss(registrar);
  register_feature_matching(registrar);
  register_mean_matching(registrar);
  register_kl_divergence(registrar);
}
