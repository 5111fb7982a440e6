// skiff-runc-shim: the per-container monitor. runc keeps no exit codes and a detached container has
// no parent that waits for it, so the plugin starts every container through this small program:
//
//   skiff-runc-shim <runc> <runc root> <container id> <bundle> <log file> <state dir> [--hide-cgroup2]
//
// (--hide-cgroup2: run crun without /sys/fs/cgroup/unified in its view; see subprocess.hpp.)
// It detaches (the plugin's child exits at once, so a restarted agent loses nothing), becomes a
// child subreaper, runs `runc create` with the container's stdout/stderr on two pipes, and reports
// "ok" or "error: <runc's words>" on fd 3 (the plugin waits for that line, then starts the created
// container itself, once the pod's network is up: see start_container). Then it writes
// what the container prints to the log file in the CRI format ("<RFC 3339 nano time> <stream> <F|P>
// <text>"), reaps the container's init when it ends (it was reparented here when runc exited), and
// writes <state dir>/exit.json: {"exit_code": N, "finished_at_ms": T} (exit code 128+signal when
// killed). Its own pid is in <state dir>/shim.pid while it runs.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "subprocess.hpp"

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string cri_time() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char out[64];
  std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(out + n, sizeof out - n, ".%09ldZ", ts.tv_nsec);
  return out;
}

void write_file(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << data;
  }
  std::rename(tmp.c_str(), path.c_str());
}

// One output stream of the container, cut into CRI log lines. Lines longer than kMaxLine are split
// into partial ("P") records, as the kubelet's log format allows.
struct Stream {
  static constexpr std::size_t kMaxLine = 16 * 1024;
  int fd = -1;
  const char* name = "stdout";
  std::string pending;

  void emit(int log_fd, std::string_view text, bool full) {
    std::string line = cri_time() + " " + name + (full ? " F " : " P ") + std::string(text) + "\n";
    (void)!::write(log_fd, line.data(), line.size());
  }
  void feed(int log_fd, const char* data, std::size_t size) {
    pending.append(data, size);
    std::size_t start = 0;
    for (;;) {
      std::size_t nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      emit(log_fd, std::string_view(pending).substr(start, nl - start), true);
      start = nl + 1;
    }
    pending.erase(0, start);
    while (pending.size() >= kMaxLine) {
      emit(log_fd, std::string_view(pending).substr(0, kMaxLine), false);
      pending.erase(0, kMaxLine);
    }
  }
  void flush(int log_fd) {
    if (!pending.empty()) emit(log_fd, pending, true);
    pending.clear();
  }
};

void report(int sync_fd, const std::string& line) {
  if (sync_fd < 0) return;
  (void)!::write(sync_fd, line.data(), line.size());
  ::close(sync_fd);
}

}  // namespace

int main(int argc, char** argv) {
  const bool hide_cgroup2 = argc == 8 && std::string(argv[7]) == "--hide-cgroup2";
  if (argc != 7 && !hide_cgroup2) {
    std::fprintf(stderr, "usage: %s <runc> <runc root> <container id> <bundle> <log file> <state dir> [--hide-cgroup2]\n",
                 argv[0]);
    return 2;
  }
  const std::string runc = argv[1], root = argv[2], id = argv[3], bundle = argv[4], log_path = argv[5],
                    state = argv[6];
  const int sync_fd = 3;
  ::close_range(4, ~0U, 0);  // nothing of the daemon's (sockets, files) lives on in the monitor
  // Detach: the caller reaps this process at once; the monitor lives on in a new session.
  pid_t first = ::fork();
  if (first < 0) {
    report(sync_fd, std::string("error: fork: ") + std::strerror(errno) + "\n");
    return 1;
  }
  if (first > 0) return 0;
  ::setsid();
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  write_file(state + "/shim.pid", std::to_string(::getpid()) + "\n");

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    report(sync_fd, "error: pipe failed\n");
    return 1;
  }
  std::string pid_file = state + "/container.pid";
  pid_t runc_pid = ::fork();
  if (runc_pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(sync_fd);
    if (hide_cgroup2 && !skiff::plugins::runtime::runc::hide_cgroup2_in_child()) {
      std::fprintf(stderr, "hide /sys/fs/cgroup/unified from %s: %s\n", runc.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    ::execl(runc.c_str(), runc.c_str(), "--root", root.c_str(), "create", "--pid-file", pid_file.c_str(),
            "--bundle", bundle.c_str(), id.c_str(), static_cast<char*>(nullptr));
    std::fprintf(stderr, "exec %s: %s\n", runc.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  int runc_status = 0;
  while (::waitpid(runc_pid, &runc_status, 0) < 0 && errno == EINTR) {
  }
  Stream streams[2];
  streams[0].fd = out[0];
  streams[1].fd = err[0];
  streams[1].name = "stderr";
  if (!WIFEXITED(runc_status) || WEXITSTATUS(runc_status) != 0) {
    // runc failed: no container exists, so both pipes are at EOF; what runc said is the error.
    std::string said;
    char buf[4096];
    for (auto& s : streams) {
      ssize_t n;
      while ((n = ::read(s.fd, buf, sizeof buf)) > 0) said.append(buf, static_cast<std::size_t>(n));
    }
    for (char& c : said)
      if (c == '\n') c = ' ';
    report(sync_fd, "error: " + runc + " create failed: " + said + "\n");
    ::unlink((state + "/shim.pid").c_str());
    return 1;
  }
  pid_t container = 0;
  {
    std::ifstream in(pid_file);
    in >> container;
  }
  report(sync_fd, "ok\n");

  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  int exit_code = -1;
  bool exited = container <= 0;
  auto exited_at = std::chrono::steady_clock::now();
  char buf[16384];
  for (;;) {
    pollfd fds[2];
    int n = 0;
    for (auto& s : streams)
      if (s.fd >= 0) fds[n++] = {s.fd, POLLIN, 0};
    if (n == 0 && exited) break;
    // After init is gone every process of its pid namespace is too; a pipe still open past that
    // (a descriptor leaked to another process) must not keep the exit unreported.
    if (exited && std::chrono::steady_clock::now() - exited_at > std::chrono::seconds(2)) break;
    if (n > 0) ::poll(fds, n, 200);
    else ::usleep(50'000);
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      for (auto& s : streams) {
        if (s.fd != fds[i].fd) continue;
        ssize_t got = ::read(s.fd, buf, sizeof buf);
        if (got <= 0) {
          s.flush(log_fd);
          ::close(s.fd);
          s.fd = -1;
        } else {
          s.feed(log_fd, buf, static_cast<std::size_t>(got));
        }
      }
    }
    int status = 0;
    pid_t reaped;
    while ((reaped = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (reaped != container) continue;  // some orphan of the container's setup
      exited = true;
      exited_at = std::chrono::steady_clock::now();
      exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (!exited && reaped < 0 && errno == ECHILD) {
      // Not our child (should not happen): fall back to watching the pid.
      if (::kill(container, 0) != 0) {
        exited = true;
        exited_at = std::chrono::steady_clock::now();
      }
    }
  }
  for (auto& s : streams) s.flush(log_fd);
  if (log_fd >= 0) ::close(log_fd);
  std::ostringstream j;
  j << "{\"exit_code\": " << exit_code << ", \"finished_at_ms\": " << now_ms() << "}\n";
  write_file(state + "/exit.json", j.str());
  ::unlink((state + "/shim.pid").c_str());
  return 0;
}
