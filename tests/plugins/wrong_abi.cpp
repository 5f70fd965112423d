// A plugin that claims another SDK ABI: the engine must skip it and say why.
#include <ganglion/plugin.h>

static const char* register_nothing(ganglion::TypeRegistrar&) { return nullptr; }

extern "C" __attribute__((visibility("default"))) const ganglion::PluginDescriptor* ganglion_plugin_v1() {
  static const ganglion::PluginDescriptor d{999,
                                            sizeof(ganglion::PluginDescriptor),
                                            GANGLION_CXX11_ABI,
                                            "wrong-abi",
                                            "0",
                                            TORCH_VERSION,
                                            &register_nothing,
                                            {}};
  return &d;
}
