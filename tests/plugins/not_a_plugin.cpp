// A shared library with no Ganglion entry point.
extern "C" __attribute__((visibility("default"))) int ganglion_test_not_a_plugin() { return 1; }
