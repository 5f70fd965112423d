// A node's tensors held to its contract at every call: dtype and rank per port, every output
// present, and one size per dimension name ("B", "T") across all of the node's ports. Made once per
// node (the shapes parsed then); each call keeps its own sizes. Private to the engine; the executor
// and the SDK's node runner use it.
#pragma once

#include <ganglion/contract.h>
#include <ganglion/node.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ganglion::run_parts {

class PortCheck {
 public:
  /// The sizes that dimension names took in one call, with the port that set each.
  using Sizes = std::map<std::string, std::pair<std::int64_t, std::string>>;

  /// `node` names the node in messages ("node \"G\" (nets/dcgan-generator)"); a failed check throws
  /// NodeFailure with `pointer` (the node's entry in the graph file).
  PortCheck(const Contract& contract, std::string node, std::string pointer);

  /// Checks the inputs given (a port the contract does not declare is not checked here: the loader
  /// refuses it). Returns the sizes they bound, for outputs().
  Sizes inputs(const TensorMap& in) const;
  /// Checks that every output of the contract is there with its dtype and rank, and that its named
  /// dimensions agree with each other and with the inputs' `sizes`.
  void outputs(const TensorMap& out, Sizes& sizes) const;

 private:
  struct Port {
    const PortSpec* spec;
    std::vector<std::string> dims;    ///< parsed once; a digit-led entry is an exact size
    std::vector<std::int64_t> exact;  ///< the size where dims[d] is a number, else -1
  };
  Port port_of(const PortSpec& spec) const;
  [[noreturn]] void fail(const std::string& what) const;
  /// dtype and rank of `t` at `port` (named `where` in messages), then its dimension names.
  void check(const Port& port, const std::string& where, const torch::Tensor& t, Sizes& sizes) const;
  void bind(const Port& port, const std::string& where, const torch::Tensor& t, Sizes& sizes) const;

  const Contract& contract_;
  std::string node_, pointer_;
  std::map<std::string, Port> inputs_;  ///< declared and group member ports, by contract name
  std::vector<Port> outputs_;
};

}  // namespace ganglion::run_parts
