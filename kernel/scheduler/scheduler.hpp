// The scheduling loop: the host of the skiff.scheduler.filter.v1 and skiff.scheduler.score.v1 roles,
// as kernel/reconcile hosts controllers.
//
// Informers on pods, nodes and priorityclasses feed two structures:
//  - the node cache: one NodeInfo per node with the pods bound to it, plus the pods this scheduler
//    assumed (chosen a node for, binding not yet seen), so the next decision already counts them;
//  - the scheduling queue: pending pods of a known profile, active ones by priority then age, pods that
//    did not fit parked until a cluster event (node added or changed, pod deleted) could make them fit,
//    then retried after a per-pod exponential backoff.
// One thread runs scheduling cycles (filter, score, assume), one binds through pods/binding and forgets
// the assumption if the binding fails. A pod that fits nowhere gets PodScheduled=False and a
// FailedScheduling event; with a priority, it may preempt lower-priority pods.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kernel/metrics/registry.hpp"
#include "kernel/reconcile/informer.hpp"
#include "kernel/scheduler/parse.hpp"
#include "skiff/plugin/client.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/scheduler.hpp"

namespace skiff::kernel::scheduler {

struct WeightedScore {
  std::shared_ptr<sp::ScorePlugin> plugin;
  std::int64_t weight = 1;
};

// The plugins one spec.schedulerName gets, in the order they run.
struct Profile {
  std::string scheduler_name = "default-scheduler";
  std::vector<std::shared_ptr<sp::FilterPlugin>> filters;
  std::vector<WeightedScore> scores;
};

struct SchedulerOptions {
  std::vector<Profile> profiles;
  // 1–100: filter until this share of the nodes was found feasible (at least 100 nodes); 100 = all;
  // 0 = Kubernetes' adaptive default (50% minus 1% per 125 nodes, at least 5%).
  int percentage_of_nodes_to_score = 0;
  bool preemption = true;
  std::int64_t initial_backoff_ms = 1000;
  std::int64_t max_backoff_ms = 10000;
  // Pods parked as unschedulable are retried at least this often even without a cluster event.
  std::int64_t unschedulable_retry_ms = 60000;
  std::uint64_t seed = 0x5eed;  // tie-breaking between equally scored nodes
};

// "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu."
// Counts per reason, "<count> <reason>" strings sorted as Kubernetes sorts them.
std::string fit_error_message(std::size_t nodes, const std::map<std::string, std::size_t, std::less<>>& reasons);

// Kubernetes' numFeasibleNodesToFind.
std::size_t nodes_to_find(std::size_t all_nodes, int percentage);

class Scheduler {
 public:
  struct Stats {
    std::uint64_t attempts = 0;
    std::uint64_t scheduled = 0;  // bindings the API accepted
    std::uint64_t unschedulable = 0;
    std::uint64_t errors = 0;
    std::uint64_t bind_failures = 0;
    std::uint64_t preemptions = 0;  // pods evicted
  };

  // Everything passed by reference must outlive the scheduler.
  Scheduler(SchedulerOptions options, plugin::Client& client, SharedInformerFactory& informers,
            MetricsRegistry& metrics, plugin::Logger& logger, const plugin::Clock& clock);
  ~Scheduler();  // stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Registers the informer handlers, starts the informers and waits for their first list, then starts
  // the scheduling and binding threads. kInvalid when the options are unusable.
  plugin::Status start();
  void stop() noexcept;

  Stats stats() const;
  // Pods waiting in the queue (active, backing off, parked as unschedulable, being scheduled).
  std::size_t pending() const;
  // Wakes the loop to look at the backoff queue (tests that move a fake clock call this).
  void poke();

 private:
  struct NodeEntry {
    sp::NodeInfo info;
    bool exists = false;  // false: only pods that name it so far
  };
  enum class Where : std::uint8_t { kActive, kBackoff, kUnschedulable, kInFlight };
  struct Queued {
    sp::PodInfoPtr pod;
    std::string fingerprint;
    std::int64_t first_seen_ms = 0;
    std::uint64_t seq = 0;
    int attempts = 0;
    std::int64_t backoff_until_ms = 0;
    std::int64_t parked_ms = 0;
    Where where = Where::kActive;
    bool event_during_flight = false;
  };
  struct BindTask {
    sp::PodInfoPtr pod;
    std::string node;
    std::int64_t first_seen_ms = 0;
  };
  struct Failure {
    std::map<std::string, std::size_t, std::less<>> reasons;  // transparent: counted without a copy per node
    std::vector<int> failed_by;  // per node index: the filter that rejected it, -1 none / -2 error
    std::size_t nodes = 0;
    std::string message;
  };
  struct Victims {
    std::string node;
    std::vector<sp::PodInfoPtr> pods;
  };
  class View;

  // Informer handlers.
  void on_pod(const ObjectPtr& object, bool deleted);
  void on_node(const ObjectPtr& object, bool deleted);
  void on_priority_class_change();

  // Queue (queue_mutex_).
  void enqueue_locked(sp::PodInfoPtr pod, std::string fingerprint);
  void activate_locked(const std::string& key, Queued& q);
  void move_all_to_active_or_backoff_locked();
  void flush_backoff_locked(std::int64_t now);
  void erase_from_queue_locked(const std::string& key);
  void requeue_after_failure(const std::string& key, bool unschedulable);

  // Cache (cache_mutex_).
  void add_pod_to_node_locked(sp::PodInfoPtr pod, const std::string& node);
  bool remove_pod_from_cache_locked(const std::string& key);
  const std::vector<const sp::NodeInfo*>& node_list_locked();
  // After a node's pods or existence changed: adds it to or drops it from the affinity lists.
  void track_affinity_locked(const NodeEntry& entry);

  void schedule_loop();
  void bind_loop();
  void schedule_one(const Profile& profile, const sp::PodInfoPtr& pod, std::int64_t first_seen_ms);
  // Filter and score under cache_mutex_: the chosen node, or empty with `failure` filled.
  std::string find_node_locked(const Profile& profile, const sp::PodInfo& pod, const sp::Snapshot& snapshot, Failure& failure);
  bool fits_locked(const Profile& profile, const sp::PodInfo& pod, const sp::NodeInfo& node, const sp::Snapshot& snapshot);
  std::optional<Victims> select_victims_locked(const Profile& profile, const sp::PodInfo& pod, const Failure& failure);
  void record_failure(const sp::PodInfo& pod, const std::string& message, const std::string& nominated);
  void evict(const sp::PodInfo& preemptor, const Victims& victims);
  const Profile* profile_for(const std::string& scheduler_name) const;
  PriorityResolver priority_resolver();

  SchedulerOptions options_;
  plugin::Client& client_;
  SharedInformerFactory& informers_;
  plugin::Logger& logger_;
  const plugin::Clock& clock_;
  std::shared_ptr<Informer> pods_, nodes_, priority_classes_;
  std::vector<std::pair<std::shared_ptr<Informer>, Informer::HandlerId>> handlers_;

  // Metrics.
  CounterImpl& m_scheduled_;
  CounterImpl& m_unschedulable_;
  CounterImpl& m_error_;
  CounterImpl& m_preemptions_;
  HistogramImpl& m_e2e_latency_;
  HistogramImpl& m_cycle_latency_;
  GaugeImpl& m_active_;
  GaugeImpl& m_backoff_;
  GaugeImpl& m_unschedulable_pods_;

  // Lock order: cache_mutex_ before queue_mutex_ (never the other way round).
  mutable std::mutex cache_mutex_;
  std::unordered_map<std::string, std::unique_ptr<NodeEntry>> node_entries_;
  std::vector<const sp::NodeInfo*> node_list_;
  bool node_list_dirty_ = true;
  // Existing nodes with pods_with_affinity > 0, and with pods_with_required_anti_affinity > 0, kept as
  // counters cross zero (Snapshot::nodes_with_pod_affinity and nodes_with_required_anti_affinity).
  std::vector<const sp::NodeInfo*> affinity_nodes_, anti_affinity_nodes_;
  std::unordered_map<std::string, std::string> pod_node_;  // pod key → node (bound or assumed)
  std::unordered_set<std::string> assumed_;
  std::unordered_map<std::string, std::string> nominated_;  // preemptor key → node
  // Victims taken out of the cache before their deletion event arrives; an older update of theirs
  // still in flight from the informer must not put them back.
  std::unordered_set<std::string> evicted_;
  std::size_t next_start_ = 0;
  std::mt19937_64 rng_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::unordered_map<std::string, Queued> queued_;
  std::set<std::tuple<std::int64_t, std::int64_t, std::uint64_t, std::string>> active_;  // -priority, first seen, seq, key
  std::set<std::pair<std::int64_t, std::string>> backoff_;                               // until, key
  std::unordered_set<std::string> unschedulable_;
  std::uint64_t seq_ = 0;

  std::mutex bind_mutex_;
  std::condition_variable bind_cv_;
  std::deque<BindTask> bind_queue_;

  mutable std::mutex stats_mutex_;
  Stats stats_;

  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::thread scheduler_thread_;
  std::thread binder_thread_;
};

}  // namespace skiff::kernel::scheduler
