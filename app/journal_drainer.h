// JournalDrainer: the thread that drains the outbox into the local audit
// journal (ARCHITECTURE §6), every 100 ms and at Stop, so fsync never blocks
// the actors. Used by the daemon and the capacity harness.
//
// Thread-safety: Stop and drained() may be called from any thread; the
// journal is touched only by the drainer's own thread while it runs.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "app/log.h"
#include "connectors/sinks/journal_sink.h"

namespace rotor::app {

class JournalDrainer {
 public:
  explicit JournalDrainer(AuditJournal* journal) : journal_(journal) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "rotor-journal");  // for top -H and the capacity harness
      Loop();
    });
  }
  ~JournalDrainer() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  uint64_t drained() const { return drained_; }

 private:
  void Loop() {
    while (true) {
      bool stopping;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
        stopping = stop_;
      }
      DrainAll();
      if (stopping) return;
    }
  }
  void DrainAll() {
    while (true) {
      auto n = journal_->DrainOnce(8192);
      if (!n.ok()) {
        LogError("audit journal drain failed", {{"error", n.status().ToString()}});
        return;
      }
      drained_ += *n;
      if (*n < 8192) return;
    }
  }

  AuditJournal* journal_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<uint64_t> drained_{0};
  std::thread thread_;
};

}  // namespace rotor::app
