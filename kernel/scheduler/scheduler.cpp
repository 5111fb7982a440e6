#include "kernel/scheduler/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "kernel/util/json_parse.hpp"
#include "kernel/util/meta.hpp"

namespace skiff::kernel::scheduler {
namespace {

using Json = nlohmann::json;
const plugin::ResourceId kPods{"", "v1", "pods"};
const plugin::ResourceId kNodes{"", "v1", "nodes"};
const plugin::ResourceId kEvents{"", "v1", "events"};
const plugin::ResourceId kPriorityClasses{"scheduling.k8s.io", "v1", "priorityclasses"};

constexpr std::size_t kMinFeasibleNodes = 100;
constexpr int kMinPercentage = 5;
constexpr int kDefaultPercentage = 50;
constexpr std::size_t kPercentageBase = 125;  // adaptive percentage loses 1% per this many nodes

bool terminal(const plugin::Object& o) {
  const std::string* phase = o.field("status.phase");
  return phase && (*phase == "Succeeded" || *phase == "Failed");
}

std::string lstr(std::string_view s) { return std::string(s); }

}  // namespace

std::string fit_error_message(std::size_t nodes, const std::map<std::string, std::size_t, std::less<>>& reasons) {
  std::vector<std::string> parts;
  for (const auto& [reason, count] : reasons) parts.push_back(std::to_string(count) + " " + reason);
  std::sort(parts.begin(), parts.end());
  std::string out = "0/" + std::to_string(nodes) + " nodes are available";
  if (nodes == 0) return "no nodes available to schedule pods";
  out += ":";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : " ") + parts[i];
  return out + ".";
}

std::size_t nodes_to_find(std::size_t all_nodes, int percentage) {
  if (all_nodes < kMinFeasibleNodes || percentage >= 100) return all_nodes;
  int pct = percentage;
  if (pct <= 0) pct = std::max<int>(kMinPercentage, kDefaultPercentage - static_cast<int>(all_nodes / kPercentageBase));
  std::size_t n = all_nodes * static_cast<std::size_t>(pct) / 100;
  return std::max(n, kMinFeasibleNodes);
}

// The cache as plugins see it during one decision; `replace` swaps one node for a modified copy
// (preemption's "what if these pods were gone").
class Scheduler::View final : public sp::Snapshot {
 public:
  using List = std::vector<const sp::NodeInfo*>;
  View(const List& nodes, const List& affinity, const List& anti) : nodes_(nodes), affinity_(affinity), anti_(anti) {}
  View(const View& base, const sp::NodeInfo* replacement)
      : copies_{base.nodes_, base.affinity_, base.anti_}, nodes_(copies_[0]), affinity_(copies_[1]), anti_(copies_[2]) {
    for (List& list : copies_)
      for (auto& n : list)
        if (n->name == replacement->name) n = replacement;
  }
  std::span<const sp::NodeInfo* const> nodes() const noexcept override { return nodes_; }
  std::span<const sp::NodeInfo* const> nodes_with_pod_affinity() const noexcept override { return affinity_; }
  std::span<const sp::NodeInfo* const> nodes_with_required_anti_affinity() const noexcept override { return anti_; }
  const sp::NodeInfo* node(std::string_view name) const noexcept override {
    for (const sp::NodeInfo* n : nodes_)
      if (n->name == name) return n;
    return nullptr;
  }

 private:
  List copies_[3];  // the replacement ctor's own lists
  const List& nodes_;
  const List& affinity_;
  const List& anti_;
};

Scheduler::Scheduler(SchedulerOptions options, plugin::Client& client, SharedInformerFactory& informers,
                     MetricsRegistry& metrics, plugin::Logger& logger, const plugin::Clock& clock)
    : options_(std::move(options)),
      client_(client),
      informers_(informers),
      logger_(logger),
      clock_(clock),
      m_scheduled_(metrics.counter("skiff_scheduler_schedule_attempts_total", "Scheduling attempts by result",
                                   render_labels({{"result", "scheduled"}}))),
      m_unschedulable_(metrics.counter("skiff_scheduler_schedule_attempts_total", "Scheduling attempts by result",
                                       render_labels({{"result", "unschedulable"}}))),
      m_error_(metrics.counter("skiff_scheduler_schedule_attempts_total", "Scheduling attempts by result",
                               render_labels({{"result", "error"}}))),
      m_preemptions_(metrics.counter("skiff_scheduler_preemption_victims_total", "Pods evicted by preemption", "")),
      m_e2e_latency_(metrics.histogram("skiff_scheduler_e2e_scheduling_duration_seconds",
                                       "From a pod entering the queue to its binding", "")),
      m_cycle_latency_(metrics.histogram("skiff_scheduler_scheduling_algorithm_duration_seconds",
                                         "One filter and score pass", "")),
      m_active_(metrics.gauge("skiff_scheduler_pending_pods", "Pods in the scheduling queue by queue",
                              render_labels({{"queue", "active"}}))),
      m_backoff_(metrics.gauge("skiff_scheduler_pending_pods", "Pods in the scheduling queue by queue",
                               render_labels({{"queue", "backoff"}}))),
      m_unschedulable_pods_(metrics.gauge("skiff_scheduler_pending_pods", "Pods in the scheduling queue by queue",
                                          render_labels({{"queue", "unschedulable"}}))),
      rng_(options_.seed) {}

Scheduler::~Scheduler() { stop(); }

plugin::Status Scheduler::start() {
  if (started_) return plugin::Status::ok();
  if (options_.profiles.empty()) return plugin::invalid("scheduler: no profiles");
  if (options_.percentage_of_nodes_to_score < 0 || options_.percentage_of_nodes_to_score > 100)
    return plugin::invalid("scheduler: percentage of nodes to score must be in [0, 100]");
  auto pods = informers_.informer_for(kPods);
  auto nodes = informers_.informer_for(kNodes);
  auto pcs = informers_.informer_for(kPriorityClasses);
  if (!pods) return pods.status();
  if (!nodes) return nodes.status();
  if (!pcs) return pcs.status();
  pods_ = *pods;
  nodes_ = *nodes;
  priority_classes_ = *pcs;
  // Priority classes first, so pods are parsed with their priorities; nodes before pods, so the
  // first pods queued meet a filled cache.
  handlers_.emplace_back(priority_classes_, priority_classes_->add_handlers(
      {[this](const ObjectPtr&) { on_priority_class_change(); },
       [this](const ObjectPtr&, const ObjectPtr&) { on_priority_class_change(); },
       [this](const ObjectPtr&) { on_priority_class_change(); }}));
  informers_.start();
  priority_classes_->wait_for_sync(std::chrono::seconds(30));
  handlers_.emplace_back(nodes_, nodes_->add_handlers({[this](const ObjectPtr& o) { on_node(o, false); },
                                                       [this](const ObjectPtr&, const ObjectPtr& o) { on_node(o, false); },
                                                       [this](const ObjectPtr& o) { on_node(o, true); }}));
  nodes_->wait_for_sync(std::chrono::seconds(30));
  handlers_.emplace_back(pods_, pods_->add_handlers({[this](const ObjectPtr& o) { on_pod(o, false); },
                                                     [this](const ObjectPtr&, const ObjectPtr& o) { on_pod(o, false); },
                                                     [this](const ObjectPtr& o) { on_pod(o, true); }}));
  if (!pods_->wait_for_sync(std::chrono::seconds(30))) return plugin::unavailable("scheduler: pods informer did not sync");
  stopping_ = false;
  started_ = true;
  scheduler_thread_ = std::thread([this] { schedule_loop(); });
  binder_thread_ = std::thread([this] { bind_loop(); });
  return plugin::Status::ok();
}

void Scheduler::stop() noexcept {
  if (!started_) return;
  stopping_ = true;
  {
    std::lock_guard lock(queue_mutex_);
    queue_cv_.notify_all();
  }
  {
    std::lock_guard lock(bind_mutex_);
    bind_cv_.notify_all();
  }
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  if (binder_thread_.joinable()) binder_thread_.join();
  for (auto& [informer, id] : handlers_) informer->remove_handlers(id);
  handlers_.clear();
  started_ = false;
}

Scheduler::Stats Scheduler::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

std::size_t Scheduler::pending() const {
  std::lock_guard lock(queue_mutex_);
  return queued_.size();
}

void Scheduler::poke() {
  std::lock_guard lock(queue_mutex_);
  queue_cv_.notify_all();
}

const Profile* Scheduler::profile_for(const std::string& scheduler_name) const {
  for (const Profile& p : options_.profiles)
    if (p.scheduler_name == scheduler_name) return &p;
  return nullptr;
}

PriorityResolver Scheduler::priority_resolver() {
  PriorityResolver r;
  auto value_of = [](const ObjectPtr& o) -> std::optional<std::int32_t> {
    Json j = parse_json_or_discarded(o->json);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_number_integer()) return std::nullopt;
    return j["value"].get<std::int32_t>();
  };
  r.lookup = [this, value_of](std::string_view name) -> std::optional<std::int32_t> {
    ObjectPtr o = priority_classes_->get("", name);
    return o ? value_of(o) : std::nullopt;
  };
  r.global_default = [this, value_of]() -> std::optional<std::int32_t> {
    for (const ObjectPtr& o : priority_classes_->list()) {
      Json j = parse_json_or_discarded(o->json);
      if (j.is_object() && j.value("globalDefault", false)) return value_of(o);
    }
    return std::nullopt;
  };
  return r;
}

// ---------------------------------------------------------------- informer events

void Scheduler::on_priority_class_change() {
  // A class created after its pods: pending pods are parsed again when they are next updated; waking
  // parked ones lets them retry with what they have.
  std::lock_guard lock(queue_mutex_);
  move_all_to_active_or_backoff_locked();
}

void Scheduler::on_node(const ObjectPtr& object, bool deleted) {
  {
    std::lock_guard lock(cache_mutex_);
    auto it = node_entries_.find(object->name);
    if (deleted) {
      if (it != node_entries_.end()) {
        // Pods still naming the node keep their entry (they are gone with it, or it comes back).
        it->second->exists = false;
        track_affinity_locked(*it->second);
        if (it->second->info.pods.empty()) node_entries_.erase(it);
        node_list_dirty_ = true;
      }
    } else {
      auto parsed = parse_node(*object);
      if (!parsed) {
        logger_.warn("scheduler: ignoring node", {{"node", object->name}, {"error", parsed.status().message()}});
        return;
      }
      if (it == node_entries_.end()) it = node_entries_.emplace(object->name, std::make_unique<NodeEntry>()).first;
      NodeEntry& e = *it->second;
      // The node's own fields come from the object; what its pods use stays from the cache.
      sp::NodeInfo& info = e.info;
      info.labels = std::move(parsed->labels);
      info.allocatable = std::move(parsed->allocatable);
      info.taints = std::move(parsed->taints);
      info.unschedulable = parsed->unschedulable;
      info.images = std::move(parsed->images);
      info.name = object->name;
      if (!e.exists) {
        node_list_dirty_ = true;
        e.exists = true;
        track_affinity_locked(e);
      }
    }
  }
  if (!deleted) {
    std::lock_guard lock(queue_mutex_);
    move_all_to_active_or_backoff_locked();
  }
}

void Scheduler::on_pod(const ObjectPtr& object, bool deleted) {
  const std::string key = object->key();
  if (deleted || terminal(*object)) {
    bool freed;
    {
      std::lock_guard lock(cache_mutex_);
      freed = remove_pod_from_cache_locked(key);
      nominated_.erase(key);
      evicted_.erase(key);
    }
    std::lock_guard lock(queue_mutex_);
    erase_from_queue_locked(key);
    if (freed) move_all_to_active_or_backoff_locked();
    return;
  }
  const std::string* node = object->field("spec.nodeName");
  if (node && !node->empty()) {
    {
      std::lock_guard lock(cache_mutex_);
      if (evicted_.count(key)) goto dequeue;
      auto at = pod_node_.find(key);
      if (at != pod_node_.end() && at->second == *node) {
        // Our assumption landed (or an update of a bound pod): refresh only if its labels moved,
        // since affinity and spread read them; requests of a bound pod do not change.
        assumed_.erase(key);
        nominated_.erase(key);
        auto& entry = node_entries_[*node];
        bool same = false;
        for (const auto& p : entry->info.pods)
          if (p->ns == object->ns && p->name == object->name) {
            StringPairs labels = object->labels;
            std::sort(labels.begin(), labels.end());
            same = p->labels == labels && p->uid == object->uid;
            break;
          }
        if (same) {
          goto dequeue;
        }
      }
      auto parsed = parse_pod(*object, nullptr);
      if (!parsed) {
        logger_.warn("scheduler: ignoring pod", {{"pod", key}, {"error", parsed.status().message()}});
        goto dequeue;
      }
      remove_pod_from_cache_locked(key);
      assumed_.erase(key);
      nominated_.erase(key);
      add_pod_to_node_locked(std::make_shared<const sp::PodInfo>(std::move(parsed).value()), *node);
    }
  dequeue:
    std::lock_guard lock(queue_mutex_);
    erase_from_queue_locked(key);
    return;
  }
  // Pending.
  if (object->deleting) return;
  auto resolver = priority_resolver();
  std::string fingerprint;
  auto parsed = parse_pod(*object, &resolver, &fingerprint);
  if (!parsed) {
    logger_.warn("scheduler: cannot schedule pod", {{"pod", key}, {"error", parsed.status().message()}});
    return;
  }
  if (!profile_for(parsed->scheduler_name)) return;  // another scheduler's pod
  // Checked and enqueued under the cache lock: the scheduling thread may assume this very pod
  // between an unlocked check and the enqueue, and an old event must not queue it a second time.
  std::lock_guard cache_lock(cache_mutex_);
  if (pod_node_.count(key)) return;  // assumed (binding not landed yet) or bound
  if (evicted_.count(key)) return;   // an old event of a victim: it must not be scheduled again
  std::lock_guard lock(queue_mutex_);
  enqueue_locked(std::make_shared<const sp::PodInfo>(std::move(parsed).value()), std::move(fingerprint));
}

// ---------------------------------------------------------------- queue

void Scheduler::enqueue_locked(sp::PodInfoPtr pod, std::string fingerprint) {
  std::string key = pod->key();
  auto it = queued_.find(key);
  if (it == queued_.end()) {
    Queued q;
    q.pod = std::move(pod);
    q.fingerprint = std::move(fingerprint);
    q.first_seen_ms = clock_.now_ms();
    q.seq = ++seq_;
    auto& stored = queued_.emplace(key, std::move(q)).first->second;
    activate_locked(key, stored);
    return;
  }
  Queued& q = it->second;
  if (q.fingerprint == fingerprint) return;  // a status write (ours, for example): nothing to retry for
  q.pod = std::move(pod);
  q.fingerprint = std::move(fingerprint);
  if (q.where == Where::kInFlight) {
    q.event_during_flight = true;
  } else if (q.where == Where::kUnschedulable) {
    unschedulable_.erase(key);
    activate_locked(key, q);
  }
}

void Scheduler::activate_locked(const std::string& key, Queued& q) {
  q.where = Where::kActive;
  active_.emplace(-static_cast<std::int64_t>(q.pod->priority), q.first_seen_ms, q.seq, key);
  queue_cv_.notify_all();
}

void Scheduler::move_all_to_active_or_backoff_locked() {
  std::int64_t now = clock_.now_ms();
  for (const std::string& key : unschedulable_) {
    Queued& q = queued_.at(key);
    if (q.backoff_until_ms > now) {
      q.where = Where::kBackoff;
      backoff_.emplace(q.backoff_until_ms, key);
    } else {
      activate_locked(key, q);
    }
  }
  unschedulable_.clear();
  for (auto& [key, q] : queued_)
    if (q.where == Where::kInFlight) q.event_during_flight = true;
  queue_cv_.notify_all();
}

void Scheduler::flush_backoff_locked(std::int64_t now) {
  while (!backoff_.empty() && backoff_.begin()->first <= now) {
    std::string key = backoff_.begin()->second;
    backoff_.erase(backoff_.begin());
    auto it = queued_.find(key);
    if (it != queued_.end() && it->second.where == Where::kBackoff) activate_locked(key, it->second);
  }
  // Parked too long without an event: retry anyway (the event may have been one we do not watch).
  std::vector<std::string> stale;
  for (const std::string& key : unschedulable_)
    if (now - queued_.at(key).parked_ms >= options_.unschedulable_retry_ms) stale.push_back(key);
  for (const std::string& key : stale) {
    unschedulable_.erase(key);
    activate_locked(key, queued_.at(key));
  }
}

void Scheduler::erase_from_queue_locked(const std::string& key) {
  auto it = queued_.find(key);
  if (it == queued_.end()) return;
  Queued& q = it->second;
  switch (q.where) {
    case Where::kActive: active_.erase({-static_cast<std::int64_t>(q.pod->priority), q.first_seen_ms, q.seq, key}); break;
    case Where::kBackoff: backoff_.erase({q.backoff_until_ms, key}); break;
    case Where::kUnschedulable: unschedulable_.erase(key); break;
    case Where::kInFlight: break;
  }
  queued_.erase(it);
}

void Scheduler::requeue_after_failure(const std::string& key, bool unschedulable) {
  std::lock_guard lock(queue_mutex_);
  auto it = queued_.find(key);
  if (it == queued_.end()) return;  // deleted or bound meanwhile
  Queued& q = it->second;
  ++q.attempts;
  std::int64_t backoff = options_.initial_backoff_ms;
  for (int i = 1; i < q.attempts && backoff < options_.max_backoff_ms; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff_ms);
  std::int64_t now = clock_.now_ms();
  q.backoff_until_ms = now + backoff;
  if (unschedulable && !q.event_during_flight) {
    q.where = Where::kUnschedulable;
    q.parked_ms = now;
    unschedulable_.insert(key);
  } else {
    q.where = Where::kBackoff;
    backoff_.emplace(q.backoff_until_ms, key);
  }
  q.event_during_flight = false;
  queue_cv_.notify_all();
}

// ---------------------------------------------------------------- cache

void Scheduler::add_pod_to_node_locked(sp::PodInfoPtr pod, const std::string& node) {
  auto& entry = node_entries_[node];
  if (!entry) {
    entry = std::make_unique<NodeEntry>();
    entry->info.name = node;
  }
  pod_node_[pod->key()] = node;
  const bool affinity = pod->has_pod_affinity() || !pod->required_anti_affinity.empty();
  entry->info.add_pod(std::move(pod));
  if (affinity) track_affinity_locked(*entry);
}

void Scheduler::track_affinity_locked(const NodeEntry& entry) {
  auto keep = [&](std::vector<const sp::NodeInfo*>& list, bool member) {
    auto it = std::find(list.begin(), list.end(), &entry.info);
    if (member && it == list.end()) {
      list.push_back(&entry.info);
    } else if (!member && it != list.end()) {
      *it = list.back();
      list.pop_back();
    }
  };
  keep(affinity_nodes_, entry.exists && entry.info.pods_with_affinity > 0);
  keep(anti_affinity_nodes_, entry.exists && entry.info.pods_with_required_anti_affinity > 0);
}

bool Scheduler::remove_pod_from_cache_locked(const std::string& key) {
  auto at = pod_node_.find(key);
  if (at == pod_node_.end()) return false;
  auto e = node_entries_.find(at->second);
  if (e != node_entries_.end()) {
    std::size_t slash = key.find('/');
    sp::NodeInfo& info = e->second->info;
    const auto before = std::pair(info.pods_with_affinity, info.pods_with_required_anti_affinity);
    info.remove_pod(std::string_view(key).substr(0, slash), std::string_view(key).substr(slash + 1));
    if (before != std::pair(info.pods_with_affinity, info.pods_with_required_anti_affinity)) track_affinity_locked(*e->second);
    if (!e->second->exists && info.pods.empty()) node_entries_.erase(e);
  }
  pod_node_.erase(at);
  assumed_.erase(key);
  return true;
}

const std::vector<const sp::NodeInfo*>& Scheduler::node_list_locked() {
  if (node_list_dirty_) {
    node_list_.clear();
    for (const auto& [name, e] : node_entries_)
      if (e->exists) node_list_.push_back(&e->info);
    std::sort(node_list_.begin(), node_list_.end(),
              [](const sp::NodeInfo* a, const sp::NodeInfo* b) { return a->name < b->name; });
    node_list_dirty_ = false;
  }
  return node_list_;
}

// ---------------------------------------------------------------- scheduling

void Scheduler::schedule_loop() {
  while (!stopping_) {
    sp::PodInfoPtr pod;
    std::int64_t first_seen = 0;
    {
      std::unique_lock lock(queue_mutex_);
      flush_backoff_locked(clock_.now_ms());
      m_active_.set(static_cast<double>(active_.size()));
      m_backoff_.set(static_cast<double>(backoff_.size()));
      m_unschedulable_pods_.set(static_cast<double>(unschedulable_.size()));
      if (active_.empty()) {
        // The clock may be a test's fake one, so backoff expiry is polled rather than waited for.
        queue_cv_.wait_for(lock, std::chrono::milliseconds(20));
        continue;
      }
      auto top = active_.begin();
      std::string key = std::get<3>(*top);
      active_.erase(top);
      Queued& q = queued_.at(key);
      q.where = Where::kInFlight;
      pod = q.pod;
      first_seen = q.first_seen_ms;
    }
    const Profile* profile = profile_for(pod->scheduler_name);
    if (profile) schedule_one(*profile, pod, first_seen);
  }
}

bool Scheduler::fits_locked(const Profile& profile, const sp::PodInfo& pod, const sp::NodeInfo& node,
                            const sp::Snapshot& snapshot) {
  for (const auto& f : profile.filters) {
    std::unique_ptr<sp::PodState> state;
    if (!f->pre_filter(pod, snapshot, state)) return false;
    if (!f->filter(state.get(), pod, node)) return false;
  }
  return true;
}

std::string Scheduler::find_node_locked(const Profile& profile, const sp::PodInfo& pod, const sp::Snapshot& snapshot,
                                        Failure& failure) {
  auto nodes = snapshot.nodes();
  failure.nodes = nodes.size();
  failure.failed_by.assign(nodes.size(), -1);
  if (nodes.empty()) return {};
  std::vector<std::unique_ptr<sp::PodState>> states(profile.filters.size());
  for (std::size_t i = 0; i < profile.filters.size(); ++i) {
    plugin::Status s = profile.filters[i]->pre_filter(pod, snapshot, states[i]);
    if (!s) {
      std::string reason = s.code() == plugin::Code::kUnschedulable ? s.message()
                                                                     : lstr(profile.filters[i]->name()) + ": " + s.message();
      failure.reasons[reason] = nodes.size();
      std::fill(failure.failed_by.begin(), failure.failed_by.end(), static_cast<int>(i));
      return {};
    }
  }
  auto run_filters = [&](std::size_t idx) -> bool {
    const sp::NodeInfo& node = *nodes[idx];
    for (std::size_t i = 0; i < profile.filters.size(); ++i) {
      plugin::Status s = profile.filters[i]->filter(states[i].get(), pod, node);
      if (s) continue;
      failure.failed_by[idx] = s.code() == plugin::Code::kUnschedulable ? static_cast<int>(i) : -2;
      // A filter may name several reasons for one node, one per line ("Insufficient cpu\nInsufficient memory").
      std::string_view msg = s.message();
      if (s.code() != plugin::Code::kUnschedulable) {
        failure.reasons[lstr(profile.filters[i]->name()) + ": " + s.message()]++;
        return false;
      }
      while (!msg.empty()) {
        std::size_t nl = msg.find('\n');
        std::string_view reason = msg.substr(0, nl);
        if (auto it = failure.reasons.find(reason); it != failure.reasons.end())
          ++it->second;
        else
          failure.reasons.emplace(reason, 1);
        msg = nl == std::string_view::npos ? std::string_view() : msg.substr(nl + 1);
      }
      return false;
    }
    return true;
  };

  std::vector<std::size_t> feasible;
  // A node preemption nominated for this pod is tried first, as Kubernetes does.
  if (auto nom = nominated_.find(pod.key()); nom != nominated_.end())
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i]->name == nom->second) {
        if (run_filters(i)) return nodes[i]->name;
        // Not there after all: the full pass below visits it again and counts its reason once.
        failure.reasons.clear();
        failure.failed_by[i] = -1;
      }
  const std::size_t want = nodes_to_find(nodes.size(), options_.percentage_of_nodes_to_score);
  std::size_t visited = 0;
  for (; visited < nodes.size() && feasible.size() < want; ++visited) {
    std::size_t idx = (next_start_ + visited) % nodes.size();
    if (run_filters(idx)) feasible.push_back(idx);
  }
  next_start_ = (next_start_ + visited) % nodes.size();
  if (feasible.empty()) return {};
  if (feasible.size() == 1 || profile.scores.empty()) return nodes[feasible[0]]->name;

  std::vector<const sp::NodeInfo*> feasible_nodes;
  feasible_nodes.reserve(feasible.size());
  for (std::size_t idx : feasible) feasible_nodes.push_back(nodes[idx]);
  std::vector<std::int64_t> total(feasible.size(), 0), raw(feasible.size());
  for (const WeightedScore& ws : profile.scores) {
    std::unique_ptr<sp::PodState> state;
    if (auto s = ws.plugin->pre_score(pod, snapshot, feasible_nodes, state); !s) {
      logger_.warn("scheduler: pre_score failed", {{"plugin", ws.plugin->name()}, {"pod", pod.key()}, {"error", s.message()}});
      continue;
    }
    bool ok = true;
    for (std::size_t i = 0; i < feasible_nodes.size() && ok; ++i) {
      auto r = ws.plugin->score(state.get(), pod, *feasible_nodes[i]);
      if (!r) {
        logger_.warn("scheduler: score failed", {{"plugin", ws.plugin->name()}, {"pod", pod.key()}, {"error", r.status().message()}});
        ok = false;
      } else {
        raw[i] = *r;
      }
    }
    if (!ok || !ws.plugin->normalize(state.get(), pod, raw)) continue;
    for (std::size_t i = 0; i < raw.size(); ++i) total[i] += ws.weight * raw[i];
  }
  // Highest total; ties broken uniformly at random (reservoir sampling), as Kubernetes does.
  std::size_t best = 0, ties = 1;
  for (std::size_t i = 1; i < total.size(); ++i) {
    if (total[i] > total[best]) {
      best = i;
      ties = 1;
    } else if (total[i] == total[best] && rng_() % ++ties == 0) {
      best = i;
    }
  }
  return feasible_nodes[best]->name;
}

std::optional<Scheduler::Victims> Scheduler::select_victims_locked(const Profile& profile, const sp::PodInfo& pod,
                                                                    const Failure& failure) {
  const auto& nodes = node_list_locked();
  const View base(nodes, affinity_nodes_, anti_affinity_nodes_);
  std::optional<Victims> best;
  std::tuple<std::int32_t, std::size_t, std::int64_t> best_cost{};
  std::size_t candidates = 0;
  const std::size_t max_candidates = std::max<std::size_t>(kMinFeasibleNodes, nodes.size() / 10);
  for (std::size_t i = 0; i < nodes.size() && candidates < max_candidates; ++i) {
    int by = i < failure.failed_by.size() ? failure.failed_by[i] : -1;
    if (by < 0 || !profile.filters[static_cast<std::size_t>(by)]->preemption_can_help()) continue;
    const sp::NodeInfo& node = *nodes[i];
    std::vector<sp::PodInfoPtr> lower;
    for (const auto& p : node.pods)
      if (p->priority < pod.priority) lower.push_back(p);
    if (lower.empty()) continue;
    sp::NodeInfo copy = node;
    for (const auto& p : lower) copy.remove_pod(p->ns, p->name);
    View overlay(base, &copy);
    if (!fits_locked(profile, pod, copy, overlay)) continue;
    // Give back as many victims as still let the pod fit, most important first.
    std::sort(lower.begin(), lower.end(), [](const sp::PodInfoPtr& a, const sp::PodInfoPtr& b) {
      return a->priority != b->priority ? a->priority > b->priority : a->key() < b->key();
    });
    std::vector<sp::PodInfoPtr> victims;
    for (const auto& p : lower) {
      copy.add_pod(p);
      View with(base, &copy);
      if (!fits_locked(profile, pod, copy, with)) {
        copy.remove_pod(p->ns, p->name);
        victims.push_back(p);
      }
    }
    ++candidates;
    std::int32_t top = INT32_MIN;
    std::int64_t sum = 0;
    for (const auto& v : victims) {
      top = std::max(top, v->priority);
      sum += v->priority;
    }
    // Least disruption: the lowest highest-priority victim, then the fewest victims, then the
    // lowest priority sum.
    std::tuple<std::int32_t, std::size_t, std::int64_t> cost{top, victims.size(), sum};
    if (!best || cost < best_cost) {
      best = Victims{node.name, std::move(victims)};
      best_cost = cost;
    }
  }
  return best;
}

void Scheduler::schedule_one(const Profile& profile, const sp::PodInfoPtr& pod, std::int64_t first_seen_ms) {
  auto started = std::chrono::steady_clock::now();
  Failure failure;
  std::string chosen;
  std::optional<Victims> victims;
  {
    std::lock_guard lock(cache_mutex_);
    View snapshot(node_list_locked(), affinity_nodes_, anti_affinity_nodes_);
    chosen = find_node_locked(profile, *pod, snapshot, failure);
    if (!chosen.empty()) {
      assumed_.insert(pod->key());
      add_pod_to_node_locked(pod, chosen);
    } else if (options_.preemption && !pod->preempt_never && failure.nodes > 0) {
      victims = select_victims_locked(profile, *pod, failure);
      if (victims) {
        // The victims leave the cache now, so the next decisions (this pod's retry first) see the room.
        for (const auto& v : victims->pods) {
          remove_pod_from_cache_locked(v->key());
          evicted_.insert(v->key());
        }
        nominated_[pod->key()] = victims->node;
      }
    }
  }
  m_cycle_latency_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.attempts;
  }
  if (!chosen.empty()) {
    {
      std::lock_guard lock(queue_mutex_);
      auto it = queued_.find(pod->key());
      if (it != queued_.end()) queued_.erase(it);
    }
    std::lock_guard lock(bind_mutex_);
    bind_queue_.push_back({pod, std::move(chosen), first_seen_ms});
    bind_cv_.notify_one();
    return;
  }
  failure.message = fit_error_message(failure.nodes, failure.reasons);
  m_unschedulable_.add();
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.unschedulable;
  }
  logger_.info("scheduler: pod unschedulable", {{"pod", pod->key()}, {"reason", failure.message}});
  if (victims) evict(*pod, *victims);
  record_failure(*pod, failure.message, victims ? victims->node : std::string());
  if (victims) {
    // Room was made: retry now rather than after a backoff.
    std::lock_guard lock(queue_mutex_);
    auto it = queued_.find(pod->key());
    if (it != queued_.end() && it->second.where == Where::kInFlight) activate_locked(pod->key(), it->second);
    return;
  }
  requeue_after_failure(pod->key(), true);
}

void Scheduler::evict(const sp::PodInfo& preemptor, const Victims& victims) {
  for (const auto& v : victims.pods) {
    Json eviction = {{"apiVersion", "policy/v1"},
                     {"kind", "Eviction"},
                     {"metadata", {{"name", v->name}, {"namespace", v->ns}}},
                     {"deleteOptions", {{"gracePeriodSeconds", v->termination_grace_seconds}}}};
    auto r = client_.create_subresource(kPods, v->ns, v->name, "eviction", eviction.dump());
    if (!r && r.status().code() != plugin::Code::kNotFound) {
      logger_.warn("scheduler: eviction failed", {{"pod", v->key()}, {"error", r.status().message()}});
      // It stays: its next informer event puts it back in the cache.
      std::lock_guard lock(cache_mutex_);
      evicted_.erase(v->key());
      continue;
    }
    m_preemptions_.add();
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.preemptions;
    }
    logger_.info("scheduler: preempted", {{"victim", v->key()}, {"preemptor", preemptor.key()}, {"node", victims.node}});
    std::string now = format_rfc3339(clock_.now_ms());
    Json event = {{"apiVersion", "v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", v->name + "." + std::to_string(clock_.now_ms()) + "p"}, {"namespace", v->ns}}},
                  {"involvedObject", {{"kind", "Pod"}, {"apiVersion", "v1"}, {"namespace", v->ns}, {"name", v->name}, {"uid", v->uid}}},
                  {"reason", "Preempted"},
                  {"message", "Preempted by pod " + preemptor.uid + " on node " + victims.node},
                  {"type", "Normal"},
                  {"source", {{"component", "default-scheduler"}}},
                  {"reportingComponent", "default-scheduler"},
                  {"firstTimestamp", now},
                  {"lastTimestamp", now},
                  {"count", 1}};
    (void)client_.create(kEvents, v->ns, event.dump());
  }
}

void Scheduler::record_failure(const sp::PodInfo& pod, const std::string& message, const std::string& nominated) {
  std::string now = format_rfc3339(clock_.now_ms());
  static std::atomic<std::uint64_t> event_seq{0};
  Json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", pod.name + "." + std::to_string(clock_.now_ms()) + "." + std::to_string(++event_seq)},
                              {"namespace", pod.ns}}},
                {"involvedObject", {{"kind", "Pod"}, {"apiVersion", "v1"}, {"namespace", pod.ns}, {"name", pod.name}, {"uid", pod.uid}}},
                {"reason", "FailedScheduling"},
                {"message", message},
                {"type", "Warning"},
                {"source", {{"component", pod.scheduler_name}}},
                {"reportingComponent", pod.scheduler_name},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1}};
  if (auto r = client_.create(kEvents, pod.ns, event.dump()); !r)
    logger_.warn("scheduler: cannot record event", {{"pod", pod.key()}, {"error", r.status().message()}});

  // The condition (and the nominated node) on the pod as the informer last saw it; a conflict means
  // the pod moved on, and the next attempt writes again.
  ObjectPtr current = pods_->get(pod.ns, pod.name);
  if (!current) return;
  Json j = parse_json_or_discarded(current->json);
  if (!j.is_object()) return;
  Json& status = j["status"];
  if (!status.is_object()) status = Json::object();
  Json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = Json::array();
  bool changed = true;
  Json condition = {{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"},
                    {"message", message}, {"lastProbeTime", nullptr}, {"lastTransitionTime", now}};
  bool found = false;
  for (Json& c : conditions)
    if (c.is_object() && c.value("type", "") == "PodScheduled") {
      found = true;
      if (c.value("status", "") == "False" && c.value("message", "") == message) changed = false;
      else c = condition;
    }
  if (!found) conditions.push_back(condition);
  if (!nominated.empty() && status.value("nominatedNodeName", "") != nominated) {
    status["nominatedNodeName"] = nominated;
    changed = true;
  }
  if (!changed) return;
  if (auto r = client_.update_status(kPods, j.dump()); !r && r.status().code() != plugin::Code::kConflict)
    logger_.warn("scheduler: cannot update pod status", {{"pod", pod.key()}, {"error", r.status().message()}});
}

void Scheduler::bind_loop() {
  while (true) {
    BindTask task;
    {
      std::unique_lock lock(bind_mutex_);
      bind_cv_.wait(lock, [&] { return stopping_ || !bind_queue_.empty(); });
      if (bind_queue_.empty()) return;
      task = std::move(bind_queue_.front());
      bind_queue_.pop_front();
    }
    const sp::PodInfo& pod = *task.pod;
    Json binding = {{"apiVersion", "v1"},
                    {"kind", "Binding"},
                    {"metadata", {{"name", pod.name}, {"namespace", pod.ns}, {"uid", pod.uid}}},
                    {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", task.node}}}};
    auto r = client_.create_subresource(kPods, pod.ns, pod.name, "binding", binding.dump());
    if (r) {
      m_scheduled_.add();
      m_e2e_latency_.observe(static_cast<double>(clock_.now_ms() - task.first_seen_ms) / 1000.0);
      std::lock_guard lock(stats_mutex_);
      ++stats_.scheduled;
      continue;
    }
    logger_.warn("scheduler: binding failed", {{"pod", pod.key()}, {"node", task.node}, {"error", r.status().message()}});
    m_error_.add();
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.bind_failures;
    }
    {
      std::lock_guard lock(cache_mutex_);
      if (assumed_.count(pod.key())) remove_pod_from_cache_locked(pod.key());
    }
    if (r.status().code() == plugin::Code::kNotFound) continue;  // the pod is gone
    // The pod left the queue when it was assumed; put it back unless the informer says it is bound.
    ObjectPtr current = pods_->get(pod.ns, pod.name);
    const std::string* bound = current ? current->field("spec.nodeName") : nullptr;
    if (!current || (bound && !bound->empty())) continue;
    std::lock_guard lock(queue_mutex_);
    if (!queued_.count(pod.key())) {
      enqueue_locked(task.pod, "rebind");
      Queued& q = queued_.at(pod.key());
      active_.erase({-static_cast<std::int64_t>(pod.priority), q.first_seen_ms, q.seq, pod.key()});
      q.where = Where::kBackoff;
      q.backoff_until_ms = clock_.now_ms() + options_.initial_backoff_ms;
      backoff_.emplace(q.backoff_until_ms, pod.key());
    }
  }
}

}  // namespace skiff::kernel::scheduler
