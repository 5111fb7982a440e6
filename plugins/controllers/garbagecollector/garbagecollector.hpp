// The garbage collector: cascading deletion through metadata.ownerReferences, for every resource
// type the API serves. See README.md.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster_resources.hpp"
#include "skiff/plugin/controller.hpp"

namespace skiff::plugins::controllers::garbagecollector {

inline constexpr std::string_view kName = "garbagecollector";

// Keys are "<group>/<resource>/<namespace>/<name>" (group and namespace may be empty).
std::string object_key(const plugin::ResourceId& resource, std::string_view ns, std::string_view name);

class GarbageCollector final : public plugin::controller::Controller {
 public:
  // How long an owner that this collector never saw must stay absent from the cache before it counts
  // as gone: its add event may still be on the way through another resource's informer.
  explicit GarbageCollector(std::int64_t unseen_owner_delay_ms = 1000) : unseen_owner_delay_ms_(unseen_owner_delay_ms) {}

  std::vector<plugin::controller::WatchSpec> watches() const noexcept override;
  void bind(const plugin::controller::Host& host) noexcept override;
  plugin::Result<plugin::controller::ReconcileResult> reconcile(std::string_view key) noexcept override;
  std::vector<std::string> map_event(const plugin::controller::WatchSpec& spec,
                                     const plugin::Object& object) noexcept override;

 private:
  struct OwnerRef {
    std::string api_version, kind, name, uid;
    bool block = false;
  };
  enum class OwnerState : std::uint8_t { kSolid, kDangling, kWaiting, kUnconfirmed };

  plugin::Result<plugin::controller::ReconcileResult> reconcile_object(const ServedResource& type,
                                                                       const plugin::ObjectPtr& object);
  OwnerState owner_state(const ServedResource& dependent_type, const plugin::Object& dependent, const OwnerRef& ref);
  // The dependents (cached, referencing `owner_uid`) the index knows of, with their types.
  std::vector<std::pair<const ServedResource*, plugin::ObjectPtr>> dependents_of(const std::string& owner_uid);
  plugin::Status drop_references(const ServedResource& type, const plugin::Object& object,
                                 const std::set<std::string>& uids);
  plugin::Status remove_finalizer(const ServedResource& type, const plugin::Object& object, std::string_view finalizer);
  bool seen_gone(const std::string& uid);

  const std::int64_t unseen_owner_delay_ms_;
  std::optional<plugin::controller::Host> host_;

  // The dependency graph as events showed it, rebuilt from the initial lists at start. Guarded by
  // mutex_: informers of different resources call map_event from their own threads.
  std::mutex mutex_;
  std::unordered_map<std::string, std::string> key_of_uid_;                        // live objects
  std::unordered_map<std::string, std::vector<std::string>> owners_of_;           // key → owner uids
  std::unordered_map<std::string, std::set<std::string>> dependents_;             // owner uid → keys
  std::unordered_set<std::string> gone_;                                          // uids seen deleted
  std::deque<std::string> gone_order_;                                            // bounds gone_
  std::map<std::string, std::int64_t> unconfirmed_since_;                         // "key|uid" → ms
};

}  // namespace skiff::plugins::controllers::garbagecollector
