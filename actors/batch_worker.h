// BatchWorker: dedicated threads that take jobs from one queue and handle
// them in batches (up to `max_batch`, whatever has queued up meanwhile).
//
// It is how blocking work (LMDB commits, file I/O with one durability point
// per batch, hooks, key generation and signing) stays off CAF's worker
// threads (ARCHITECTURE §4). With one thread (the store writer, the file
// worker) batches are handled in order; with several (the crypto pool) each
// thread takes its own batch, so the handler must be safe to run
// concurrently. Submit is thread-safe; the handler runs only on the worker's
// own threads.
#pragma once

#include <pthread.h>

#include <algorithm>
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

  // `name` (at most 15 bytes) names the threads, for top -H and for the
  // capacity harness's CPU time per component.
  BatchWorker(size_t max_batch, Handler handler, size_t threads = 1, std::string name = "")
      : max_batch_(std::max<size_t>(max_batch, 1)),
        handler_(std::move(handler)),
        thread_count_(std::max<size_t>(threads, 1)) {
    name.resize(std::min<size_t>(name.size(), 15));
    for (size_t i = 0; i < thread_count_; ++i) {
      threads_.emplace_back([this, name] {
        if (!name.empty()) pthread_setname_np(pthread_self(), name.c_str());
        Loop();
      });
    }
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
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  size_t depth() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }
  size_t threads() const { return thread_count_; }

 private:
  void Loop() {
    std::vector<Job> batch;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        // With several threads, leave work for the others: take an equal
        // share of what is queued (at least one job, at most max_batch).
        const size_t share = std::max<size_t>(1, (queue_.size() + thread_count_ - 1) / thread_count_);
        const size_t take = std::min(max_batch_, share);
        while (!queue_.empty() && batch.size() < take) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (!queue_.empty()) cv_.notify_one();
      }
      handler_(batch);
      batch.clear();
    }
  }

  // Constant after construction.
  const size_t max_batch_;
  const Handler handler_;
  const size_t thread_count_;

  // Protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;

  std::vector<std::thread> threads_;  // written only by the constructor
};

}  // namespace rotor
