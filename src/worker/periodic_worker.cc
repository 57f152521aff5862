#include "sovereign/periodic_worker.h"

#include <utility>

namespace sovereign {

PeriodicWorker::~PeriodicWorker() { Stop(); }

void PeriodicWorker::Start(std::chrono::milliseconds interval, FirstRound first,
                           std::function<void()> round) {
  thread_ = std::thread(
      [this, interval, first, round = std::move(round)] { Run(interval, first, round); });
}

void PeriodicWorker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void PeriodicWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PeriodicWorker::Run(std::chrono::milliseconds interval, FirstRound first,
                         const std::function<void()>& round) {
  std::unique_lock<std::mutex> lock(mu_);
  bool wait = first == FirstRound::kAfterInterval;
  while (!stop_) {
    if (wait) {
      cv_.wait_for(lock, interval, [this] { return stop_ || woken_; });
      if (stop_) {
        break;
      }
    }
    woken_ = false;
    wait = true;
    lock.unlock();
    round();
    ++rounds_;
    lock.lock();
  }
}

}  // namespace sovereign
