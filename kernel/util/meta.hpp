// Small pieces of Kubernetes metadata handling shared by the kernel: uids, timestamps, names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "skiff/plugin/time.hpp"

namespace skiff::kernel {

// A random RFC 4122 version-4 UUID, as Kubernetes uses for metadata.uid.
std::string new_uid();
// `count` random characters from Kubernetes' generateName alphabet (no vowels, no look-alikes).
std::string random_name_suffix(std::size_t count = 5);

// RFC 3339 timestamps live in the SDK (plugins need them too).
using plugin::format_rfc3339;
using plugin::parse_rfc3339;

// Empty when valid; otherwise Kubernetes' explanation of what a valid value looks like.
std::string dns1123_subdomain_error(std::string_view value);
std::string dns1123_label_error(std::string_view value);

}  // namespace skiff::kernel
