// The nets plugin: network modules.
#include <ganglion/plugin.h>

void register_dcgan_generator(ganglion::TypeRegistrar&);
void register_dcgan_discriminator(ganglion::TypeRegistrar&);
void register_mlp(ganglion::TypeRegistrar&);
void register_cnn_classifier(ganglion::TypeRegistrar&);
void register_stylegan2_generator(ganglion::TypeRegistrar&);
void register_stylegan2_discriminator(ganglion::TypeRegistrar&);
void register_progan_generator(ganglion::TypeRegistrar&);
void register_progan_discriminator(ganglion::TypeRegistrar&);
void register_unet_generator(ganglion::TypeRegistrar&);
void register_patchgan_discriminator(ganglion::TypeRegistrar&);
void register_concat(ganglion::TypeRegistrar&);
void register_roll(ganglion::TypeRegistrar&);
void register_mix(ganglion::TypeRegistrar&);
void register_resnet_generator(ganglion::TypeRegistrar&);
void register_spade_generator(ganglion::TypeRegistrar&);
void register_spade_encoder(ganglion::TypeRegistrar&);
void register_multiscale_discriminator(ganglion::TypeRegistrar&);
void register_midinet_generator(ganglion::TypeRegistrar&);
void register_midinet_discriminator(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("nets", GANGLION_VERSION) {
  register_dcgan_generator(registrar);
  register_dcgan_discriminator(registrar);
  register_mlp(registrar);
  register_cnn_classifier(registrar);
  register_stylegan2_generator(registrar);
  register_stylegan2_discriminator(registrar);
  register_progan_generator(registrar);
  register_progan_discriminator(registrar);
  register_unet_generator(registrar);
  register_patchgan_discriminator(registrar);
  register_concat(registrar);
  register_roll(registrar);
  register_mix(registrar);
  register_resnet_generator(registrar);
  register_spade_generator(registrar);
  register_spade_encoder(registrar);
  register_multiscale_discriminator(registrar);
  register_midinet_generator(registrar);
  register_midinet_discriminator(registrar);
}
