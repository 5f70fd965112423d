#include "dcgan_reference.h"

namespace bench {

namespace {

constexpr int64_t kNoise = 100, kBatch = 64;

}  // namespace

ReferenceDcgan::ReferenceDcgan(torch::Tensor images_u8) {
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
  g_optimizer_ = std::make_unique<torch::optim::Adam>(generator_->parameters(),
                                                      torch::optim::AdamOptions(2e-4).betas({0.5, 0.5}));
  d_optimizer_ = std::make_unique<torch::optim::Adam>(discriminator_->parameters(),
                                                      torch::optim::AdamOptions(2e-4).betas({0.5, 0.5}));
  images_ = images_u8.unsqueeze(1).to(torch::kFloat).div_(127.5).sub_(1.0);
}

void ReferenceDcgan::step() {
  if (cursor_ + kBatch > images_.size(0)) cursor_ = 0;
  torch::Tensor real_images = images_.narrow(0, cursor_, kBatch);
  cursor_ += kBatch;

  discriminator_->zero_grad();
  torch::Tensor real_labels = torch::full({kBatch}, 0.9);  // one-sided smoothing, as the graph
  torch::Tensor real_output = discriminator_->forward(real_images).reshape(real_labels.sizes());
  torch::Tensor d_loss_real = torch::binary_cross_entropy(real_output, real_labels);
  d_loss_real.backward();

  torch::Tensor noise = torch::randn({kBatch, kNoise, 1, 1});
  torch::Tensor fake_images = generator_->forward(noise);
  torch::Tensor fake_labels = torch::zeros({kBatch});
  torch::Tensor fake_output = discriminator_->forward(fake_images.detach()).reshape(fake_labels.sizes());
  torch::Tensor d_loss_fake = torch::binary_cross_entropy(fake_output, fake_labels);
  d_loss_fake.backward();
  d_optimizer_->step();

  generator_->zero_grad();
  fake_labels.fill_(1);
  fake_output = discriminator_->forward(fake_images).reshape(fake_labels.sizes());
  torch::Tensor g_loss = torch::binary_cross_entropy(fake_output, fake_labels);
  g_loss.backward();
  g_optimizer_->step();
}

}  // namespace bench
