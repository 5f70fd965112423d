// The part every data set source shares: its items read in an EpochOrder (sharded by rank,
// reshuffled each epoch from the graph's seed), its position checkpointed and restored, and the
// engine's prefetcher allowed to run it ahead of training.
#pragma once

#include <ganglion/plugin.h>

#include <algorithm>
#include <memory>

#include "data/epoch_order.h"

namespace ganglion::data {

class OrderedSource : public Source {
 public:
  bool prefetchable() const override { return true; }
  std::string position() const override { return order_->position(); }
  void seek(const std::string& position) override { order_->seek(position); }

 protected:
  /// Orders `count` items for this node (its rank, the graph's seed, params shuffle and
  /// drop_last; only the first `limit` where the node has that param above 0, unless the node
  /// applied it itself: `limited`) and refuses a `batch` that no epoch would fill.
  void order_items(const NodeSetup& s, int64_t count, int64_t batch, bool limited = false,
                   const std::string& items = "images") {
    if (!limited && s.params.has("limit") && s.params.integer("limit") > 0)
      count = std::min(count, s.params.integer("limit"));
    order_ = std::make_unique<EpochOrder>(count, s.rank, s.world_size, s.params.flag("shuffle"),
                                          s.params.flag("drop_last"), s.seed);
    order_->require_batch(batch, items);
  }

  std::unique_ptr<EpochOrder> order_;
};

}  // namespace ganglion::data
