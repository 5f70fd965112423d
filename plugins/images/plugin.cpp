// The images plugin: data sources that decode image files with OpenCV, and (where OpenCV's videoio
// is built) the io/video writer.
#include <ganglion/plugin.h>

void register_image_folder(ganglion::TypeRegistrar&);
void register_emoji_source(ganglion::TypeRegistrar&);
void register_paired_images(ganglion::TypeRegistrar&);
void register_image_file(ganglion::TypeRegistrar&);
void register_canny_edges(ganglion::TypeRegistrar&);
void register_label_map_file(ganglion::TypeRegistrar&);
#ifdef GANGLION_HAS_TEXT
void register_emoji_captions_source(ganglion::TypeRegistrar&);
#endif
#ifdef GANGLION_HAS_VIDEOIO
void register_video_writer(ganglion::TypeRegistrar&);
#endif

GANGLION_PLUGIN("images", GANGLION_VERSION) {
  register_image_folder(registrar);
  register_emoji_source(registrar);
  register_paired_images(registrar);
  register_image_file(registrar);
  register_canny_edges(registrar);
  register_label_map_file(registrar);
#ifdef GANGLION_HAS_TEXT
  register_emoji_captions_source(registrar);
#endif
#ifdef GANGLION_HAS_VIDEOIO
  register_video_writer(registrar);
#endif
}
