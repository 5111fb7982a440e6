#include "command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace skiff::plugins::proxy {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

bool have_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

plugin::Result<CommandResult> run_command(const std::vector<std::string>& argv, const std::string& input,
                                          std::chrono::milliseconds timeout) {
  if (argv.empty()) return plugin::invalid("run_command: empty argv");
  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0)
    return plugin::internal(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return plugin::unavailable("cannot run " + argv[0] + ": " + std::strerror(rc));
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);

  // Non-blocking, so a child that stops reading (its stdout full) cannot stall us mid-write; and a
  // child that exits before reading everything must not kill us with SIGPIPE.
  ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  CommandResult result;
  std::size_t written = 0;
  if (input.empty()) in.close_end(1);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    pollfd fds[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in.fd[1] >= 0) fds[idx_in = n++] = {in.fd[1], POLLOUT, 0};
    if (out.fd[0] >= 0) fds[idx_out = n++] = {out.fd[0], POLLIN, 0};
    if (err.fd[0] >= 0) fds[idx_err = n++] = {err.fd[0], POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (idx_in >= 0 && fds[idx_in].revents != 0) {
      ssize_t w = ::write(in.fd[1], input.data() + written, std::min<std::size_t>(input.size() - written, 1 << 16));
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // the reader went away
      if (written >= input.size()) in.close_end(1);
    }
    auto drain = [](Pipe& p, int idx, pollfd* f, std::string& into) {
      if (idx < 0 || f[idx].revents == 0) return;
      char buf[65536];
      ssize_t r = ::read(p.fd[0], buf, sizeof buf);
      if (r > 0)
        into.append(buf, static_cast<std::size_t>(r));
      else if (r == 0 || (errno != EAGAIN && errno != EINTR))
        p.close_end(0);
    };
    drain(out, idx_out, fds, result.out);
    drain(err, idx_err, fds, result.err);
  }
  in.close_end(1);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.timed_out = timed_out;
  return result;
}

plugin::Result<CommandResult> run_checked(const std::vector<std::string>& argv, const std::string& input,
                                          std::chrono::milliseconds timeout) {
  auto r = run_command(argv, input, timeout);
  if (!r) return r.status();
  if (r->timed_out)
    return plugin::unavailable(joined(argv) + " did not finish within " +
                               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
                               " s and was stopped");
  if (r->exit_code != 0) {
    std::string err = r->err.empty() ? r->out : r->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > 2000) err = err.substr(0, 2000) + "…";
    return plugin::internal(joined(argv) + " exited with " + std::to_string(r->exit_code) + ": " + err);
  }
  return r;
}

}  // namespace skiff::plugins::proxy
