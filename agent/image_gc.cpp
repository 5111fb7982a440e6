#include "agent/image_gc.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace skiff::agent {

namespace rt = plugin::runtime;

plugin::Result<FilesystemUsage> filesystem_usage(const std::string& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0)
    return plugin::unavailable("image filesystem: statvfs " + path + ": " + std::strerror(errno));
  FilesystemUsage u;
  u.capacity_bytes = static_cast<std::uint64_t>(s.f_blocks) * s.f_frsize;
  u.available_bytes = static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
  return u;
}

ImageGarbageCollector::ImageGarbageCollector(rt::Runtime& runtime, const plugin::Clock& clock, plugin::Logger& logger,
                                             ImageGcPolicy policy, std::function<plugin::Result<FilesystemUsage>()> usage,
                                             std::function<void(const std::string& message)> free_disk_space_failed)
    : runtime_(runtime), clock_(clock), logger_(logger), policy_(policy), usage_(std::move(usage)),
      free_disk_space_failed_(std::move(free_disk_space_failed)) {}

ImageGarbageCollector::~ImageGarbageCollector() { stop(); }

plugin::Status ImageGarbageCollector::refresh(std::int64_t now) {
  auto listed = runtime_.list_images();
  if (!listed) return listed.status().with_context("image GC: list images");
  auto containers = runtime_.list_containers("");
  if (!containers) return containers.status().with_context("image GC: list containers");
  std::set<std::string> used;
  for (const auto& c : *containers) used.insert(c.image_id);
  std::lock_guard lock(records_mu_);
  std::map<std::string, Record> next;
  for (const auto& image : *listed) {
    Record r = records_.count(image.id) ? records_[image.id] : Record{now, 0, 0};
    r.size_bytes = image.size_bytes;
    if (used.count(image.id)) r.last_used_ms = now;
    next[image.id] = r;
  }
  records_ = std::move(next);  // images removed by others are forgotten
  return plugin::Status::ok();
}

plugin::Result<ImageGcResult> ImageGarbageCollector::collect() {
  const std::int64_t now = clock_.now_ms();
  if (auto st = refresh(now); !st) return st;
  auto usage = usage_();
  if (!usage) return usage.status();
  ImageGcResult result;
  if (usage->capacity_bytes == 0) return result;
  const std::uint64_t used_bytes = usage->capacity_bytes - std::min(usage->available_bytes, usage->capacity_bytes);
  result.usage_percent = used_bytes * 100 / usage->capacity_bytes;
  if (policy_.high_threshold_percent >= 100 || result.usage_percent < static_cast<std::uint64_t>(policy_.high_threshold_percent))
    return result;
  result.ran = true;
  const std::uint64_t target = usage->capacity_bytes * static_cast<std::uint64_t>(policy_.low_threshold_percent) / 100;
  result.wanted_bytes = used_bytes > target ? used_bytes - target : 0;

  // Candidates: not in use now, old enough; the least recently used first (never used: by age).
  struct Candidate {
    std::string id;
    Record record;
  };
  std::vector<Candidate> candidates;
  {
    std::lock_guard lock(records_mu_);
    for (const auto& [id, r] : records_)
      if (r.last_used_ms != now && now - r.first_seen_ms >= policy_.minimum_age_ms) candidates.push_back({id, r});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.record.last_used_ms != b.record.last_used_ms) return a.record.last_used_ms < b.record.last_used_ms;
    return a.record.first_seen_ms < b.record.first_seen_ms;
  });
  std::string errors;
  for (const auto& c : candidates) {
    if (result.freed_bytes >= result.wanted_bytes) break;
    if (auto st = runtime_.remove_image(c.id); !st) {
      errors += (errors.empty() ? "" : "; ") + c.id + ": " + st.message();
      continue;
    }
    result.freed_bytes += c.record.size_bytes;
    result.removed.push_back(c.id);
    logger_.info("image garbage-collected",
                 {{"image", c.id}, {"size_bytes", std::to_string(c.record.size_bytes)},
                  {"usage_percent", std::to_string(result.usage_percent)}});
  }
  {
    std::lock_guard lock(records_mu_);
    for (const auto& id : result.removed) records_.erase(id);
  }
  if (result.freed_bytes < result.wanted_bytes) {
    std::string message = "image GC: the image filesystem is " + std::to_string(result.usage_percent) +
                          "% full (high threshold " + std::to_string(policy_.high_threshold_percent) + "%); freed " +
                          std::to_string(result.freed_bytes) + " of the " + std::to_string(result.wanted_bytes) +
                          " bytes wanted (" + std::to_string(candidates.size()) + " images unused and old enough)" +
                          (errors.empty() ? "" : "; errors: " + errors);
    if (free_disk_space_failed_) free_disk_space_failed_(message);
    return plugin::Status(plugin::Code::kUnavailable, message);
  }
  return result;
}

void ImageGarbageCollector::start() {
  // Images in use are noted often (a container can come and go between two collections); a
  // collection runs every period.
  const auto note_every = std::chrono::milliseconds(std::min<std::int64_t>(policy_.period_ms, 30'000));
  periodic_.start(note_every, [this, next = std::chrono::steady_clock::now() + std::chrono::milliseconds(policy_.period_ms)]() mutable {
    plugin::Status st = plugin::Status::ok();
    if (std::chrono::steady_clock::now() >= next) {
      next = std::chrono::steady_clock::now() + std::chrono::milliseconds(policy_.period_ms);
      if (auto r = collect(); !r) st = r.status();
    } else {
      st = refresh(clock_.now_ms());
    }
    if (!st) logger_.warn("image garbage collection failed", {{"error", st.message()}});
  });
}

void ImageGarbageCollector::stop() { periodic_.stop(); }

}  // namespace skiff::agent
