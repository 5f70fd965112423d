#include "ganglion/engine/fused_adam.h"

#include <ATen/Parallel.h>
#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_addcdiv.h>
#include <ATen/ops/_foreach_addcmul.h>
#include <ATen/ops/_foreach_div.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_sqrt.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/variable.h>

#include <cmath>
#include <map>
#include <sstream>
#include <type_traits>

namespace ganglion {

namespace {

// torch keys optimizer state by the parameter's TensorImpl: as its printed address up to
// LibTorch 1.x, as the pointer itself in 2.x. Either way the key is the one torch's own step and
// its checkpoint code use, so state written by one is read by the other.
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

// Computed in double; the multi-tensor path takes them so (as Scalars, which float kernels round
// to float and double kernels use whole, as torch's own step does), the float kernel as float.
template <typename T>
struct Coefficients {
  T beta1, one_minus_beta1, beta2, one_minus_beta2, weight_decay, sqrt_bias_correction2, eps, step_size;
};

template <typename T>
Coefficients<T> coefficients(const torch::optim::AdamOptions& o, std::int64_t step) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  return {T(beta1),
          T(1 - beta1),
          T(beta2),
          T(1 - beta2),
          T(o.weight_decay()),
          T(std::sqrt(1 - std::pow(beta2, double(step)))),
          T(o.eps()),
          T(o.lr() / (1 - std::pow(beta1, double(step))))};
}

// One pass: per element the operations of torch's step, in its order. Compiled with
// -fno-math-errno (see CMakeLists.txt) so that sqrt does not block vectorisation, and for the
// widest vector unit the CPU has.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void update_chunk(float* __restrict p, const float* __restrict grad, float* __restrict exp_avg,
                  float* __restrict exp_avg_sq, std::int64_t n, Coefficients<float> c) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = c.weight_decay != 0.f ? grad[i] + c.weight_decay * p[i] : grad[i];
    const float m = exp_avg[i] * c.beta1 + c.one_minus_beta1 * g;
    const float v = exp_avg_sq[i] * c.beta2 + (c.one_minus_beta2 * g) * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const float denom = std::sqrt(v) / c.sqrt_bias_correction2 + c.eps;
    p[i] = p[i] + (-c.step_size * m) / denom;
  }
}

void update_cpu(torch::Tensor& p, const torch::Tensor& grad, torch::Tensor& exp_avg,
                torch::Tensor& exp_avg_sq, const Coefficients<float>& c) {
  float* pp = p.data_ptr<float>();
  const float* gp = grad.data_ptr<float>();
  float* mp = exp_avg.data_ptr<float>();
  float* vp = exp_avg_sq.data_ptr<float>();
  at::parallel_for(0, p.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
    update_chunk(pp + begin, gp + begin, mp + begin, vp + begin, end - begin, c);
  });
}

bool fits_cpu_kernel(const torch::Tensor& p, const torch::Tensor& g, const torch::Tensor& m,
                     const torch::Tensor& v) {
  for (const auto* t : {&p, &g, &m, &v})
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat || !t->is_contiguous() || t->is_sparse() ||
        t->sizes() != p.sizes())
      return false;
  return true;
}

}  // namespace

torch::Tensor FusedAdam::step(LossClosure closure) {
  for (auto& group : param_groups_)
    if (static_cast<torch::optim::AdamOptions&>(group.options()).amsgrad())
      return torch::optim::Adam::step(closure);  // no graph option sets it: torch's own loop
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    auto& options = static_cast<torch::optim::AdamOptions&>(group.options());
    // Parameters of other devices, batched per step count (all equal unless some parameter
    // missed a gradient on some step) for the multi-tensor kernels.
    struct Batch {
      std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
    };
    std::map<std::int64_t, Batch> batches;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      torch::Tensor grad = p.grad();
      TORCH_CHECK(!grad.is_sparse(), "Adam does not support sparse gradients");
      auto& slot = state_[state_key(state_, p)];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      state.step(state.step() + 1);
      torch::Tensor exp_avg = state.exp_avg(), exp_avg_sq = state.exp_avg_sq();
      // detach() shares p's storage and version counter (data() would not share the counter):
      // the update must count as an in-place change of p, as torch's step does, so that autograd
      // still refuses a graph that saved p before it.
      torch::Tensor data = p.detach();
      if (fits_cpu_kernel(data, grad, exp_avg, exp_avg_sq)) {
        update_cpu(data, grad, exp_avg, exp_avg_sq, coefficients<float>(options, state.step()));
        torch::autograd::impl::bump_version(p);  // written through a raw pointer
        continue;
      }
      auto& b = batches[state.step()];
      b.params.push_back(data);
      b.grads.push_back(options.weight_decay() != 0 ? grad.add(data, options.weight_decay()) : grad);
      b.exp_avgs.push_back(exp_avg);
      b.exp_avg_sqs.push_back(exp_avg_sq);
    }
    for (auto& [step, b] : batches) {
      const auto c = coefficients<double>(options, step);
      at::_foreach_mul_(b.exp_avgs, c.beta1);
      at::_foreach_add_(b.exp_avgs, b.grads, c.one_minus_beta1);
      at::_foreach_mul_(b.exp_avg_sqs, c.beta2);
      at::_foreach_addcmul_(b.exp_avg_sqs, b.grads, b.grads, c.one_minus_beta2);
      auto denom = at::_foreach_sqrt(b.exp_avg_sqs);
      at::_foreach_div_(denom, c.sqrt_bias_correction2);
      at::_foreach_add_(denom, c.eps);
      at::_foreach_addcdiv_(b.params, b.exp_avgs, denom, -c.step_size);
    }
  }
  return loss;
}

}  // namespace ganglion
