// A background thread that runs one function in rounds, an interval apart, until stopped: the
// loop behind the daemon's spool ingester and reconciler, the snapshot publisher and the
// plugin's snapshot watcher.
//
// After Start(), the thread runs a round, then waits `interval` (or until Wake() or Stop()),
// and so on. Stop() is prompt: a waiting thread leaves at once; a round in progress is never
// cut short, Stop() waits for it to end. The destructor stops the thread.
//
// Thread-safety: Wake(), Stop() and rounds() may be called from any thread; Wake() also from
// inside a round (to run the next one at once, e.g. to drain a backlog). Stop() must not be
// called from inside a round (it joins the thread). Start() is called at most once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace sovereign {

class PeriodicWorker {
 public:
  // When the first round runs: after one interval (a poller whose caller already looked once),
  // or as soon as the thread starts.
  enum class FirstRound { kAfterInterval, kAtOnce };

  PeriodicWorker() = default;
  ~PeriodicWorker();
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Starts the thread: `round` runs on it, `interval` after the previous round ended.
  void Start(std::chrono::milliseconds interval, FirstRound first, std::function<void()> round);
  // Ends the current wait (or the next one, if a round is running): the next round runs at once.
  void Wake();
  // Stops the thread and joins it. Idempotent; a no-op if it never started.
  void Stop();
  // Rounds run to their end since Start().
  int64_t rounds() const { return rounds_.load(); }

 private:
  void Run(std::chrono::milliseconds interval, FirstRound first,
           const std::function<void()>& round);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // guarded by mu_
  bool woken_ = false;  // guarded by mu_: Wake() since the last wait
  std::atomic<int64_t> rounds_{0};
  std::thread thread_;
};

}  // namespace sovereign
