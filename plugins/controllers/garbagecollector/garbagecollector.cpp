#include "garbagecollector.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include <nlohmann/json.hpp>

#include "controller_common.hpp"

namespace skiff::plugins::controllers::garbagecollector {
namespace {

namespace ctl = plugin::controller;
using plugin::Code;

constexpr std::string_view kForeground = "foregroundDeletion";
constexpr std::string_view kOrphan = "orphan";
constexpr std::size_t kGoneRemembered = 65536;

struct ParsedKey {
  const ServedResource* type = nullptr;
  std::string ns, name;
};

ParsedKey parse_key(std::string_view key) {
  std::string_view parts[4];
  for (int i = 0; i < 3; ++i) {
    auto slash = key.find('/');
    if (slash == std::string_view::npos) return {};
    parts[i] = key.substr(0, slash);
    key.remove_prefix(slash + 1);
  }
  parts[3] = key;
  return {served_resource(parts[0], parts[1]), std::string(parts[2]), std::string(parts[3])};
}

bool has_finalizer(const Json& object, std::string_view finalizer) {
  const Json* meta = object.contains("metadata") ? &object["metadata"] : nullptr;
  if (meta == nullptr || !meta->contains("finalizers") || !(*meta)["finalizers"].is_array()) return false;
  for (const auto& f : (*meta)["finalizers"])
    if (f.is_string() && f.get<std::string>() == finalizer) return true;
  return false;
}

// The uids in metadata.ownerReferences; a cheap text test first, as most objects have none.
std::vector<std::string> owner_uids(const plugin::Object& object) {
  std::vector<std::string> uids;
  if (object.json.find("ownerReferences") == std::string::npos) return uids;
  Json j = Json::parse(object.json, nullptr, false);
  if (!j.is_object() || !j.contains("metadata")) return uids;
  const Json& refs = j["metadata"].value("ownerReferences", Json::array());
  if (!refs.is_array()) return uids;
  for (const auto& r : refs)
    if (r.is_object() && r.contains("uid") && r["uid"].is_string()) uids.push_back(r["uid"].get<std::string>());
  return uids;
}

bool references(const Json& object, std::string_view uid, bool* block = nullptr) {
  const Json& refs = object["metadata"].value("ownerReferences", Json::array());
  if (!refs.is_array()) return false;
  for (const auto& r : refs) {
    if (r.is_object() && r.value("uid", "") == uid) {
      if (block != nullptr) *block = r.value("blockOwnerDeletion", false);
      return true;
    }
  }
  return false;
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string object_key(const plugin::ResourceId& resource, std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(resource.group.size() + resource.resource.size() + ns.size() + name.size() + 3);
  key.append(resource.group).append("/").append(resource.resource).append("/").append(ns).append("/").append(name);
  return key;
}

std::vector<ctl::WatchSpec> GarbageCollector::watches() const noexcept {
  std::vector<ctl::WatchSpec> out;
  for (const auto& r : served_resources()) out.push_back({r.id, ctl::KeyMapping::kController, {}});
  return out;
}

void GarbageCollector::bind(const ctl::Host& host) noexcept { host_.emplace(host); }

// Every event of X queues X (its own owners may be gone, or it may carry one of our finalizers),
// X's dependents (X may be gone or deleting) and X's owners (a foreground owner waits for X).
std::vector<std::string> GarbageCollector::map_event(const ctl::WatchSpec& spec, const plugin::Object& object) noexcept {
  try {
    std::string key = object_key(spec.resource, object.ns, object.name);
    // Add, update and delete all arrive here: the cache (already updated) tells them apart.
    plugin::ObjectPtr current = host_ ? host_->cache.get(spec.resource, object.ns, object.name) : nullptr;
    bool live = current && current->uid == object.uid;
    std::vector<std::string> uids = owner_uids(live ? *current : object);

    std::vector<std::string> keys{key};
    std::lock_guard lock(mutex_);
    if (auto it = owners_of_.find(key); it != owners_of_.end()) {
      for (const auto& uid : it->second)
        if (auto d = dependents_.find(uid); d != dependents_.end()) {
          d->second.erase(key);
          if (d->second.empty()) dependents_.erase(d);
        }
      // Owners it no longer names still hear of the change (they may wait for it).
      for (const auto& uid : it->second) uids.push_back(uid);
      owners_of_.erase(it);
    }
    if (live) {
      key_of_uid_[object.uid] = key;
      std::vector<std::string> named = owner_uids(*current);
      for (const auto& uid : named) dependents_[uid].insert(key);
      if (!named.empty()) owners_of_[key] = std::move(named);
    } else if (!object.uid.empty()) {
      if (auto it = key_of_uid_.find(object.uid); it != key_of_uid_.end() && it->second == key) key_of_uid_.erase(it);
      if (gone_.insert(object.uid).second) {
        gone_order_.push_back(object.uid);
        if (gone_order_.size() > kGoneRemembered) {
          gone_.erase(gone_order_.front());
          gone_order_.pop_front();
        }
      }
    }
    for (const auto& uid : uids)
      if (auto it = key_of_uid_.find(uid); it != key_of_uid_.end()) keys.push_back(it->second);
    if (auto d = dependents_.find(object.uid); d != dependents_.end())
      keys.insert(keys.end(), d->second.begin(), d->second.end());
    return keys;
  } catch (const std::exception&) {
    return {};
  }
}

bool GarbageCollector::seen_gone(const std::string& uid) {
  std::lock_guard lock(mutex_);
  return gone_.contains(uid);
}

plugin::Result<ctl::ReconcileResult> GarbageCollector::reconcile(std::string_view key) noexcept {
  try {
    ParsedKey parsed = parse_key(key);
    if (parsed.type == nullptr) return ctl::ReconcileResult{};  // not a key this collector makes
    plugin::ObjectPtr object = host_->cache.get(parsed.type->id, parsed.ns, parsed.name);
    if (!object) return ctl::ReconcileResult{};  // gone: its dependents were queued by its delete event
    return reconcile_object(*parsed.type, object);
  } catch (const std::exception& e) {
    return plugin::internal(std::string("garbagecollector ") + std::string(key) + ": " + e.what());
  }
}

std::vector<std::pair<const ServedResource*, plugin::ObjectPtr>> GarbageCollector::dependents_of(
    const std::string& owner_uid) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mutex_);
    if (auto it = dependents_.find(owner_uid); it != dependents_.end()) keys.assign(it->second.begin(), it->second.end());
  }
  std::vector<std::pair<const ServedResource*, plugin::ObjectPtr>> out;
  for (const auto& k : keys) {
    ParsedKey p = parse_key(k);
    if (p.type == nullptr) continue;
    plugin::ObjectPtr o = host_->cache.get(p.type->id, p.ns, p.name);
    if (o) out.emplace_back(p.type, std::move(o));
  }
  return out;
}

GarbageCollector::OwnerState GarbageCollector::owner_state(const ServedResource& dependent_type,
                                                           const plugin::Object& dependent, const OwnerRef& ref) {
  const ServedResource* owner_type = served_resource_of_kind(ref.api_version, ref.kind);
  // A kind the API does not serve cannot be looked up: leave the dependent alone rather than guess.
  if (owner_type == nullptr || ref.uid.empty()) return OwnerState::kSolid;
  // A cluster-scoped dependent cannot be owned by a namespaced object (Kubernetes treats the
  // reference as unresolvable and never collects the dependent).
  if (owner_type->namespaced && !dependent_type.namespaced) return OwnerState::kSolid;
  std::string ns = owner_type->namespaced ? dependent.ns : std::string();
  plugin::ObjectPtr owner = host_->cache.get(owner_type->id, ns, ref.name);
  if (owner && owner->uid == ref.uid) {
    if (owner->deleting && has_finalizer(parse(*owner), kForeground)) return OwnerState::kWaiting;
    return OwnerState::kSolid;
  }
  // Absent, or a new object under the old name (a different owner). Seen deleted: certainly gone.
  if (seen_gone(ref.uid)) return OwnerState::kDangling;
  // Never seen: its add event may still be in another informer's queue. Absent for a while: gone.
  // Real time on purpose: this waits for event delivery, not for anything in the cluster's clock.
  std::string pending = dependent.uid + "|" + ref.uid;
  std::lock_guard lock(mutex_);
  auto [it, fresh] = unconfirmed_since_.try_emplace(pending, steady_ms());
  if (!fresh && steady_ms() - it->second >= unseen_owner_delay_ms_) {
    unconfirmed_since_.erase(it);
    return OwnerState::kDangling;
  }
  return OwnerState::kUnconfirmed;
}

plugin::Status GarbageCollector::drop_references(const ServedResource& type, const plugin::Object& object,
                                                 const std::set<std::string>& uids) {
  Json j = parse(object);
  Json& refs = j["metadata"]["ownerReferences"];
  if (!refs.is_array()) return plugin::Status::ok();
  Json kept = Json::array();
  for (const auto& r : refs)
    if (!(r.is_object() && uids.contains(r.value("uid", "")))) kept.push_back(r);
  if (kept.size() == refs.size()) return plugin::Status::ok();
  if (kept.empty())
    j["metadata"].erase("ownerReferences");
  else
    refs = std::move(kept);
  auto updated = host_->client.update(type.id, j.dump());  // carries resourceVersion: kConflict if it moved
  if (!updated && updated.status().code() != Code::kNotFound)
    return updated.status().with_context("drop owner references from " + type.id.to_string() + " " + object.key());
  return plugin::Status::ok();
}

plugin::Status GarbageCollector::remove_finalizer(const ServedResource& type, const plugin::Object& object,
                                                  std::string_view finalizer) {
  Json j = parse(object);
  Json& fins = j["metadata"]["finalizers"];
  Json kept = Json::array();
  for (const auto& f : fins)
    if (!(f.is_string() && f.get<std::string>() == finalizer)) kept.push_back(f);
  fins = std::move(kept);
  auto updated = host_->client.update(type.id, j.dump());
  if (!updated && updated.status().code() != Code::kNotFound)
    return updated.status().with_context("remove finalizer " + std::string(finalizer) + " from " +
                                         type.id.to_string() + " " + object.key());
  return plugin::Status::ok();
}

plugin::Result<ctl::ReconcileResult> GarbageCollector::reconcile_object(const ServedResource& type,
                                                                        const plugin::ObjectPtr& object) {
  Json j = parse(*object);
  if (object->deleting) {
    if (has_finalizer(j, kOrphan)) {
      // Orphan: release every dependent, then let the owner go.
      for (const auto& [dep_type, dep] : dependents_of(object->uid))
        if (auto s = drop_references(*dep_type, *dep, {object->uid}); !s) return s;
      if (auto s = remove_finalizer(type, *object, kOrphan); !s) return s;
      return ctl::ReconcileResult{};
    }
    if (has_finalizer(j, kForeground)) {
      // Foreground: the dependents delete themselves (their reconcile sees this owner waiting); the
      // owner goes once none that blocks its deletion is left.
      bool blocked = false;
      for (const auto& [dep_type, dep] : dependents_of(object->uid)) {
        bool block = false;
        if (references(parse(*dep), object->uid, &block) && block) blocked = true;
      }
      if (!blocked)
        if (auto s = remove_finalizer(type, *object, kForeground); !s) return s;
      return ctl::ReconcileResult{};
    }
    return ctl::ReconcileResult{};  // being deleted for another reason: not ours to judge
  }

  const Json& refs = j["metadata"].value("ownerReferences", Json::array());
  if (!refs.is_array() || refs.empty()) return ctl::ReconcileResult{};
  bool solid = false, unconfirmed = false;
  std::set<std::string> dangling, waiting;
  for (const auto& r : refs) {
    if (!r.is_object()) continue;
    OwnerRef ref{r.value("apiVersion", ""), r.value("kind", ""), r.value("name", ""), r.value("uid", ""),
                 r.value("blockOwnerDeletion", false)};
    switch (owner_state(type, *object, ref)) {
      case OwnerState::kSolid: solid = true; break;
      case OwnerState::kDangling: dangling.insert(ref.uid); break;
      case OwnerState::kWaiting: waiting.insert(ref.uid); break;
      case OwnerState::kUnconfirmed: unconfirmed = true; break;
    }
  }
  if (solid) {
    // Another owner still holds it: only the references to owners that are gone (or going) go.
    std::set<std::string> drop = dangling;
    drop.insert(waiting.begin(), waiting.end());
    if (auto s = drop_references(type, *object, drop); !s) return s;
    return ctl::ReconcileResult{unconfirmed ? unseen_owner_delay_ms_ : 0};
  }
  if (unconfirmed) return ctl::ReconcileResult{unseen_owner_delay_ms_};
  if (dangling.empty() && waiting.empty()) return ctl::ReconcileResult{};

  // Every owner is gone or being deleted in the foreground: the dependent goes too. Under a
  // foreground owner it is deleted in the foreground as well, so the cascade reaches its own
  // dependents before the owner is released; otherwise its own finalizers pick the policy.
  plugin::DeleteOptions options;
  options.precondition_uid = object->uid;
  if (!waiting.empty() || has_finalizer(j, kForeground))
    options.propagation = plugin::Propagation::kForeground;
  else if (has_finalizer(j, kOrphan))
    options.propagation = plugin::Propagation::kOrphan;
  else
    options.propagation = plugin::Propagation::kBackground;
  auto removed = host_->client.remove(type.id, object->ns, object->name, options);
  if (!removed && removed.status().code() != Code::kNotFound && removed.status().code() != Code::kConflict)
    return removed.status().with_context("delete " + type.id.to_string() + " " + object->key());
  return ctl::ReconcileResult{};
}

}  // namespace skiff::plugins::controllers::garbagecollector
