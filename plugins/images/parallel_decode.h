// Runs `decode(i)` for i in [0, count) on `threads` threads (the caller's among them), item i on
// thread i mod threads, and rethrows the first failure once all have stopped: how the image
// sources decode a batch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace ganglion::data {

template <class Decode>
void parallel_decode(int64_t count, int64_t threads, Decode&& decode) {
  std::vector<std::exception_ptr> errors(threads);
  const auto work = [&](int64_t worker) {
    try {
      for (int64_t i = worker; i < count; i += threads) decode(i);
    } catch (...) {
      errors[worker] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < std::min<int64_t>(threads, count); ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace ganglion::data
