#pragma once
// Independent jobs shared among a few threads, inside one call of the library.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace gpumm::detail {

// Jobs 0 to count-1 on `threads` threads (the calling one among them); the first exception a
// job throws is thrown again here once the jobs under way have ended.
template <class Job>
void run_jobs(size_t count, int threads, Job&& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
  std::mutex lock;
  const auto work = [&] {
    for (size_t k; !failed && (k = next++) < count;) {
      try {
        job(k);
      } catch (...) {
        const std::lock_guard<std::mutex> hold(lock);
        if (!failure) failure = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t k = 1; k < std::min(count, static_cast<size_t>(std::max(1, threads))); ++k) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace gpumm::detail
