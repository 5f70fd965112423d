#include "dcgan_reference.h"

namespace bench {

namespace {

constexpr int64_t kNoise = 100, kBatch = 64;

// Multiply-adds of one forward pass of `net` on one input of `shape`, counting its convolutions.
double forward_macs(torch::nn::Sequential& net, std::vector<int64_t> shape, torch::Device device) {
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::zeros(shape, device);
  double macs = 0;
  for (auto& layer : *net) {
    torch::Tensor y = layer.forward(x);
    if (auto conv = layer.ptr()->as<torch::nn::Conv2dImpl>())
      macs += double(y.numel()) * double(conv->weight[0].numel());
    else if (auto up = layer.ptr()->as<torch::nn::ConvTranspose2dImpl>())
      macs += double(x.numel()) * double(up->weight[0].numel());
    x = y;
  }
  return macs;
}

std::map<std::string, torch::Tensor> grads_of(const torch::nn::Module& net) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : net.named_parameters())
    if (p.value().grad().defined()) out[p.key()] = p.value().grad().detach().clone();
  return out;
}

}  // namespace

ReferenceDcgan::ReferenceDcgan(torch::Tensor images_u8, torch::Device device) : device_(device) {
  using namespace torch::nn;
  generator_ = Sequential(
      ConvTranspose2d(ConvTranspose2dOptions(kNoise, 256, 4).bias(false)), BatchNorm2d(256), ReLU(),
      ConvTranspose2d(ConvTranspose2dOptions(256, 128, 3).stride(2).padding(1).bias(false)), BatchNorm2d(128),
      ReLU(), ConvTranspose2d(ConvTranspose2dOptions(128, 64, 4).stride(2).padding(1).bias(false)),
      BatchNorm2d(64), ReLU(),
      ConvTranspose2d(ConvTranspose2dOptions(64, 1, 4).stride(2).padding(1).bias(false)), Tanh());
  discriminator_ = Sequential(Conv2d(Conv2dOptions(1, 64, 4).stride(2).padding(1).bias(false)),
                              LeakyReLU(LeakyReLUOptions().negative_slope(0.2)),
                              Conv2d(Conv2dOptions(64, 128, 4).stride(2).padding(1).bias(false)),
                              BatchNorm2d(128), LeakyReLU(LeakyReLUOptions().negative_slope(0.2)),
                              Conv2d(Conv2dOptions(128, 256, 4).stride(2).padding(1).bias(false)),
                              BatchNorm2d(256), LeakyReLU(LeakyReLUOptions().negative_slope(0.2)),
                              Conv2d(Conv2dOptions(256, 1, 3).stride(1).padding(0).bias(false)), Sigmoid());
  generator_->to(device);
  discriminator_->to(device);
  g_optimizer_ = std::make_unique<torch::optim::Adam>(generator_->parameters(),
                                                      torch::optim::AdamOptions(2e-4).betas({0.5, 0.5}));
  d_optimizer_ = std::make_unique<torch::optim::Adam>(discriminator_->parameters(),
                                                      torch::optim::AdamOptions(2e-4).betas({0.5, 0.5}));
  images_ = images_u8.unsqueeze(1).to(device).to(torch::kFloat).div_(127.5).sub_(1.0);
}

void ReferenceDcgan::step() {
  if (cursor_ + kBatch > images_.size(0)) cursor_ = 0;
  torch::Tensor real_images = images_.narrow(0, cursor_, kBatch);
  cursor_ += kBatch;
  step(real_images, torch::randn({kBatch, kNoise}, device_), nullptr);
}

void ReferenceDcgan::step(const torch::Tensor& real_images, const torch::Tensor& noise_in,
                          StepRecord* record) {
  const int64_t batch = real_images.size(0);
  discriminator_->zero_grad();
  torch::Tensor real_labels =
      torch::full({batch}, 0.9, real_images.options());  // one-sided smoothing, as the graph
  torch::Tensor real_output = discriminator_->forward(real_images).reshape(real_labels.sizes());
  torch::Tensor d_loss_real = torch::binary_cross_entropy(real_output, real_labels);
  d_loss_real.backward();

  torch::Tensor noise = noise_in.view({batch, kNoise, 1, 1});
  torch::Tensor fake_images = generator_->forward(noise);
  torch::Tensor fake_labels = torch::zeros({batch}, real_images.options());
  torch::Tensor fake_output = discriminator_->forward(fake_images.detach()).reshape(fake_labels.sizes());
  torch::Tensor d_loss_fake = torch::binary_cross_entropy(fake_output, fake_labels);
  d_loss_fake.backward();
  if (record) {
    record->d_loss = (d_loss_real + d_loss_fake).item<double>();
    record->d_grads = grads_of(*discriminator_);
  }
  d_optimizer_->step();

  generator_->zero_grad();
  fake_labels.fill_(1);
  fake_output = discriminator_->forward(fake_images).reshape(fake_labels.sizes());
  torch::Tensor g_loss = torch::binary_cross_entropy(fake_output, fake_labels);
  g_loss.backward();
  if (record) {
    record->g_loss = g_loss.item<double>();
    record->g_grads = grads_of(*generator_);
  }
  g_optimizer_->step();
}

void ReferenceDcgan::load_from(const torch::nn::Module& generator, const torch::nn::Module& discriminator) {
  torch::NoGradGuard no_grad;
  auto copy = [](const torch::nn::Module& from, torch::nn::Module& to) {
    auto src = from.named_parameters();
    auto src_buffers = from.named_buffers();
    auto find = [](auto& dict, const std::string& name) {
      for (const auto& item : dict)
        if (item.key() == name ||
            (item.key().size() > name.size() &&
             item.key().compare(item.key().size() - name.size() - 1, std::string::npos, "." + name) == 0))
          return item.value();
      throw std::runtime_error("no tensor named " + name + " in the module to copy from");
    };
    for (auto& p : to.named_parameters()) p.value().copy_(find(src, p.key()));
    for (auto& b : to.named_buffers()) b.value().copy_(find(src_buffers, b.key()));
  };
  copy(generator, *generator_);
  copy(discriminator, *discriminator_);
}

void ReferenceDcgan::to(torch::Dtype dtype) {
  generator_->to(dtype);
  discriminator_->to(dtype);
}

double ReferenceDcgan::flops_per_step() const {
  auto g = generator_, d = discriminator_;
  const double g_macs = forward_macs(g, {1, kNoise, 1, 1}, device_);
  const double d_macs = forward_macs(d, {1, 1, 28, 28}, device_);
  return 2.0 * double(kBatch) * (9 * d_macs + 3 * g_macs);
}

std::vector<torch::Tensor> ReferenceDcgan::parameters() const {
  auto all = generator_->parameters();
  for (auto& p : discriminator_->parameters()) all.push_back(p);
  return all;
}

}  // namespace bench
