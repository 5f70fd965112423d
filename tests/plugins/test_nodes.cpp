// Node types for engine tests: a second-order penalty, a node that throws, a duplicate type.
#include <torch/autograd.h>

#include <ganglion/plugin.h>

#include <cstdio>

namespace {

/// Mean squared gradient of `score` with respect to `input`: differentiates its inputs.
class GradPenalty : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/grad-penalty", ganglion::NodeKind::Function)
        .doc("squared gradient norm of score w.r.t. input (kept for double backward)")
        .input("score", ganglion::DType::Float, "B", "scores")
        .input("input", ganglion::DType::Float, "*", "what the scores were computed from")
        .output("loss", ganglion::DType::Float, "", "penalty")
        .second_order();
  }
  explicit GradPenalty(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext&) override {
    auto g = torch::autograd::grad({in.at("score").sum()}, {in.at("input")}, {}, true, true, true)[0];
    return {{"loss", g.defined() ? g.pow(2).mean() : torch::zeros({})}};
  }
};

class Throws : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/throws", ganglion::NodeKind::Function)
        .doc("always fails")
        .input("x", ganglion::DType::Any, "*", "anything")
        .output("loss", ganglion::DType::Float, "", "never produced");
  }
  explicit Throws(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap&, ganglion::RunContext&) override {
    throw std::runtime_error("deliberate failure");
  }
};

/// Counts its calls and checkpoints the count: a stateful function.
class Counter : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/counter", ganglion::NodeKind::Function)
        .doc("mean of x times zero, plus the number of calls so far")
        .input("x", ganglion::DType::Float, "*", "anything")
        .output("loss", ganglion::DType::Float, "", "x.mean() * 0 + calls");
  }
  explicit Counter(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext&) override {
    ++calls_;
    return {{"loss", in.at("x").mean() * 0 + static_cast<double>(calls_)}};
  }
  std::string state() const override { return std::to_string(calls_); }
  void restore(const std::string& state) override { calls_ = std::stoll(state); }

 private:
  long long calls_ = 0;
};

/// Rows of numbers as CSV. Its extension() leaves out the dot, as an out-of-tree writer did: the
/// engine must still name files "x.csv".
class CsvWriter : public ganglion::Writer {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/csv", ganglion::NodeKind::Writer)
        .doc("a matrix as comma-separated rows")
        .input("value", ganglion::DType::Float, "N,F", "rows of numbers")
        .param_int("group", 0, 0, {}, "a line \"--\" after every N rows (0: none)")
        .row_length_param("group");
  }
  explicit CsvWriter(const ganglion::NodeSetup& s) : group_(s.params.integer("group")) {}
  std::string extension() const override { return "csv"; }
  void write(const torch::Tensor& value, const std::string& path) override {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error("cannot open " + path);
    auto rows = value.to(torch::kDouble).contiguous();
    for (int64_t i = 0; i < rows.size(0); ++i) {
      for (int64_t j = 0; j < rows.size(1); ++j)
        std::fprintf(f, "%g%s", rows[i][j].item<double>(), j + 1 < rows.size(1) ? "," : "\n");
      if (group_ > 0 && (i + 1) % group_ == 0) std::fprintf(f, "--\n");
    }
    std::fclose(f);
  }

 private:
  int64_t group_;
};

/// A residual MLP that grows a layer per stage (a progressive GAN in miniature), scaled by the
/// graph schedule its "scale" param names.
class GrowingMlp : public ganglion::NetModule {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/growing-mlp", ganglion::NodeKind::Module)
        .doc("x + sum of grown layers, times a schedule")
        .input("x", ganglion::DType::Float, "B,D", "points")
        .output("y", ganglion::DType::Float, "B,D", "refined points")
        .param_int("dim", 2, 1, 64, "width")
        .param_schedule("scale", "a schedule that scales the output (none: 1)");
  }
  explicit GrowingMlp(const ganglion::NodeSetup& s)
      : dim_(s.params.integer("dim")), scale_(s.params.text("scale")) {
    layers_.push_back(register_module("layer0", torch::nn::Linear(dim_, dim_)));
  }
  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext& ctx) override {
    auto y = in.at("x");
    for (auto& layer : layers_) y = y + layer->forward(y);
    if (!scale_.empty()) y = y * ctx.schedule(scale_);
    return {{"y", y}};
  }
  void grow(std::int64_t stage) override {
    layers_.push_back(register_module("layer" + std::to_string(stage), torch::nn::Linear(dim_, dim_)));
  }

 private:
  int64_t dim_;
  std::string scale_;
  std::vector<torch::nn::Linear> layers_;
};

/// Keeps a tensor count of its calls (tensor state) and adds a draw from its own generator: its
/// loss repeats after a resume only if both are checkpointed.
class Remember : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/remember", ganglion::NodeKind::Function)
        .doc("x.mean() * 0 + calls + a uniform draw of its own")
        .input("x", ganglion::DType::Float, "*", "anything")
        .output("loss", ganglion::DType::Float, "", "the count and the draw");
  }
  explicit Remember(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext& ctx) override {
    calls_ += 1;
    const auto draw = torch::rand({}, ctx.node_generator());
    return {{"loss", in.at("x").mean() * 0 + calls_ + draw}};
  }
  ganglion::TensorMap state_tensors() const override { return {{"calls", calls_}}; }
  void restore_tensors(const ganglion::TensorMap& state) override { calls_ = state.at("calls").clone(); }

 private:
  torch::Tensor calls_ = torch::zeros({});
};

/// Integer token sequences with their lengths and a mask (captions, say): tokens [B, T] of ids in
/// [1, vocab), 0 after each row's length. `mask_length` other than 0 makes a mask of another
/// length, which the named dimension T must catch.
class Tokens : public ganglion::Source {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/tokens", ganglion::NodeKind::Source)
        .doc("random token sequences, padded with 0, their lengths and mask")
        .output("tokens", ganglion::DType::Long, "B,T", "token ids, 0 = padding")
        .output("lengths", ganglion::DType::Long, "B", "tokens before the padding")
        .output("mask", ganglion::DType::Bool, "B,T", "true where a token is")
        .param_int("batch", 4, 1, {}, "rows")
        .param_int("length", 5, 1, {}, "T")
        .param_int("vocab", 10, 2, {}, "ids")
        .param_int("mask_length", 0, 0, {}, "0 = T; else a mask of this length (a bug to catch)");
  }
  explicit Tokens(const ganglion::NodeSetup& s)
      : batch_(s.params.integer("batch")),
        length_(s.params.integer("length")),
        vocab_(s.params.integer("vocab")),
        mask_length_(s.params.integer("mask_length")) {}
  ganglion::TensorMap next(const ganglion::TensorMap&, ganglion::RunContext& ctx) override {
    auto lengths = torch::randint(1, length_ + 1, {batch_}, ctx.generator(), torch::kLong);
    auto positions = torch::arange(length_).unsqueeze(0);
    auto mask = positions < lengths.unsqueeze(1);
    auto tokens = torch::randint(1, vocab_, {batch_, length_}, ctx.generator(), torch::kLong) * mask;
    if (mask_length_ > 0) mask = torch::ones({batch_, mask_length_}, torch::kBool);
    return {{"tokens", tokens}, {"lengths", lengths}, {"mask", mask}};
  }

 private:
  int64_t batch_, length_, vocab_, mask_length_;
};

/// The masked mean of token embeddings through a linear head; the embedding learns at `embed_lr`
/// times the optimiser's rate (a learning-rate multiplier the module declares).
class TokenEmbed : public ganglion::NetModule {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/token-embed", ganglion::NodeKind::Module)
        .doc("head(masked mean of embedding(tokens))")
        .input("tokens", ganglion::DType::Long, "B,T", "token ids")
        .input("mask", ganglion::DType::Bool, "B,T", "which positions hold tokens")
        .output("y", ganglion::DType::Float, "B,E", "one vector per sequence")
        .param_int("vocab", 10, 2, {}, "ids")
        .param_int("dim", 3, 1, {}, "E")
        .param_float("embed_lr", 1.0, 0.0, {}, "the embedding's lr multiplier (1: none declared)");
  }
  explicit TokenEmbed(const ganglion::NodeSetup& s) : embed_lr_(s.params.real("embed_lr")) {
    embedding_ = register_module("embedding", torch::nn::Embedding(s.params.integer("vocab"), 4));
    head_ = register_module("head", torch::nn::Linear(4, s.params.integer("dim")));
  }
  ganglion::TensorMap forward(const ganglion::TensorMap& in) override {
    auto mask = in.at("mask").unsqueeze(2).to(torch::kFloat);
    auto mean = (embedding_->forward(in.at("tokens")) * mask).sum(1) / mask.sum(1).clamp_min(1);
    return {{"y", head_->forward(mean)}};
  }
  std::vector<LearningRateMultiplier> learning_rate_multipliers() const override {
    if (embed_lr_ == 1.0) return {};
    return {{"embedding.", embed_lr_}};
  }

 private:
  double embed_lr_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Linear head_{nullptr};
};

/// Concatenates a port group's members along their features: at least two rows of the same B.
class Concat : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/concat", ganglion::NodeKind::Function)
        .doc("the members of parts, side by side")
        .input_group("parts", ganglion::DType::Float, "B,F", "features of the same rows", 2)
        .output("y", ganglion::DType::Float, "B,G", "all features");
  }
  explicit Concat(const ganglion::NodeSetup& s) : members_(s.inputs) {}
  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext&) override {
    std::vector<torch::Tensor> parts;
    for (const auto& m : members_) parts.push_back(in.at(m));
    return {{"y", torch::cat(parts, 1)}};
  }

 private:
  std::vector<std::string> members_;
};

/// mean(x^2): a loss for any tensor.
class Square : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/square", ganglion::NodeKind::Function)
        .doc("mean of squares")
        .input("x", ganglion::DType::Float, "*", "anything")
        .output("loss", ganglion::DType::Float, "", "mean(x^2)");
  }
  explicit Square(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext&) override {
    return {{"loss", in.at("x").pow(2).mean()}};
  }
};

/// What its optional input holds, summed, or -1 without one: shows what a previous-iteration
/// input received.
class SumOrMinusOne : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract("test/sum-or-minus-one", ganglion::NodeKind::Function)
        .doc("x.sum(), or -1 when x is not given")
        .optional_input("x", ganglion::DType::Float, "*", "anything, or nothing")
        .output("value", ganglion::DType::Float, "", "the sum, or -1")
        .output("tracked", ganglion::DType::Float, "", "1 when x carries an autograd graph, else 0");
  }
  explicit SumOrMinusOne(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap& in, ganglion::RunContext&) override {
    auto x = in.find("x");
    const bool tracked = x != in.end() && x->second.requires_grad();
    return {{"value", x == in.end() ? torch::full({}, -1.0) : x->second.sum().detach()},
            {"tracked", torch::full({}, tracked ? 1.0 : 0.0)}};
  }
};

class Duplicate : public ganglion::Function {
 public:
  static ganglion::Contract contract() {
    return ganglion::Contract(TEST_DUPLICATE_TYPE, ganglion::NodeKind::Function)
        .doc("defined by two test plugins")
        .output("y", ganglion::DType::Float, "", "zero");
  }
  explicit Duplicate(const ganglion::NodeSetup&) {}
  ganglion::TensorMap forward(const ganglion::TensorMap&, ganglion::RunContext&) override {
    return {{"y", torch::zeros({})}};
  }
};

}  // namespace

GANGLION_PLUGIN(TEST_PLUGIN_NAME, "0") {
#ifdef TEST_WITH_NODES
  registrar.add(ganglion::node_type<GradPenalty>());
  registrar.add(ganglion::node_type<Throws>());
  registrar.add(ganglion::node_type<Counter>());
  registrar.add(ganglion::node_type<CsvWriter>());
  registrar.add(ganglion::node_type<GrowingMlp>());
  registrar.add(ganglion::node_type<Remember>());
  registrar.add(ganglion::node_type<Tokens>());
  registrar.add(ganglion::node_type<TokenEmbed>());
  registrar.add(ganglion::node_type<Concat>());
  registrar.add(ganglion::node_type<Square>());
  registrar.add(ganglion::node_type<SumOrMinusOne>());
#endif
  registrar.add(ganglion::node_type<Duplicate>());
}
