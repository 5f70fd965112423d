// A plugin that claims another LibTorch: the engine must skip it and say which.
#include <ganglion/plugin.h>

static const char* register_nothing(ganglion::TypeRegistrar&) { return nullptr; }

extern "C" __attribute__((visibility("default"))) const ganglion::PluginDescriptor* ganglion_plugin_v1() {
  static const ganglion::PluginDescriptor d{GANGLION_SDK_ABI,
                                            sizeof(ganglion::PluginDescriptor),
                                            GANGLION_CXX11_ABI,
                                            "wrong-torch",
                                            "0",
                                            "0.4.1",
                                            &register_nothing,
                                            {}};
  return &d;
}
