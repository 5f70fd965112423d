// The order in which a data set's items are read: this rank's share of the items, reshuffled
// every epoch from the graph's seed, and a cursor that checkpoints as "EPOCH CURSOR". Shared by
// the data sources, so every one of them shards, shuffles and resumes the same way.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ganglion::data {

class EpochOrder {
 public:
  /// Items 0..count-1, of which this rank reads every world_size-th.
  EpochOrder(int64_t count, int rank, int world_size, bool shuffle, bool drop_last, uint64_t seed)
      : shuffle_(shuffle), drop_last_(drop_last), seed_(seed) {
    for (int64_t i = rank; i < count; i += world_size) indices_.push_back(i);
    start_epoch(0);
  }

  int64_t size() const { return static_cast<int64_t>(indices_.size()); }

  /// Throws std::invalid_argument when drop_last would leave no full batch of `batch` items.
  void require_batch(int64_t batch, const std::string& items = "images") const {
    if (drop_last_ && size() < batch)
      throw std::invalid_argument("param batch (" + std::to_string(batch) + ") is larger than the " +
                                  std::to_string(size()) + " " + items + " available");
  }
  int64_t epoch() const { return epoch_; }

  /// The next batch of item numbers (fewer at an epoch's end unless drop_last), and for each its
  /// place in the whole run (epoch * size + position), which seeds per-item augmentation.
  std::vector<int64_t> next(int64_t batch, std::vector<uint64_t>* draw_ids = nullptr) {
    const int64_t n = size();
    if (cursor_ >= n || (drop_last_ && cursor_ + batch > n)) start_epoch(epoch_ + 1);
    const int64_t count = std::min(batch, n - cursor_);
    std::vector<int64_t> out(order_.begin() + cursor_, order_.begin() + cursor_ + count);
    if (draw_ids)
      for (int64_t i = 0; i < count; ++i)
        draw_ids->push_back(static_cast<uint64_t>(epoch_ * n + cursor_ + i));
    cursor_ += count;
    return out;
  }

  /// The random generator of one item's augmentation (crop, flip), from the graph's seed and the
  /// item's place in the run (a draw id from next()): the same on resume, whatever the threads.
  std::mt19937_64 item_rng(uint64_t draw_id) const {
    return std::mt19937_64(seed_ * 0x9E3779B97F4A7C15ull ^ (draw_id + 0x632BE59BD9B4E019ull));
  }

  std::string position() const { return std::to_string(epoch_) + " " + std::to_string(cursor_); }
  void seek(const std::string& position) {
    std::istringstream in(position);
    int64_t epoch = 0, cursor = 0;
    if (!(in >> epoch >> cursor) || epoch < 0 || cursor < 0 || cursor > size())
      throw std::runtime_error("invalid data position \"" + position + "\"");
    start_epoch(epoch);
    cursor_ = cursor;
  }

 private:
  void start_epoch(int64_t epoch) {
    epoch_ = epoch;
    cursor_ = 0;
    order_ = indices_;
    if (shuffle_) {
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch));
      // Fisher-Yates by hand: std::shuffle's sequence differs between standard libraries.
      for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng() % i]);
    }
  }

  bool shuffle_, drop_last_;
  uint64_t seed_;
  std::vector<int64_t> indices_, order_;
  int64_t epoch_ = 0, cursor_ = 0;
};

}  // namespace ganglion::data
