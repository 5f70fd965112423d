// The SDK's version numbers: a plugin is loaded only when it was built against the same ABI integer.
#pragma once

/// Incremented whenever a change to sdk/ breaks plugins built before it (layout of the descriptor,
/// of Contract, of the node base classes). The engine refuses plugins whose integer differs.
#define GANGLION_SDK_ABI 5

/// The release of Ganglion these headers belong to.
#define GANGLION_VERSION "0.1.0"
