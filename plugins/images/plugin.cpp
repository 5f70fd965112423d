// The images plugin: data sources that decode image files with OpenCV.
#include <ganglion/plugin.h>

void register_image_folder(ganglion::TypeRegistrar&);
void register_emoji_source(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("images", GANGLION_VERSION) {
  register_image_folder(registrar);
  register_emoji_source(registrar);
}
