#include "statefulset.hpp"

#include <cstdlib>
#include <map>

#include "workloads.hpp"

namespace skiff::plugins::controllers {
namespace {

namespace ctl = plugin::controller;
const plugin::ResourceId kStatefulSets{"apps", "v1", "statefulsets"};
const plugin::ResourceId kPods{"", "v1", "pods"};
constexpr const char* kRevisionLabel = "controller-revision-hash";

std::string str(const Json& j, std::string_view key) { return string_field(j, key); }

std::string revision_of(const Json& pod) {
  return pod["metadata"].contains("labels") ? str(pod["metadata"]["labels"], kRevisionLabel) : "";
}

bool running_and_ready(const Json& pod) {
  return pod.contains("status") && str(pod["status"], "phase") == "Running" && pod_is_ready(pod);
}

// The ordinal of "<sts>-<n>", or -1.
long ordinal_of(const std::string& sts, const std::string& pod) {
  if (pod.size() <= sts.size() + 1 || pod.compare(0, sts.size() + 1, sts + "-") != 0) return -1;
  std::string digits = pod.substr(sts.size() + 1);
  if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0')) return -1;
  for (char c : digits)
    if (c < '0' || c > '9') return -1;
  return std::stol(digits);
}

}  // namespace

std::vector<ctl::WatchSpec> StatefulSetController::watches() const noexcept {
  return {{kStatefulSets, ctl::KeyMapping::kSelf, {}}, {kPods, ctl::KeyMapping::kOwner, "StatefulSet"}};
}

void StatefulSetController::bind(const ctl::Host& host) noexcept {
  host_.emplace(host);
  events_.emplace(host.client, host.clock, "statefulset-controller");
}

plugin::Result<ctl::ReconcileResult> StatefulSetController::reconcile(std::string_view key) noexcept {
  return guarded_reconcile("statefulset", key, [this](const std::string& ns, const std::string& name) { return sync(ns, name); });
}

plugin::Result<ctl::ReconcileResult> StatefulSetController::sync(const std::string& ns, const std::string& name) {
  auto object = host_->cache.get(kStatefulSets, ns, name);
  if (!object || object->deleting) return ctl::ReconcileResult{};
  Json sts = parse(*object);
  const Json spec = sts.value("spec", Json::object());
  const Json tmpl = spec.value("template", Json::object());
  const long replicas = spec.value("replicas", 1L);
  const bool parallel = spec.value("podManagementPolicy", "OrderedReady") == "Parallel";
  const Json strategy = spec.value("updateStrategy", Json::object());
  const bool on_delete = str(strategy, "type") == "OnDelete";
  const long partition = strategy.value("rollingUpdate", Json::object()).value("partition", 0L);
  const std::int64_t min_ready = spec.value("minReadySeconds", std::int64_t{0});
  const std::int64_t now = host_->clock.now_ms();
  const std::string update_revision = name + "-" + pod_template_hash(tmpl);
  Json status = sts.value("status", Json::object());
  std::string current_revision = str(status, "currentRevision");
  if (current_revision.empty()) current_revision = update_revision;

  auto selector = selector_string(spec.value("selector", Json()));
  if (!selector || selector->empty()) return ctl::ReconcileResult{};
  auto listed = host_->cache.list(kPods, {ns, *selector});
  if (!listed) return listed.status();
  std::map<long, Json> pods;  // by ordinal
  for (const auto& p : *listed) {
    Json pod = parse(*p);
    long ordinal = ordinal_of(name, p->name);
    if (ordinal >= 0 && is_controlled_by(pod, object->uid)) pods.emplace(ordinal, std::move(pod));
  }

  auto create = [&](long ordinal) -> plugin::Status {
    std::string pod_name = name + "-" + std::to_string(ordinal);
    Json meta = {{"name", pod_name},
                 {"namespace", ns},
                 {"ownerReferences", Json::array({controller_reference(sts, "apps/v1", "StatefulSet")})}};
    if (tmpl.contains("metadata"))
      for (const char* k : {"labels", "annotations"})
        if (tmpl["metadata"].contains(k)) meta[k] = tmpl["metadata"][k];
    meta["labels"]["statefulset.kubernetes.io/pod-name"] = pod_name;
    meta["labels"]["apps.kubernetes.io/pod-index"] = std::to_string(ordinal);
    meta["labels"][kRevisionLabel] = update_revision;
    Json pod_spec = tmpl.value("spec", Json::object());
    pod_spec["hostname"] = pod_name;
    if (!str(spec, "serviceName").empty()) pod_spec["subdomain"] = str(spec, "serviceName");
    Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", pod_spec}};
    auto created = host_->client.create(kPods, ns, pod.dump());
    if (!created && created.status().code() != plugin::Code::kAlreadyExists) {
      (void)events_->record(sts, "Warning", "FailedCreate",
                            "create Pod " + pod_name + " in StatefulSet " + name + " failed error: " + created.status().message());
      return created.status();
    }
    if (created) {
      (void)events_->record(sts, "Normal", "SuccessfulCreate",
                            "create Pod " + pod_name + " in StatefulSet " + name + " successful");
      pods.emplace(ordinal, parse(*created.value()));
    }
    return plugin::Status::ok();
  };
  auto remove = [&](const Json& pod) -> plugin::Status {
    std::string pod_name = str(pod["metadata"], "name");
    // At the version this sync saw: when the informer lags, the pod may already be terminating
    // (graceful deletion keeps it listed), and deleting it again would succeed and be recorded twice.
    // A changed pod brings its own event, and with it the next sync.
    auto r = host_->client.remove(kPods, ns, pod_name,
                                  {.precondition_uid = str(pod["metadata"], "uid"),
                                   .precondition_resource_version =
                                       std::strtoll(str(pod["metadata"], "resourceVersion").c_str(), nullptr, 10)});
    if (!r) {
      auto code = r.status().code();
      return code == plugin::Code::kNotFound || code == plugin::Code::kConflict ? plugin::Status::ok() : r.status();
    }
    (void)events_->record(sts, "Normal", "SuccessfulDelete",
                          "delete Pod " + pod_name + " in StatefulSet " + name + " successful");
    return plugin::Status::ok();
  };

  plugin::Status error = plugin::Status::ok();
  [&] {
    // Failed pods are deleted and come back under the same name.
    for (auto it = pods.begin(); it != pods.end();) {
      if (it->second.contains("status") && str(it->second["status"], "phase") == "Failed" &&
          !it->second["metadata"].contains("deletionTimestamp")) {
        if (error = remove(it->second); !error) return;
        it = pods.erase(it);
      } else {
        ++it;
      }
    }
    // Create up: OrderedReady creates ordinal i only once 0..i-1 are Running and Ready.
    for (long i = 0; i < replicas; ++i) {
      auto it = pods.find(i);
      if (it == pods.end()) {
        if (error = create(i); !error) return;
        if (!parallel) return;
        continue;
      }
      if (!parallel && (!running_and_ready(it->second) || it->second["metadata"].contains("deletionTimestamp"))) return;
    }
    // Scale down from the highest ordinal; OrderedReady one at a time.
    for (auto it = pods.rbegin(); it != pods.rend(); ++it) {
      if (it->first < replicas) break;
      if (it->second["metadata"].contains("deletionTimestamp")) {
        if (!parallel) return;
        continue;
      }
      if (error = remove(it->second); !error) return;
      if (!parallel) return;
    }
    if (on_delete) return;
    // Rolling update: from the highest ordinal down to the partition, one pod at a time, each only
    // while every pod is Running and Ready.
    for (long i = 0; i < replicas; ++i) {
      auto it = pods.find(i);
      if (it == pods.end() || !running_and_ready(it->second) || it->second["metadata"].contains("deletionTimestamp")) return;
    }
    for (long i = replicas - 1; i >= partition; --i) {
      const Json& pod = pods.at(i);
      if (revision_of(pod) == update_revision) continue;
      error = remove(pod);
      return;
    }
  }();

  long count = 0, ready = 0, available = 0, current = 0, updated = 0;
  for (const auto& [ordinal, pod] : pods) {
    if (pod["metadata"].contains("deletionTimestamp")) continue;
    ++count;
    if (pod_is_ready(pod)) ++ready;
    if (pod_is_available(pod, min_ready, now)) ++available;
    if (revision_of(pod) == current_revision) ++current;
    if (revision_of(pod) == update_revision) ++updated;
  }
  // The update is complete once every replica runs the update revision and is ready.
  if (updated == replicas && ready == replicas && count == replicas && current_revision != update_revision) {
    current_revision = update_revision;
    current = updated;
  }
  Json want = status;
  want["replicas"] = count;
  want["readyReplicas"] = ready;
  want["availableReplicas"] = available;
  want["currentReplicas"] = current;
  want["updatedReplicas"] = updated;
  want["currentRevision"] = current_revision;
  want["updateRevision"] = update_revision;
  want["observedGeneration"] = sts["metadata"].value("generation", std::int64_t{1});
  if (want != status) {
    sts["status"] = want;
    auto w = host_->client.update_status(kStatefulSets, sts.dump());
    if (!w && error.is_ok()) error = w.status();
  }
  if (!error.is_ok()) return error;
  return ctl::ReconcileResult{};
}

}  // namespace skiff::plugins::controllers
