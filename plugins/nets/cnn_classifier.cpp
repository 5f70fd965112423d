// A small convolutional classifier: the yardstick that sample-quality metrics read (class accuracy
// of conditional samples on its logits; Fréchet distance, KID, precision and recall on its
// penultimate features), trained by a one-phase graph (graphs/classifier-mnist.json). No ImageNet
// network is available here, so this stands where Inception does in FID.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <ganglion/plugin.h>

namespace ganglion::nets {

class CnnClassifier : public NetModule {
 public:
  static Contract contract() {
    return Contract("nets/cnn-classifier", NodeKind::Module)
        .doc(
            "small CNN classifier: blocks of two 3x3 convolutions with BatchNorm and ReLU, 2x2 max pooling "
            "between blocks, global average pooling into the features, then a linear layer")
        .input("image", DType::Float, "B,C,H,W", "image to classify, in [-1, 1]")
        .output("logits", DType::Float, "B,K", "class scores before softmax, K = classes")
        .output("features", DType::Float, "B,F", "penultimate features, F = width * 2^(blocks-1)")
        .param_int("channels", 1, 1, 64, "channels of the input image")
        .param_int("classes", 10, 2, 1 << 20, "number of classes")
        .param_int("width", 32, 1, 4096, "channels of the first block; each later block doubles it")
        .param_int("blocks", 3, 1, 8, "convolution blocks (the image is halved between blocks)")
        .param_float("dropout", 0.0, 0.0, 0.99, "dropout on the features while training");
  }

  explicit CnnClassifier(const NodeSetup& setup) {
    const auto& p = setup.params;
    using namespace torch::nn;
    channels_ = p.integer("channels");
    int64_t in = channels_, ch = p.integer("width");
    const int64_t blocks = p.integer("blocks");
    for (int64_t b = 0; b < blocks; ++b, in = ch, ch *= 2) {
      if (b > 0) body_->push_back(MaxPool2d(MaxPool2dOptions(2)));
      for (int64_t i = 0; i < 2; ++i) {
        body_->push_back(Conv2d(Conv2dOptions(i == 0 ? in : ch, ch, 3).padding(1).bias(false)));
        body_->push_back(BatchNorm2d(ch));
        body_->push_back(ReLU());
      }
    }
    features_ = in;
    register_module("body", body_);
    dropout_ = register_module("dropout", Dropout(p.real("dropout")));
    head_ = register_module("head", Linear(features_, p.integer("classes")));
  }

  TensorMap forward(const TensorMap& inputs) override {
    const auto& x = inputs.at("image");
    if (x.dim() != 4 || x.size(1) != channels_)
      throw std::invalid_argument("input image is " + c10::str(x.sizes()) + " but param channels is " +
                                  std::to_string(channels_) + ": give B x " + std::to_string(channels_) +
                                  " x H x W");
    const auto features = body_->forward(x).mean({2, 3});
    return {{"logits", head_->forward(dropout_->forward(features))}, {"features", features}};
  }

 private:
  int64_t channels_ = 1, features_ = 0;
  torch::nn::Sequential body_;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace ganglion::nets

void register_cnn_classifier(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::nets::CnnClassifier>());
}
