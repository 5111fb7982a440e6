#include "namespace.hpp"

#include <exception>
#include <map>

#include <nlohmann/json.hpp>

#include "cluster_resources.hpp"
#include "controller_common.hpp"
#include "skiff/plugin/time.hpp"

namespace skiff::plugins::controllers::ns {
namespace {

namespace ctl = plugin::controller;
using plugin::Code;
using resources::kNamespaces;
// Content that keeps a namespace waiting is re-checked this often even without events (a finalizer
// owned by nobody we watch, for instance).
constexpr std::int64_t kRecheckMs = 5000;
constexpr std::int64_t kConfirmMs = 500;

struct Condition {
  std::string type;
  bool failing = false;
  std::string reason, message;
};

// What emptying the namespace found, as Kubernetes' namespace conditions report it.
struct Content {
  std::map<std::string, int> remaining;        // resource → instances still there
  std::map<std::string, int> finalizers;       // finalizer → instances it holds
  std::vector<std::string> delete_errors;      // "<resource>: <message>"
};

std::string remaining_message(const std::map<std::string, int>& counts, std::string_view what) {
  std::string out;
  for (const auto& [name, n] : counts) {
    if (!out.empty()) out += ", ";
    out += name + " has " + std::to_string(n) + " " + std::string(what);
  }
  return out;
}

std::vector<Condition> conditions_for(const Content& c) {
  std::vector<Condition> out;
  out.push_back({"NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered", "All resources successfully discovered"});
  out.push_back({"NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions",
                 "All legacy kube types successfully parsed"});
  if (c.delete_errors.empty()) {
    out.push_back({"NamespaceDeletionContentFailure", false, "ContentDeleted",
                   "All content successfully deleted, may be waiting on finalization"});
  } else {
    std::string m = "Failed to delete all resource types, " + std::to_string(c.delete_errors.size()) + " remaining:";
    for (const auto& e : c.delete_errors) m += " " + e + ";";
    m.pop_back();
    out.push_back({"NamespaceDeletionContentFailure", true, "ContentDeletionFailed", m});
  }
  if (c.remaining.empty())
    out.push_back({"NamespaceContentRemaining", false, "ContentRemoved", "All content successfully removed"});
  else
    out.push_back({"NamespaceContentRemaining", true, "SomeResourcesRemain",
                   "Some resources are remaining: " + remaining_message(c.remaining, "resource instances")});
  if (c.finalizers.empty())
    out.push_back({"NamespaceFinalizersRemaining", false, "ContentHasNoFinalizers",
                   "All content-preserving finalizers finished"});
  else
    out.push_back({"NamespaceFinalizersRemaining", true, "SomeFinalizersRemain",
                   "Some content in the namespace has finalizers remaining: " +
                       remaining_message(c.finalizers, "resource instances")});
  return out;
}

// status.conditions as they should read now; an unchanged condition keeps its lastTransitionTime.
Json merged_conditions(const Json& current, const std::vector<Condition>& want, const std::string& now) {
  Json out = Json::array();
  for (const auto& w : want) {
    Json c = {{"type", w.type}, {"status", w.failing ? "True" : "False"}, {"reason", w.reason}, {"message", w.message},
              {"lastTransitionTime", now}};
    if (current.is_array())
      for (const auto& old : current)
        if (old.is_object() && old.value("type", "") == w.type && old.value("status", "") == c["status"])
          c["lastTransitionTime"] = old.value("lastTransitionTime", now);
    out.push_back(std::move(c));
  }
  return out;
}

bool same_conditions(const Json& a, const Json& b) {
  if (!a.is_array() || !b.is_array() || a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (const char* k : {"type", "status", "reason", "message"})
      if (a[i].value(k, "") != b[i].value(k, "")) return false;
  return true;
}

Json without(const Json& list, std::string_view value) {
  Json out = Json::array();
  if (list.is_array())
    for (const auto& v : list)
      if (!(v.is_string() && v.get<std::string>() == value)) out.push_back(v);
  return out;
}

}  // namespace

std::vector<ctl::WatchSpec> NamespaceController::watches() const noexcept {
  std::vector<ctl::WatchSpec> out{{kNamespaces, ctl::KeyMapping::kSelf, {}}};
  for (const auto& r : served_resources())
    if (r.namespaced) out.push_back({r.id, ctl::KeyMapping::kController, {}});
  return out;
}

void NamespaceController::bind(const ctl::Host& host) noexcept { host_.emplace(host); }

std::vector<std::string> NamespaceController::map_event(const ctl::WatchSpec&, const plugin::Object& object) noexcept {
  try {
    if (!host_ || object.ns.empty()) return {};
    plugin::ObjectPtr ns = host_->cache.get(kNamespaces, "", object.ns);
    if (ns && ns->deleting) return {object.ns};
    return {};
  } catch (const std::exception&) {
    return {};
  }
}

plugin::Result<ctl::ReconcileResult> NamespaceController::reconcile(std::string_view key) noexcept {
  try {
    plugin::ObjectPtr ns = host_->cache.get(kNamespaces, "", key);
    if (!ns || !ns->deleting) return ctl::ReconcileResult{};
    Json j = parse(*ns);
    const Json& meta_fins = j["metadata"].value("finalizers", Json::array());
    bool ours = false;
    for (const auto& f : meta_fins)
      if (f.is_string() && f.get<std::string>() == kFinalizer) ours = true;
    if (!ours) return ctl::ReconcileResult{};  // others' finalizers: not ours to wait for

    // Delete everything in it, every namespaced type; count what is still there.
    Content content;
    bool saw_content = false;
    for (const auto& r : served_resources()) {
      if (!r.namespaced) continue;
      auto items = host_->cache.list(r.id, {.ns = ns->name});
      if (!items) {
        content.delete_errors.push_back(r.id.to_string() + ": " + items.status().message());
        continue;
      }
      for (const auto& item : *items) {
        saw_content = true;
        const std::string name = r.id.to_string();
        plugin::ObjectPtr held = item;  // held by finalizers: stays until whoever owns them lets it go
        if (!item->deleting) {
          plugin::DeleteOptions options;
          options.propagation = plugin::Propagation::kBackground;
          options.precondition_uid = item->uid;
          auto removed = host_->client.remove(r.id, item->ns, item->name, options);
          held = nullptr;
          if (!removed && removed.status().code() != Code::kNotFound && removed.status().code() != Code::kConflict) {
            content.delete_errors.push_back(name + " " + item->name + ": " + removed.status().message());
            ++content.remaining[name];
          } else if (removed && *removed && (*removed)->deleting) {
            held = *removed;
          }
        }
        if (held) {
          ++content.remaining[name];
          for (const auto& f : parse(*held)["metadata"].value("finalizers", Json::array()))
            if (f.is_string()) ++content.finalizers[f.get<std::string>()];
        }
      }
    }

    const std::string now = plugin::format_rfc3339(host_->clock.now_ms());
    Json conditions = merged_conditions(j.value("status", Json::object()).value("conditions", Json::array()),
                                        conditions_for(content), now);
    if (!same_conditions(conditions, j.value("status", Json::object()).value("conditions", Json::array()))) {
      Json status_update = j;
      status_update["status"]["conditions"] = conditions;
      auto written = host_->client.update_status(kNamespaces, status_update.dump());
      if (!written) return written.status().with_context("namespace " + ns->name + ": status");
      j = parse(**written);
    }
    if (!content.delete_errors.empty()) return plugin::unavailable("namespace " + ns->name + ": " +
                                                                    conditions[2].value("message", ""));
    if (!content.remaining.empty()) return ctl::ReconcileResult{kRecheckMs};
    // Finalize only on a pass that found nothing at all: what this pass deleted must show up gone in
    // the cache first, and a create admitted just before the namespace turned Terminating may still
    // be on its way to the cache. The delete events bring the namespace back here.
    if (saw_content) return ctl::ReconcileResult{kConfirmMs};

    // The cache says empty; confirm with a live read, since a write admitted just before the
    // namespace turned Terminating may not have reached every informer yet.
    for (const auto& r : served_resources()) {
      if (!r.namespaced) continue;
      auto live = host_->client.list(r.id, {.ns = ns->name});
      if (!live) return live.status().with_context("namespace " + ns->name + ": list " + r.id.to_string());
      if (!live->empty()) return ctl::ReconcileResult{kConfirmMs};
    }
    // Empty: drop our finalizer; with no finalizer left the store deletes the namespace.
    j["metadata"]["finalizers"] = without(j["metadata"]["finalizers"], kFinalizer);
    if (j.contains("spec") && j["spec"].contains("finalizers"))
      j["spec"]["finalizers"] = without(j["spec"]["finalizers"], kFinalizer);
    auto updated = host_->client.update(kNamespaces, j.dump());
    if (!updated && updated.status().code() != Code::kNotFound)
      return updated.status().with_context("namespace " + ns->name + ": remove finalizer");
    return ctl::ReconcileResult{};
  } catch (const std::exception& e) {
    return plugin::internal("namespace " + std::string(key) + ": " + e.what());
  }
}

}  // namespace skiff::plugins::controllers::ns
