// BatchWorker: a dedicated thread that takes jobs from a queue and handles
// them in batches (up to `max_batch`, whatever has queued up meanwhile).
//
// It is how blocking work (LMDB commits, file I/O with one durability point
// per batch, hooks, key generation) stays off CAF's worker threads
// (ARCHITECTURE §4). Submit is thread-safe; the handler runs only on the
// worker's own thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rotor {

template <class Job>
class BatchWorker {
 public:
  using Handler = std::function<void(std::vector<Job>&)>;

  BatchWorker(size_t max_batch, Handler handler) : max_batch_(max_batch), handler_(std::move(handler)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~BatchWorker() { Stop(); }
  BatchWorker(const BatchWorker&) = delete;
  BatchWorker& operator=(const BatchWorker&) = delete;

  void Submit(Job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  // Stop handles every job already queued, then joins the thread.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  size_t depth() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

 private:
  void Loop() {
    std::vector<Job> batch;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        while (!queue_.empty() && batch.size() < max_batch_) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      handler_(batch);
      batch.clear();
    }
  }

  // Constant after construction.
  const size_t max_batch_;
  const Handler handler_;

  // Protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;

  std::thread thread_;
};

}  // namespace rotor
