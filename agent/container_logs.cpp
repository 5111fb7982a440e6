#include "agent/container_logs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "skiff/plugin/time.hpp"

namespace skiff::agent {
namespace {

namespace fs = std::filesystem;
using kernel::api::PodLogRequest;

// One CRI log entry.
struct Entry {
  std::string_view time, text;
  bool full = true;  // F: the entry ends a line; P: the line goes on in the next entry
};

// Parses "<time> <stream> <F|P> <text>"; a malformed line is kept whole as a full line, so nothing
// the container wrote is lost to a parsing mistake.
Entry parse_entry(std::string_view line) {
  Entry e;
  std::size_t a = line.find(' ');
  std::size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  std::size_t c = b == std::string_view::npos ? b : line.find(' ', b + 1);
  if (c == std::string_view::npos || (line.substr(b + 1, c - b - 1) != "F" && line.substr(b + 1, c - b - 1) != "P")) {
    e.text = line;
    return e;
  }
  e.time = line.substr(0, a);
  e.full = line[b + 1] == 'F';
  e.text = line.substr(c + 1);
  return e;
}

// The attempts' log files of one container, oldest first.
std::vector<fs::path> attempts(const fs::path& dir) {
  std::vector<std::pair<long, fs::path>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".log") continue;
    std::string stem = p.stem().string();
    char* tail = nullptr;
    long n = std::strtol(stem.c_str(), &tail, 10);
    if (stem.empty() || *tail != '\0') continue;
    found.emplace_back(n, p);
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [n, p] : found) out.push_back(std::move(p));
  return out;
}

class LogFileSource final : public kernel::api::StreamSource {
 public:
  LogFileSource(fs::path file, fs::path dir, std::size_t attempts_seen, PodLogRequest request,
                std::function<bool()> running)
      : file_(std::move(file)),
        dir_(std::move(dir)),
        attempts_seen_(attempts_seen),
        request_(std::move(request)),
        running_(std::move(running)) {}

  std::string poll() override {
    if (finished_) return {};
    // Looked at before reading, so a container that stopped after writing its last line still has
    // that line read by this poll.
    const bool running = request_.follow && running_();
    std::string out = first_ ? read_first() : read_more();
    first_ = false;
    if (!request_.follow || limit_reached()) {
      finished_ = true;
    } else if (out.empty() && !running) {
      // Stopped, and nothing new twice in a row (the runtime may still be draining the last output).
      finished_ = ++idle_stopped_ >= 2;
    } else if (out.empty() && attempts(dir_).size() > attempts_seen_) {
      finished_ = true;  // restarted: kubectl logs -f ends with the attempt it followed
    } else {
      idle_stopped_ = 0;
    }
    return out;
  }

  bool done() override { return finished_; }

 private:
  // New complete lines of the file since offset_ (a partial last line waits for its newline).
  std::vector<std::string> new_lines() {
    std::vector<std::string> lines;
    std::ifstream in(file_, std::ios::binary);
    if (!in) return lines;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no newline yet: read it next time
      offset_ += line.size() + 1;
      lines.push_back(std::move(line));
    }
    return lines;
  }

  std::string read_first() {
    std::vector<std::string> lines = new_lines();
    std::vector<Entry> entries;
    entries.reserve(lines.size());
    std::int64_t since_ms = 0;
    if (request_.since_seconds) {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
      since_ms = now.count() - *request_.since_seconds * 1000;
    }
    for (const auto& l : lines) {
      Entry e = parse_entry(l);
      if (request_.since_seconds) {
        auto t = plugin::parse_rfc3339(e.time);
        if (t && *t < since_ms) continue;
      }
      entries.push_back(e);
    }
    std::size_t from = 0;
    if (request_.tail_lines) {
      // The last N lines: walk back over N line ends (F entries); a trailing partial line counts as one.
      std::int64_t want = *request_.tail_lines;
      from = entries.size();
      std::int64_t lines_seen = 0;
      while (from > 0) {
        bool ends_line = entries[from - 1].full || from == entries.size();
        if (ends_line && lines_seen == want) break;
        if (ends_line) ++lines_seen;
        --from;
      }
    }
    std::string out;
    for (std::size_t i = from; i < entries.size(); ++i) append(out, entries[i]);
    return cap(std::move(out));
  }

  std::string read_more() {
    std::string out;
    for (const auto& l : new_lines()) append(out, parse_entry(l));
    return cap(std::move(out));
  }

  void append(std::string& out, const Entry& e) {
    if (request_.timestamps && at_line_start_ && !e.time.empty()) {
      out += e.time;
      out += ' ';
    }
    out += e.text;
    if (e.full) out += '\n';
    at_line_start_ = e.full;
  }

  std::string cap(std::string out) {
    if (request_.limit_bytes) {
      auto room = static_cast<std::size_t>(std::max<std::int64_t>(0, *request_.limit_bytes - static_cast<std::int64_t>(sent_)));
      if (out.size() > room) out.resize(room);
    }
    sent_ += out.size();
    return out;
  }

  bool limit_reached() const { return request_.limit_bytes && static_cast<std::int64_t>(sent_) >= *request_.limit_bytes; }

  const fs::path file_, dir_;
  const std::size_t attempts_seen_;
  const PodLogRequest request_;
  std::function<bool()> running_;
  std::uint64_t offset_ = 0;
  std::size_t sent_ = 0;
  bool first_ = true;
  bool finished_ = false;
  bool at_line_start_ = true;
  int idle_stopped_ = 0;
};

}  // namespace

ContainerLogs::ContainerLogs(std::string log_dir, RunningCheck running)
    : log_dir_(std::move(log_dir)), shared_(std::make_shared<Shared>()) {
  shared_->running = std::move(running);
}

void ContainerLogs::detach() {
  std::lock_guard lock(shared_->mutex);
  shared_->running = nullptr;
}

plugin::Result<std::unique_ptr<kernel::api::StreamSource>> ContainerLogs::pod_log(const PodLogRequest& request) {
  fs::path dir = fs::path(log_dir_) / (request.ns + "_" + request.pod + "_" + request.uid) / request.container;
  std::vector<fs::path> files = attempts(dir);
  const std::string who = "container \"" + request.container + "\" in pod \"" + request.pod + "\"";
  if (request.previous && files.size() < 2)
    return plugin::Status(plugin::Code::kBadRequest, "previous terminated " + who + " not found");
  if (files.empty()) return plugin::Status(plugin::Code::kBadRequest, who + " is waiting to start: ContainerCreating");
  fs::path file = request.previous ? files[files.size() - 2] : files.back();
  PodLogRequest effective = request;
  if (request.previous) effective.follow = false;  // a previous attempt writes no more
  auto running = [shared = shared_, effective] {
    std::lock_guard lock(shared->mutex);
    return shared->running && shared->running(effective);
  };
  return std::unique_ptr<kernel::api::StreamSource>(
      std::make_unique<LogFileSource>(std::move(file), dir, files.size(), effective, std::move(running)));
}

}  // namespace skiff::agent
