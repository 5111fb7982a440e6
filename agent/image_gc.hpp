// Image garbage collection, as the kubelet's image manager does it: when the filesystem holding the
// images is fuller than the high threshold, the images no container uses are removed, least
// recently used first, until the usage is estimated below the low threshold. An image is "used"
// while any container (running or exited, not yet removed) was made from it; the collector notes
// when it last saw each image used, and leaves alone images younger than the minimum age (a pull
// for a pod about to start must not be undone).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent/periodic.hpp"
#include "skiff/plugin/host.hpp"
#include "skiff/plugin/runtime.hpp"
#include "skiff/plugin/object.hpp"

namespace skiff::agent {

struct ImageGcPolicy {
  int high_threshold_percent = 85;  // kubelet's imageGCHighThresholdPercent; 100 switches GC off
  int low_threshold_percent = 80;   // imageGCLowThresholdPercent
  std::int64_t minimum_age_ms = 120'000;  // imageMinimumGCAge: 2 minutes
  std::int64_t period_ms = 300'000;       // the kubelet's ImageGCPeriod: 5 minutes
};

struct FilesystemUsage {
  std::uint64_t capacity_bytes = 0;
  std::uint64_t available_bytes = 0;
};

// statvfs of `path` (what the unprivileged user may use counts as available, as df shows).
plugin::Result<FilesystemUsage> filesystem_usage(const std::string& path);

struct ImageGcResult {
  bool ran = false;  // usage was above the high threshold
  std::uint64_t usage_percent = 0;
  std::uint64_t wanted_bytes = 0;  // to free to reach the low threshold
  std::uint64_t freed_bytes = 0;   // the removed images' sizes
  std::vector<std::string> removed;  // image ids
};

class ImageGarbageCollector {
 public:
  // `usage` reads the image filesystem (filesystem_usage of the image directory in production).
  // `free_disk_space_failed` hears why a collection could not free enough (the agent makes it the
  // kubelet's FreeDiskSpaceFailed warning event on its Node).
  ImageGarbageCollector(plugin::runtime::Runtime& runtime, const plugin::Clock& clock, plugin::Logger& logger,
                        ImageGcPolicy policy, std::function<plugin::Result<FilesystemUsage>()> usage,
                        std::function<void(const std::string& message)> free_disk_space_failed = {});
  ~ImageGarbageCollector();

  // One pass: notes the images in use now; above the high threshold, removes unused images old
  // enough, least recently used first, until the low threshold is reached or none is left. An
  // error when the usage cannot be read, or (kubelet's FreeDiskSpaceFailed) when not enough could
  // be freed; what was removed is in the log either way.
  plugin::Result<ImageGcResult> collect();

  // collect() every period on a thread (and notes images in use every 30 s), until stop().
  void start();
  void stop();

 private:
  struct Record {
    std::int64_t first_seen_ms = 0;
    std::int64_t last_used_ms = 0;  // 0: never seen in use
    std::uint64_t size_bytes = 0;
  };
  // Notes the images present and which of them containers use now.
  plugin::Status refresh(std::int64_t now);

  plugin::runtime::Runtime& runtime_;
  const plugin::Clock& clock_;
  plugin::Logger& logger_;
  const ImageGcPolicy policy_;
  const std::function<plugin::Result<FilesystemUsage>()> usage_;
  const std::function<void(const std::string& message)> free_disk_space_failed_;
  std::mutex records_mu_;
  std::map<std::string, Record> records_;  // image id →
  Periodic periodic_;
};

}  // namespace skiff::agent
