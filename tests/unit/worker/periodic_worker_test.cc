#include "sovereign/periodic_worker.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "gtest/gtest.h"

namespace sovereign {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kForever{3600 * 1000};
// How long a test waits for an event that should come at once; only a failing test waits it out.
constexpr auto kPatience = std::chrono::seconds(20);

// Records when each round ran; tests wait on it for a number of rounds.
class Rounds {
 public:
  void Ran() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      times_.push_back(steady_clock::now());
    }
    cv_.notify_all();
  }
  // True once `n` rounds ran, false if they did not within kPatience.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return times_.size() >= n; });
  }
  std::vector<steady_clock::time_point> times() {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<steady_clock::time_point> times_;
};

TEST(PeriodicWorkerTest, RunsRoundsAnIntervalApart) {
  Rounds rounds;
  PeriodicWorker worker;
  const milliseconds interval(20);
  const auto start = steady_clock::now();
  worker.Start(interval, PeriodicWorker::FirstRound::kAfterInterval, [&] { rounds.Ran(); });
  ASSERT_TRUE(rounds.WaitFor(3));
  worker.Stop();
  std::vector<steady_clock::time_point> t = rounds.times();
  EXPECT_GE(t[0] - start, interval);
  EXPECT_GE(t[1] - t[0], interval);
  EXPECT_GE(t[2] - t[1], interval);
  EXPECT_EQ(worker.rounds(), static_cast<int64_t>(t.size()));
}

TEST(PeriodicWorkerTest, StopEndsTheWaitAtOnce) {
  Rounds rounds;
  PeriodicWorker worker;
  worker.Start(kForever, PeriodicWorker::FirstRound::kAfterInterval, [&] { rounds.Ran(); });
  const auto start = steady_clock::now();
  worker.Stop();
  EXPECT_LT(steady_clock::now() - start, kPatience);
  EXPECT_EQ(worker.rounds(), 0);
  EXPECT_TRUE(rounds.times().empty());
}

TEST(PeriodicWorkerTest, FirstRoundAtOnceDoesNotWaitTheInterval) {
  Rounds rounds;
  PeriodicWorker worker;
  worker.Start(kForever, PeriodicWorker::FirstRound::kAtOnce, [&] { rounds.Ran(); });
  EXPECT_TRUE(rounds.WaitFor(1));
}

TEST(PeriodicWorkerTest, WakeRunsTheNextRoundAtOnce) {
  Rounds rounds;
  PeriodicWorker worker;
  worker.Start(kForever, PeriodicWorker::FirstRound::kAfterInterval, [&] { rounds.Ran(); });
  worker.Wake();
  EXPECT_TRUE(rounds.WaitFor(1));
  worker.Wake();
  EXPECT_TRUE(rounds.WaitFor(2));
}

TEST(PeriodicWorkerTest, WakeFromInsideARoundDrainsWithoutWaiting) {
  Rounds rounds;
  PeriodicWorker worker;
  int backlog = 3;  // only the worker's thread touches it
  worker.Start(kForever, PeriodicWorker::FirstRound::kAtOnce, [&] {
    rounds.Ran();
    if (--backlog > 0) {
      worker.Wake();
    }
  });
  EXPECT_TRUE(rounds.WaitFor(3));
}

TEST(PeriodicWorkerTest, StopWaitsForTheRoundInProgress) {
  std::mutex mu;
  std::condition_variable cv;
  bool in_round = false;
  bool release = false;
  bool finished = false;
  PeriodicWorker worker;
  worker.Start(kForever, PeriodicWorker::FirstRound::kAtOnce, [&] {
    std::unique_lock<std::mutex> lock(mu);
    in_round = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    finished = true;
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kPatience, [&] { return in_round; }));
    release = true;
  }
  cv.notify_all();
  worker.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(finished);
  EXPECT_EQ(worker.rounds(), 1);
}

TEST(PeriodicWorkerTest, StopWithoutStartAndTwiceIsHarmless) {
  PeriodicWorker never;
  never.Stop();
  PeriodicWorker worker;
  worker.Start(kForever, PeriodicWorker::FirstRound::kAfterInterval, [] {});
  worker.Stop();
  worker.Stop();
  EXPECT_EQ(worker.rounds(), 0);
}

}  // namespace
}  // namespace sovereign
