// The work queue: dedup, one worker per key, delays, backoff and the token bucket, with a manual
// clock so nothing here sleeps for the delays it checks.
#include "kernel/reconcile/work_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "kernel/metrics/registry.hpp"

namespace skiff::kernel {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

WorkQueueOptions manual(const ManualQueueClock& clock) {
  WorkQueueOptions o;
  o.clock = &clock;
  return o;
}

std::vector<std::string> drain(WorkQueue& q) {
  std::vector<std::string> out;
  while (auto k = q.try_get()) out.push_back(*k);
  return out;
}

TEST(WorkQueue, AddDedupsQueuedKeysAndKeepsOrder) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.add("a");
  q.add("b");
  q.add("a");
  q.add("c");
  q.add("b");
  EXPECT_EQ(q.len(), 3u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueue, KeyAddedWhileProcessingIsRequeuedOnlyAfterDone) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.add("a");
  EXPECT_FALSE(q.idle());
  ASSERT_EQ(q.try_get(), "a");
  EXPECT_FALSE(q.idle()) << "a is being processed";
  q.add("a");
  q.add("a");
  EXPECT_EQ(q.len(), 0u) << "a is being processed; it must not be handed to a second worker";
  EXPECT_EQ(q.try_get(), std::nullopt);
  q.done("a");
  EXPECT_EQ(q.len(), 1u) << "the adds during processing collapse into one requeue";
  ASSERT_EQ(q.try_get(), "a");
  q.done("a");
  EXPECT_EQ(q.try_get(), std::nullopt) << "done without a new add queues nothing";
  EXPECT_TRUE(q.idle());
  q.add_after("b", 1ms);
  EXPECT_FALSE(q.idle()) << "b is scheduled";
}

TEST(WorkQueue, DoneOfAnUnknownKeyIsHarmless) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.done("nobody");
  q.add("a");
  q.done("a");  // queued, not processing: stays queued once
  EXPECT_EQ(drain(q), std::vector<std::string>{"a"});
}

TEST(WorkQueue, GetBlocksUntilAKeyArrives) {
  WorkQueue q;
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  EXPECT_EQ(got.wait_for(20ms), std::future_status::timeout);
  q.add("x");
  ASSERT_EQ(got.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(got.get(), "x");
}

TEST(WorkQueue, ShutdownWakesEveryGetterAndIgnoresLaterAdds) {
  WorkQueue q;
  std::vector<std::future<std::optional<std::string>>> getters;
  for (int i = 0; i < 3; ++i) getters.push_back(std::async(std::launch::async, [&] { return q.get(); }));
  std::this_thread::sleep_for(10ms);
  q.shutdown();
  for (auto& g : getters) {
    ASSERT_EQ(g.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(g.get(), std::nullopt);
  }
  EXPECT_TRUE(q.shutting_down());
  q.add("late");
  q.add_after("later", 1ms);
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.waiting(), 0u);
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueue, AddAfterWaitsForTheClock) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.add_after("a", 100ms);
  q.add_after("b", 0ms);  // no delay: queued at once
  EXPECT_EQ(drain(q), std::vector<std::string>{"b"});
  EXPECT_EQ(q.waiting(), 1u);
  clock.advance(99ms);
  EXPECT_EQ(q.len(), 0u);
  clock.advance(1ms);
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.waiting(), 0u);
  EXPECT_EQ(drain(q), std::vector<std::string>{"a"});
}

TEST(WorkQueue, AddAfterKeepsTheEarliestSchedule) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.add_after("a", 100ms);
  q.add_after("a", 50ms);
  q.add_after("a", 200ms);
  EXPECT_EQ(q.waiting(), 1u);
  clock.advance(50ms);
  EXPECT_EQ(drain(q), std::vector<std::string>{"a"});
  clock.advance(500ms);
  EXPECT_EQ(drain(q), std::vector<std::string>{}) << "the later schedules were folded into the earliest";
}

TEST(WorkQueue, DelayedKeysBecomeReadyInTimeOrderAndDedupWithQueuedOnes) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.add_after("late", 30ms);
  q.add_after("early", 10ms);
  q.add_after("mid", 20ms);
  q.add("mid");
  clock.advance(30ms);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"mid", "early", "late"}));
}

TEST(WorkQueue, DelayedKeyBeingProcessedWaitsForDone) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.add("a");
  ASSERT_EQ(q.try_get(), "a");
  q.add_after("a", 10ms);
  clock.advance(10ms);
  EXPECT_EQ(q.try_get(), std::nullopt);
  q.done("a");
  EXPECT_EQ(q.try_get(), "a");
}

TEST(WorkQueue, BlockedGetterWakesWhenTheManualClockPassesADelay) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));
  q.add_after("a", 1h);
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  EXPECT_EQ(got.wait_for(20ms), std::future_status::timeout);
  clock.advance(1h);
  ASSERT_EQ(got.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
}

TEST(WorkQueue, BlockedGetterWithTheSteadyClockWakesForADelayedKey) {
  WorkQueue q;
  auto start = std::chrono::steady_clock::now();
  q.add_after("a", 20ms);
  EXPECT_EQ(q.get(), "a");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(WorkQueue, RateLimitedBackoffDoublesPerKeyUpToTheMax) {
  ManualQueueClock clock;
  WorkQueueOptions o = manual(clock);
  o.qps = 0;  // bucket off: only the per-key backoff
  o.base_delay = 5ms;
  o.max_delay = 1000ms;
  WorkQueue q(o);
  const std::vector<milliseconds> expected = {5ms, 10ms, 20ms, 40ms, 80ms, 160ms, 320ms, 640ms, 1000ms, 1000ms};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("failure " + std::to_string(i + 1));
    EXPECT_EQ(q.add_rate_limited("a"), expected[i]);
    EXPECT_EQ(q.num_requeues("a"), static_cast<int>(i + 1));
  }
  // Other keys have their own backoff.
  EXPECT_EQ(q.add_rate_limited("b"), 5ms);
  EXPECT_EQ(q.num_requeues("b"), 1);
  // forget() starts over.
  q.forget("a");
  EXPECT_EQ(q.num_requeues("a"), 0);
  EXPECT_EQ(q.add_rate_limited("a"), 5ms);
}

TEST(WorkQueue, RateLimitedBackoffNeverOverflows) {
  ManualQueueClock clock;
  WorkQueueOptions o = manual(clock);
  o.qps = 0;
  o.base_delay = 5ms;
  o.max_delay = std::chrono::seconds(1000);
  WorkQueue q(o);
  QueueClock::Duration last{};
  for (int i = 0; i < 100; ++i) last = q.add_rate_limited("a");
  EXPECT_EQ(last, std::chrono::seconds(1000));
  EXPECT_EQ(q.num_requeues("a"), 100);
}

TEST(WorkQueue, RateLimitedKeyIsQueuedWhenItsBackoffHasPassed) {
  ManualQueueClock clock;
  WorkQueueOptions o = manual(clock);
  o.qps = 0;
  WorkQueue q(o);
  q.add("a");
  ASSERT_EQ(q.try_get(), "a");
  EXPECT_EQ(q.add_rate_limited("a"), 5ms);
  q.done("a");
  EXPECT_EQ(q.try_get(), std::nullopt);
  clock.advance(4ms);
  EXPECT_EQ(q.try_get(), std::nullopt);
  clock.advance(1ms);
  EXPECT_EQ(q.try_get(), "a");
}

TEST(WorkQueue, TokenBucketLimitsAllKeysTogether) {
  ManualQueueClock clock;
  WorkQueueOptions o = manual(clock);
  o.base_delay = 0ms;  // backoff off: only the bucket
  o.qps = 10;
  o.burst = 2;
  WorkQueue q(o);
  EXPECT_EQ(q.add_rate_limited("k1"), 0ms);
  EXPECT_EQ(q.add_rate_limited("k2"), 0ms);
  EXPECT_EQ(q.add_rate_limited("k3"), 100ms);  // the bucket is empty: one token per 100 ms
  EXPECT_EQ(q.add_rate_limited("k4"), 200ms);  // reservations stack up
  clock.advance(1s);                            // refills, but never beyond the burst
  EXPECT_EQ(q.add_rate_limited("k5"), 0ms);
  EXPECT_EQ(q.add_rate_limited("k6"), 0ms);
  EXPECT_EQ(q.add_rate_limited("k7"), 100ms);
}

TEST(WorkQueue, DelayIsTheMaxOfBackoffAndBucket) {
  ManualQueueClock clock;
  WorkQueueOptions o = manual(clock);
  o.base_delay = 5ms;
  o.qps = 10;
  o.burst = 1;
  WorkQueue q(o);
  EXPECT_EQ(q.add_rate_limited("a"), 5ms);    // token available: the backoff decides
  EXPECT_EQ(q.add_rate_limited("b"), 100ms);  // no token: the bucket decides
  clock.advance(10s);
  q.forget("a");
  for (int i = 0; i < 6; ++i) {
    clock.advance(1s);
    EXPECT_GT(q.add_rate_limited("a"), 0ms);
  }
  clock.advance(1s);
  EXPECT_EQ(q.add_rate_limited("a"), 320ms);  // seventh failure of a: the backoff beats the refilled bucket
  EXPECT_EQ(q.add_rate_limited("b"), 100ms);  // and the bucket still applies to everyone
}

TEST(WorkQueue, DefaultsMatchClientGo) {
  ManualQueueClock clock;
  WorkQueue q(manual(clock));  // 5 ms base, 1000 s max, 10 qps, burst 100
  for (int i = 0; i < 100; ++i) ASSERT_EQ(q.add_rate_limited("k" + std::to_string(i)), 5ms) << i;
  EXPECT_EQ(q.add_rate_limited("k100"), 100ms);
  EXPECT_EQ(q.waiting(), 101u);
}

TEST(WorkQueue, DepthGaugeFollowsReadyKeys) {
  ManualQueueClock clock;
  GaugeImpl depth;
  WorkQueueOptions o = manual(clock);
  o.depth = &depth;
  WorkQueue q(o);
  EXPECT_EQ(depth.value(), 0);
  q.add("a");
  q.add("b");
  q.add_after("c", 10ms);
  EXPECT_EQ(depth.value(), 2);
  ASSERT_TRUE(q.try_get());
  EXPECT_EQ(depth.value(), 1);
  clock.advance(10ms);
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(depth.value(), 2);
}

// Many producers and four workers: every key added is processed at least once after its last add,
// and no key is ever in two workers' hands.
TEST(WorkQueue, ConcurrentWorkersNeverShareAKey) {
  WorkQueue q;
  constexpr int kKeys = 16;
  std::map<std::string, std::atomic<int>> in_flight;
  std::map<std::string, std::atomic<int>> processed;
  for (int i = 0; i < kKeys; ++i) {
    in_flight["k" + std::to_string(i)] = 0;
    processed["k" + std::to_string(i)] = 0;
  }
  std::atomic<int> overlaps{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        if (in_flight.at(*key).fetch_add(1) != 0) ++overlaps;
        std::this_thread::yield();
        processed.at(*key)++;
        in_flight.at(*key)--;
        q.done(*key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < 3000; ++i) q.add("k" + std::to_string((i * 7 + p) % kKeys));
    });
  }
  for (auto& t : producers) t.join();
  // Everything added gets processed: wait until the queue is empty and stays so.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (q.len() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(q.len(), 0u);
  q.shutdown();
  for (auto& t : workers) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  for (const auto& [k, n] : processed) EXPECT_GE(n.load(), 1) << k;
}

}  // namespace
}  // namespace skiff::kernel
