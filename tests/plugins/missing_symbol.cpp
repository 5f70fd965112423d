// A plugin that needs a symbol no library provides: loading it must fail with the reason.
#include <ganglion/plugin.h>

extern "C" void ganglion_test_symbol_nobody_defines();

GANGLION_PLUGIN("missing-symbol", "0") { ganglion_test_symbol_nobody_defines(); }
