// Runs a data source ahead of training in a background thread, so data loading never waits on
// compute or the other way round.
#pragma once

#include <ganglion/node.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace ganglion {

class Prefetcher {
 public:
  /// `depth`: batches kept ready.
  Prefetcher(std::shared_ptr<Source> source, std::string node_name, size_t depth = 4);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  /// The next batch, in the order the source makes them. Rethrows the source's exception.
  TensorMap next();
  /// The source's position just after the last batch next() returned.
  std::string position() const { return consumed_position_; }
  /// Continues from `position` (stops the thread, seeks, starts again).
  void seek(const std::string& position);
  /// Hands `derived` to the source's adopt() (stops the thread, adopts, reads again from the
  /// position of the last batch returned).
  void adopt(const std::string& derived);

 private:
  void start();
  void stop();
  void loop();

  struct Item {
    TensorMap batch;
    std::string position_after;
  };
  std::shared_ptr<Source> source_;
  std::string node_name_;
  size_t depth_;
  std::deque<Item> queue_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread thread_;
  std::string consumed_position_;
};

}  // namespace ganglion
