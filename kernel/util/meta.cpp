#include "kernel/util/meta.hpp"

#include <cstdio>
#include <ctime>
#include <random>

namespace skiff::kernel {
namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    std::seed_seq seq{device(), device(), device(), device()};
    return std::mt19937_64(seq);
  }()};
  return engine;
}

bool is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool valid_label(std::string_view v) {
  if (v.empty() || v.size() > 63) return false;
  if (!is_alnum_lower(v.front()) || !is_alnum_lower(v.back())) return false;
  for (char c : v)
    if (!is_alnum_lower(c) && c != '-') return false;
  return true;
}

}  // namespace

std::string new_uid() {
  std::uint64_t hi = rng()();
  std::uint64_t lo = rng()();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string random_name_suffix(std::size_t count) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out += kAlphabet[pick(rng())];
  return out;
}


std::string dns1123_label_error(std::string_view value) {
  if (value.size() > 63) return "must be no more than 63 characters";
  if (valid_label(value)) return {};
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
         "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
}

std::string dns1123_subdomain_error(std::string_view value) {
  if (value.size() > 253) return "must be no more than 253 characters";
  bool ok = !value.empty();
  std::size_t start = 0;
  while (ok && start <= value.size()) {
    std::size_t dot = value.find('.', start);
    std::string_view part = value.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || !is_alnum_lower(part.front()) || !is_alnum_lower(part.back())) ok = false;
    for (char c : part)
      if (!is_alnum_lower(c) && c != '-') ok = false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (ok) return {};
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
         "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

}  // namespace skiff::kernel
