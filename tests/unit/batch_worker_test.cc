// BatchWorker (actors/batch_worker.h): with one thread (the store writer, the
// file worker) batches are handled in submission order; with several (the
// crypto pool) every job is handled exactly once, handlers overlap, no batch
// exceeds max_batch, and Stop drains what was queued.
#include "actors/batch_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace rotor {
namespace {

using std::chrono::milliseconds;

TEST(BatchWorkerTest, OneThreadHandlesBatchesInSubmissionOrder) {
  std::vector<int> seen;  // written by the worker's one thread only
  std::vector<size_t> sizes;
  {
    BatchWorker<int> worker(
        16,
        [&](std::vector<int>& batch) {
          sizes.push_back(batch.size());
          seen.insert(seen.end(), batch.begin(), batch.end());
        },
        1);
    EXPECT_EQ(worker.threads(), 1u);
    for (int i = 0; i < 5000; ++i) worker.Submit(i);
    worker.Stop();
  }
  ASSERT_EQ(seen.size(), 5000u);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(seen[i], i) << "at position " << i;
  for (size_t s : sizes) {
    EXPECT_GE(s, 1u);
    EXPECT_LE(s, 16u);
  }
}

TEST(BatchWorkerTest, ZeroThreadsMeansOne) {
  std::atomic<int> handled{0};
  BatchWorker<int> worker(
      4, [&](std::vector<int>& batch) { handled += static_cast<int>(batch.size()); }, 0);
  EXPECT_EQ(worker.threads(), 1u);
  for (int i = 0; i < 10; ++i) worker.Submit(i);
  worker.Stop();
  EXPECT_EQ(handled.load(), 10);
}

TEST(BatchWorkerTest, SeveralThreadsHandleEveryJobExactlyOnceWithinMaxBatch) {
  constexpr int kJobs = 10000;
  constexpr size_t kMaxBatch = 7;
  std::vector<std::atomic<int>> counts(kJobs);
  std::atomic<size_t> largest{0};
  std::atomic<size_t> empty_batches{0};
  std::mutex mu;
  std::set<std::thread::id> threads;  // protected by mu
  {
    BatchWorker<int> worker(
        kMaxBatch,
        [&](std::vector<int>& batch) {
          if (batch.empty()) empty_batches++;
          size_t prev = largest.load();
          while (batch.size() > prev && !largest.compare_exchange_weak(prev, batch.size())) {
          }
          for (int j : batch) counts[j]++;
          std::lock_guard<std::mutex> lock(mu);
          threads.insert(std::this_thread::get_id());
        },
        3);
    EXPECT_EQ(worker.threads(), 3u);
    // Submitted from two threads at once, as shards do.
    std::thread a([&] {
      for (int i = 0; i < kJobs; i += 2) worker.Submit(i);
    });
    std::thread b([&] {
      for (int i = 1; i < kJobs; i += 2) worker.Submit(i);
    });
    a.join();
    b.join();
    worker.Stop();
    EXPECT_EQ(worker.depth(), 0u);
  }
  int wrong = 0;
  for (int i = 0; i < kJobs; ++i) {
    if (counts[i].load() != 1) {
      if (++wrong <= 5) ADD_FAILURE() << "job " << i << " handled " << counts[i].load() << " times";
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_LE(largest.load(), kMaxBatch);
  EXPECT_GE(largest.load(), 1u);
  EXPECT_EQ(empty_batches.load(), 0u);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GE(threads.size(), 1u);
  EXPECT_LE(threads.size(), 3u);
}

TEST(BatchWorkerTest, HandlersRunConcurrentlyOnSeveralThreads) {
  // Each handler waits (bounded) until another is inside at the same time:
  // with a pool that serialised its handlers this would time out.
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;      // protected by mu
  int max_inside = 0;  // protected by mu
  std::set<std::thread::id> threads;
  {
    BatchWorker<int> worker(
        1,
        [&](std::vector<int>&) {
          std::unique_lock<std::mutex> lock(mu);
          ++inside;
          max_inside = std::max(max_inside, inside);
          threads.insert(std::this_thread::get_id());
          cv.notify_all();
          cv.wait_for(lock, milliseconds(5000), [&] { return max_inside >= 2; });
          --inside;
        },
        3);
    for (int i = 0; i < 12; ++i) worker.Submit(i);
    worker.Stop();
  }
  EXPECT_GE(max_inside, 2);
  EXPECT_GE(threads.size(), 2u) << "handlers ran on more than one thread";
}

TEST(BatchWorkerTest, StopDrainsEverythingAlreadyQueued) {
  for (size_t threads : {size_t{1}, size_t{3}}) {
    std::atomic<int> handled{0};
    std::mutex gate_mu;
    std::condition_variable gate_cv;
    bool open = false;
    BatchWorker<int> worker(
        5,
        [&](std::vector<int>& batch) {
          {
            std::unique_lock<std::mutex> lock(gate_mu);
            gate_cv.wait(lock, [&] { return open; });
          }
          std::this_thread::sleep_for(milliseconds(1));
          handled += static_cast<int>(batch.size());
        },
        threads);
    for (int i = 0; i < 500; ++i) worker.Submit(i);
    // The handlers are held at the gate, so most jobs are still queued when
    // Stop is called; release them from another thread while Stop waits.
    std::thread release([&] {
      std::this_thread::sleep_for(milliseconds(20));
      std::lock_guard<std::mutex> lock(gate_mu);
      open = true;
      gate_cv.notify_all();
    });
    EXPECT_GT(worker.depth(), 0u);
    worker.Stop();
    release.join();
    EXPECT_EQ(handled.load(), 500) << threads << " thread(s)";
    EXPECT_EQ(worker.depth(), 0u);
    worker.Stop();  // a second Stop (the destructor's) is harmless
  }
}

}  // namespace
}  // namespace rotor
