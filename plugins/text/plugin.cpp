// The text plugin: encoders that turn captions' token ids into embeddings, and the image-text
// matching loss that trains them, and the R-precision that scores text-to-image models. The tokenizers and
// vocabularies (vocabulary.h) are a static library that caption sources link.
#include <ganglion/plugin.h>

void register_gru_encoder(ganglion::TypeRegistrar&);
void register_char_cnn_rnn(ganglion::TypeRegistrar&);
void register_image_text_matching(ganglion::TypeRegistrar&);
void register_r_precision(ganglion::TypeRegistrar&);
void register_conditioning_augmentation(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("text", GANGLION_VERSION) {
  register_gru_encoder(registrar);
  register_char_cnn_rnn(registrar);
  register_image_text_matching(registrar);
  register_r_precision(registrar);
  register_conditioning_augmentation(registrar);
}
