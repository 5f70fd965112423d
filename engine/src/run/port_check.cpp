#include "run/port_check.h"

#include <cctype>

#include "ganglion/engine/executor.h"
#include "run/executor_parts.h"

namespace ganglion::run_parts {

PortCheck::PortCheck(const Contract& contract, std::string node, std::string pointer)
    : contract_(contract), node_(std::move(node)), pointer_(std::move(pointer)) {
  for (const auto& spec : contract.inputs()) inputs_.emplace(spec.name, port_of(spec));
  for (const auto& spec : contract.outputs()) outputs_.push_back(port_of(spec));
}

PortCheck::Port PortCheck::port_of(const PortSpec& spec) const {
  Port p{&spec, spec.dimensions(), {}};
  for (const auto& d : p.dims)
    p.exact.push_back(!d.empty() && std::isdigit(static_cast<unsigned char>(d[0])) ? std::stoll(d) : -1);
  return p;
}

void PortCheck::fail(const std::string& what) const { throw NodeFailure(node_ + ": " + what, pointer_); }

PortCheck::Sizes PortCheck::inputs(const TensorMap& in) const {
  Sizes sizes;
  for (const auto& [name, t] : in) {
    const PortSpec* spec = contract_.find_input(name);
    if (!spec || !t.defined()) continue;
    const Port& port = inputs_.at(spec->name);
    check(port, "input \"" + name + "\"", t, sizes);
  }
  return sizes;
}

void PortCheck::outputs(const TensorMap& out, Sizes& sizes) const {
  for (const Port& port : outputs_) {
    const PortSpec& spec = *port.spec;
    auto it = out.find(spec.name);
    if (it == out.end() || !it->second.defined())
      fail("did not produce its output \"" + spec.name + "\" (a plugin bug)");
    check(port, "output \"" + spec.name + "\"", it->second, sizes);
  }
}

void PortCheck::check(const Port& port, const std::string& where, const torch::Tensor& t,
                      Sizes& sizes) const {
  const PortSpec& spec = *port.spec;
  if (!dtype_matches(spec.dtype, t))
    fail(where + " is " + std::string(t.dtype().name()) + " but its contract says " + to_string(spec.dtype));
  if (spec.rank() >= 0 && t.dim() != spec.rank())
    fail(where + " has " + std::to_string(t.dim()) + " dimensions but its contract says \"" + spec.shape +
         "\"");
  bind(port, where, t, sizes);
}

void PortCheck::bind(const Port& port, const std::string& where, const torch::Tensor& t, Sizes& sizes) const {
  if (static_cast<std::int64_t>(port.dims.size()) != t.dim()) return;  // "*" or a scalar
  for (size_t d = 0; d < port.dims.size(); ++d) {
    const std::string& name = port.dims[d];
    const std::int64_t size = t.size(static_cast<std::int64_t>(d));
    if (port.exact[d] >= 0) {
      if (size != port.exact[d])
        fail(where + " has size " + std::to_string(size) + " in dimension " + std::to_string(d) +
             ", but its contract (\"" + port.spec->shape + "\") says " + name);
      continue;
    }
    auto [it, fresh] = sizes.emplace(name, std::make_pair(size, where));
    if (!fresh && it->second.first != size)
      fail("dimension " + name + " is " + std::to_string(it->second.first) + " in " + it->second.second +
           " but " + std::to_string(size) + " in " + where + " (the contract names both " + name +
           ", so they must agree)");
  }
}

}  // namespace ganglion::run_parts
