#include "ganglion/engine/prefetcher.h"

#include <c10/util/Exception.h>

namespace ganglion {

Prefetcher::Prefetcher(std::shared_ptr<Source> source, std::string node_name, size_t depth)
    : source_(std::move(source)), node_name_(std::move(node_name)), depth_(depth) {
  consumed_position_ = source_->position();
  start();
}

Prefetcher::~Prefetcher() { stop(); }

void Prefetcher::start() {
  stopping_ = false;
  error_ = nullptr;
  queue_.clear();
  thread_ = std::thread([this] { loop(); });
}

void Prefetcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Prefetcher::loop() {
  // A null context: prefetchable sources promise not to use it.
  struct NoContext : RunContext {
    torch::Device device() const override { return torch::kCPU; }
    at::Generator& generator() override {
      throw std::logic_error("a prefetched source used the engine's generator");
    }
    std::int64_t step() const override { return 0; }
    bool sampling() const override { return false; }
  } context;
  for (;;) {
    Item item;
    try {
      item.batch = source_->next({}, context);
      item.position_after = source_->position();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return stopping_ || queue_.size() < depth_; });
    if (stopping_) return;
    queue_.push_back(std::move(item));
    changed_.notify_all();
  }
}

TensorMap Prefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || error_; });
  if (queue_.empty()) std::rethrow_exception(error_);
  Item item = std::move(queue_.front());
  queue_.pop_front();
  consumed_position_ = item.position_after;
  changed_.notify_all();
  return std::move(item.batch);
}

void Prefetcher::adopt(const std::string& derived) {
  stop();
  // Batches made ahead used what the source had built; they are made again.
  source_->adopt(derived);
  if (!consumed_position_.empty()) source_->seek(consumed_position_);
  start();
}

void Prefetcher::seek(const std::string& position) {
  stop();
  source_->seek(position);
  consumed_position_ = source_->position();
  start();
}

}  // namespace ganglion
