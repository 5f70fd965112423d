// The 2-D Gaussian mixtures of the mode-collapse literature (VEEGAN, PacGAN): `modes` centres on a
// ring of radius `radius`, or on a square grid `spacing` apart centred on the origin. Shared by the
// data source and the metric that scores samples against it, so the two cannot disagree.
#pragma once

#include <ganglion/contract.h>
#include <ganglion/params.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace ganglion::data {

struct MixtureLayout {
  std::string layout = "ring";  ///< "ring" or "grid"
  int64_t modes = 8;
  double radius = 1.0, spacing = 2.0, std = 0.01;
};

/// The centres, [modes, 2]. Throws std::invalid_argument for an unknown layout or a grid whose
/// mode count is not a square.
inline torch::Tensor mixture_centres(const MixtureLayout& m) {
  if (m.modes > 1 && !(m.layout == "ring" ? m.radius > 0 : m.spacing > 0))
    throw std::invalid_argument(std::string("param ") + (m.layout == "ring" ? "radius" : "spacing") +
                                " must be above 0, or every mode lies on the same point");
  if (m.layout == "ring") {
    auto angle = torch::arange(m.modes, torch::kDouble) * (2 * M_PI / double(m.modes));
    return torch::stack({angle.cos(), angle.sin()}, 1).mul(m.radius).to(torch::kFloat);
  }
  if (m.layout == "grid") {
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(double(m.modes))));
    if (side * side != m.modes)
      throw std::invalid_argument("a grid needs a square number of modes (4, 9, 16, 25, ...), not " +
                                  std::to_string(m.modes));
    auto axis = (torch::arange(side, torch::kDouble) - double(side - 1) / 2) * m.spacing;
    auto grid = torch::meshgrid({axis, axis}, "ij");
    return torch::stack({grid[0].flatten(), grid[1].flatten()}, 1).to(torch::kFloat);
  }
  throw std::invalid_argument("unknown layout \"" + m.layout + "\"; choose ring or grid");
}

/// The params both this source and metrics/mixture-modes declare, with the same names and docs.
inline Contract& mixture_params(Contract& c) {
  return c.param_string("layout", std::string("ring"), "ring (modes on a circle) or grid (a square of modes)")
      .param_int("modes", 8, 1, 10000, "number of Gaussians; a grid needs a square number")
      .param_float("radius", 1.0, 0.0, {}, "ring radius")
      .param_float("spacing", 2.0, 0.0, {}, "distance between neighbouring grid modes")
      .param_float("std", 0.01, 0.0, {}, "standard deviation of each Gaussian, per axis");
}

inline MixtureLayout mixture_layout(const Params& p) {
  MixtureLayout m;
  m.layout = p.text("layout");
  m.modes = p.integer("modes");
  m.radius = p.real("radius");
  m.spacing = p.real("spacing");
  m.std = p.real("std");
  return m;  // checked by mixture_centres(), which every user calls in its constructor
}

}  // namespace ganglion::data
