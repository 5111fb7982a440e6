// Small pieces of Kubernetes metadata handling shared by the kernel: uids, timestamps, names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace skiff::kernel {

// A random RFC 4122 version-4 UUID, as Kubernetes uses for metadata.uid.
std::string new_uid();
// `count` random characters from Kubernetes' generateName alphabet (no vowels, no look-alikes).
std::string random_name_suffix(std::size_t count = 5);

// RFC 3339 in UTC with second precision ("2026-11-23T05:40:00Z"), as metav1.Time marshals.
std::string format_rfc3339(std::int64_t unix_ms);
// Accepts "2026-11-23T05:40:00Z" and fractional seconds / numeric offsets.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// Empty when valid; otherwise Kubernetes' explanation of what a valid value looks like.
std::string dns1123_subdomain_error(std::string_view value);
std::string dns1123_label_error(std::string_view value);

}  // namespace skiff::kernel
