#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <fstream>
#include <filesystem>

extern char** environ;

namespace skiff::plugins::runtime::runc {
namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string find_executable(std::string_view name) {
  if (name.find('/') != std::string_view::npos) return std::string(name);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t i = 0;
  while (i <= dirs.size()) {
    std::size_t j = dirs.find(':', i);
    if (j == std::string::npos) j = dirs.size();
    std::string candidate = dirs.substr(i, j - i) + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    i = j + 1;
  }
  return {};
}

plugin::Result<RunResult> run(const std::vector<std::string>& argv_in, const RunOptions& options) {
  if (argv_in.empty() || argv_in[0].empty() || argv_in[0][0] != '/')
    return plugin::invalid("run: '" + (argv_in.empty() ? std::string() : argv_in[0]) + "' is not an absolute path");
  // Everything the child needs is prepared before fork: after it, only system calls.
  std::vector<std::string> argv = argv_in;
  std::vector<char*> argv_c = c_strings(argv);
  std::vector<std::string> env = options.env;
  std::vector<char*> env_c = c_strings(env);
  char** envp = options.env.empty() ? environ : env_c.data();
  int netns_fd = -1;
  if (!options.netns.empty()) {
    netns_fd = ::open(options.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0)
      return plugin::unavailable("open network namespace " + options.netns + ": " + std::strerror(errno));
  }
  int in[2], out[2], err[2], exec_err[2];
  if (options.terminal) {
    // One pseudo-terminal stands for all three: the parent's ends are dups of the master, the
    // child's of the slave.
    int master = -1, slave = -1;
    winsize size{24, 80, 0, 0};
    if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0) {
      if (netns_fd >= 0) ::close(netns_fd);
      return plugin::internal(std::string("openpty failed: ") + std::strerror(errno));
    }
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);
    in[0] = slave;
    in[1] = ::fcntl(master, F_DUPFD_CLOEXEC, 0);
    out[0] = master;
    out[1] = ::fcntl(slave, F_DUPFD_CLOEXEC, 0);
    err[0] = -1;
    err[1] = ::fcntl(slave, F_DUPFD_CLOEXEC, 0);
  } else if (::pipe2(in, O_CLOEXEC) != 0) {
    if (netns_fd >= 0) ::close(netns_fd);
    return plugin::internal("pipe failed");
  } else {
    ::pipe2(out, O_CLOEXEC);
    ::pipe2(err, O_CLOEXEC);
  }
  ::pipe2(exec_err, O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1], exec_err[0], exec_err[1], netns_fd})
      if (fd >= 0) ::close(fd);
    return plugin::internal(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    if (options.terminal) {
      ::setsid();
      ::ioctl(0, TIOCSCTTY, 0);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if ((netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) || (options.hide_cgroup2 && !hide_cgroup2_in_child())) {
      int e = errno;
      (void)!::write(exec_err[1], &e, sizeof e);
      ::_exit(127);
    }
    ::execve(argv_c[0], argv_c.data(), envp);
    int e = errno;
    (void)!::write(exec_err[1], &e, sizeof e);
    ::_exit(127);
  }
  if (netns_fd >= 0) ::close(netns_fd);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(exec_err[1]);
  int child_errno = 0;
  bool exec_failed = ::read(exec_err[0], &child_errno, sizeof child_errno) == sizeof child_errno;
  ::close(exec_err[0]);
  if (exec_failed) {
    for (int fd : {in[1], out[0], err[0]})
      if (fd >= 0) ::close(fd);
    ::waitpid(pid, nullptr, 0);
    return plugin::unavailable("start " + argv[0] + ": " + std::strerror(child_errno));
  }

  RunResult result;
  std::string pending_in = options.input;
  std::size_t in_off = 0;
  int in_fd = in[1], out_fd = out[0], err_fd = err[0];
  ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  if (pending_in.empty() && !options.read_stdin) close_fd(in_fd);

  // Streamed stdin has a thread of its own: read_stdin may wait, and output must flow meanwhile.
  std::atomic<bool> stop_feeding{false};
  std::thread feeder;
  if (options.read_stdin) {
    feeder = std::thread([&, fd = std::exchange(in_fd, -1)]() mutable {
      std::string chunk;
      bool ended = false;
      while (!stop_feeding) {
        chunk.clear();
        ended = !options.read_stdin(chunk);
        if (ended) break;
        for (std::size_t off = 0; off < chunk.size() && !stop_feeding;) {
          pollfd p{fd, POLLOUT, 0};
          if (::poll(&p, 1, 100) <= 0) continue;
          ssize_t put = ::write(fd, chunk.data() + off, chunk.size() - off);
          if (put > 0) off += static_cast<std::size_t>(put);
          else if (put < 0 && errno != EAGAIN && errno != EINTR) stop_feeding = true;  // the reader is gone
        }
      }
      // The end of input: EOF on a pipe; on a terminal, a hangup (closing our end would not tell,
      // the master stays open for the output).
      if (ended && options.terminal) ::kill(pid, SIGHUP);
      close_fd(fd);
    });
  }
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  char buf[16384];
  while (out_fd >= 0 || err_fd >= 0) {
    if (in_fd >= 0 && in_off == pending_in.size()) close_fd(in_fd);
    if (unsigned short columns = 0, rows = 0; options.terminal && options.terminal_resized &&
                                              options.terminal_resized(columns, rows)) {
      winsize size{rows, columns, 0, 0};
      ::ioctl(out_fd, TIOCSWINSZ, &size);  // the kernel sends SIGWINCH to the terminal's foreground group
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_fd >= 0) fds[out_i = n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[err_i = n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0 && in_off < pending_in.size()) fds[in_i = n++] = {in_fd, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 100))) < 0 && errno != EINTR) break;
    auto drain = [&](int idx, int& fd, int stream, std::string& into) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got <= 0) {
        close_fd(fd);
        return;
      }
      if (options.on_output) options.on_output(stream, std::string_view(buf, static_cast<std::size_t>(got)));
      else into.append(buf, static_cast<std::size_t>(got));
    };
    drain(out_i, out_fd, 1, result.out);
    drain(err_i, err_fd, 2, result.err);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = ::write(in_fd, pending_in.data() + in_off, pending_in.size() - in_off);
      if (put > 0) in_off += static_cast<std::size_t>(put);
      else if (put < 0 && errno != EAGAIN) close_fd(in_fd);
    }
  }
  stop_feeding = true;
  if (feeder.joinable()) feeder.join();
  close_fd(in_fd);
  close_fd(out_fd);
  close_fd(err_fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  return result;
}

bool hide_cgroup2_in_child() noexcept {
  // Slave, not private: mounts the daemon makes later still reach this process's view.
  if (::unshare(CLONE_NEWNS) != 0) return false;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return false;
  return ::umount2("/sys/fs/cgroup/unified", MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT;
}

bool cgroup2_has_controllers() {
  std::ifstream in("/sys/fs/cgroup/unified/cgroup.controllers");
  std::string first;
  return static_cast<bool>(in >> first);
}

}  // namespace skiff::plugins::runtime::runc
