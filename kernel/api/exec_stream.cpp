#include "kernel/api/exec_stream.hpp"

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "kernel/api/handler.hpp"
#include "kernel/api/remote_node_services.hpp"
#include "kernel/util/json_parse.hpp"

namespace skiff::kernel::api {
namespace {

using Json = nlohmann::json;

constexpr int kStdin = 0, kStdout = 1, kStderr = 2, kStatus = 3, kResize = 4, kCloseChannel = 255;
// A client message larger than this is a broken client, not a keystroke or a pasted file chunk.
constexpr std::size_t kMaxMessage = 16u << 20;

// Parses the client's frames into messages and hands them to the exec's input. Frames may arrive
// split anywhere and several at once.
class ClientFrames {
 public:
  explicit ClientFrames(ExecInput& input) : input_(input) {}

  // Consumes `bytes`; returns the frames to send back (pongs), if any.
  std::string feed(std::string_view bytes) {
    std::string replies;
    if (broken_) return replies;
    buffer_.append(bytes);
    std::size_t at = 0;
    while (true) {
      std::string_view b(buffer_);
      b.remove_prefix(at);
      if (b.size() < 2) break;
      const auto b0 = static_cast<unsigned char>(b[0]), b1 = static_cast<unsigned char>(b[1]);
      const bool fin = (b0 & 0x80) != 0, masked = (b1 & 0x80) != 0;
      const int opcode = b0 & 0x0F;
      std::size_t head = 2;
      std::uint64_t length = b1 & 0x7F;
      if (length == 126 || length == 127) {
        const std::size_t bytes_of_length = length == 126 ? 2 : 8;
        if (b.size() < head + bytes_of_length) break;
        length = 0;
        for (std::size_t i = 0; i < bytes_of_length; ++i) length = (length << 8) | static_cast<unsigned char>(b[head + i]);
        head += bytes_of_length;
      }
      if (length > kMaxMessage || message_.size() + length > kMaxMessage) {
        broken_ = true;  // stdin ends; the output side still runs to its end
        input_.close_stdin();
        break;
      }
      const std::size_t mask_at = head;
      if (masked) head += 4;
      if (b.size() < head + length) break;
      std::string payload(b.substr(head, length));
      if (masked)
        for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ b[mask_at + (i % 4)]);
      at += head + length;
      switch (opcode) {
        case 0x0:  // a continuation of the message begun before
        case 0x1:
        case 0x2:
          if (opcode != 0x0) message_.clear();
          message_ += payload;
          if (fin) deliver(std::exchange(message_, {}));
          break;
        case 0x8:  // close: the client sends nothing more
          input_.close_stdin();
          break;
        case 0x9:
          replies += websocket_frame(payload, 0xA);
          break;
        default:  // pong and reserved opcodes: nothing to do
          break;
      }
    }
    buffer_.erase(0, at);
    return replies;
  }

 private:
  void deliver(std::string_view message) {
    if (message.empty()) return;
    const int channel = static_cast<unsigned char>(message[0]);
    message.remove_prefix(1);
    if (channel == kStdin) {
      input_.push_stdin(message);
    } else if (channel == kResize) {
      if (auto size = parse_terminal_size(message)) input_.resize(*size);
    } else if (channel == kCloseChannel && !message.empty() && message[0] == kStdin) {
      input_.close_stdin();
    }
  }

  ExecInput& input_;
  std::string buffer_;   // bytes of a frame not complete yet
  std::string message_;  // a fragmented message so far
  bool broken_ = false;
};

// The output side is a thread_source; this adds the client's side and the pongs.
class ExecWebSocketSource final : public StreamSource {
 public:
  ExecWebSocketSource(std::unique_ptr<StreamSource> output, std::shared_ptr<ExecInput> input)
      : output_(std::move(output)), input_(std::move(input)), frames_(*input_) {}

  std::string poll() override {
    std::string replies;
    {
      std::lock_guard lock(mutex_);
      replies = std::exchange(replies_, {});
    }
    return replies + output_->poll();
  }
  bool done() override { return output_->done(); }
  void set_notify(std::function<void()> wake) override {
    {
      std::lock_guard lock(mutex_);
      wake_ = wake;
    }
    output_->set_notify(std::move(wake));
  }
  void stop() override {
    input_->close_stdin();  // the client went away: so does the command's stdin
    {
      std::lock_guard lock(mutex_);
      wake_ = nullptr;
    }
    output_->stop();
  }
  void input(std::string_view bytes) override {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      std::string replies = frames_.feed(bytes);
      if (replies.empty()) return;
      replies_ += replies;
      wake = wake_;
    }
    if (wake) wake();
  }

 private:
  std::unique_ptr<StreamSource> output_;
  std::shared_ptr<ExecInput> input_;
  std::mutex mutex_;
  ClientFrames frames_;
  std::string replies_;
  std::function<void()> wake_;
};

}  // namespace

std::string websocket_accept(const std::string& key) {
  std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[20];
  mbedtls_sha1_ret(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char out[64];
  std::size_t written = 0;
  mbedtls_base64_encode(out, sizeof out, &written, digest, sizeof digest);
  return std::string(reinterpret_cast<const char*>(out), written);
}

std::optional<plugin::runtime::TerminalSize> parse_terminal_size(std::string_view json) {
  Json size = parse_json_or_discarded(json);
  if (!size.is_object()) return std::nullopt;
  const Json& w = size["Width"];
  const Json& h = size["Height"];
  if (!w.is_number_integer() || !h.is_number_integer()) return std::nullopt;
  const auto width = w.get<std::int64_t>(), height = h.get<std::int64_t>();
  if (width <= 0 || height <= 0 || width > 0xFFFF || height > 0xFFFF) return std::nullopt;
  return plugin::runtime::TerminalSize{static_cast<std::uint16_t>(width), static_cast<std::uint16_t>(height)};
}

std::string websocket_frame(std::string_view payload, unsigned char opcode) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else if (payload.size() <= 0xFFFF) {
    f += static_cast<char>(126);
    f += static_cast<char>((payload.size() >> 8) & 0xFF);
    f += static_cast<char>(payload.size() & 0xFF);
  } else {
    f += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      f += static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xFF);
  }
  f += payload;
  return f;
}

std::unique_ptr<StreamSource> exec_websocket_source(std::shared_ptr<NodeServices> agent, PodExecRequest request) {
  auto input = std::make_shared<ExecInput>();
  if (!request.stdin) input->close_stdin();
  auto output = thread_source([agent = std::move(agent), request = std::move(request), input](const Emit& emit) {
    const bool interactive = request.stdin || request.tty;
    auto code = agent->pod_exec(
        request,
        [&](int stream, std::string_view data) {
          if (data.empty()) return;
          // With a terminal there is one output stream; kubectl discards channel 2 then.
          const int channel = stream == 2 && !request.tty ? kStderr : kStdout;
          emit(websocket_frame(std::string(1, static_cast<char>(channel)) + std::string(data)));
        },
        interactive ? input.get() : nullptr);
    Json status = {{"metadata", Json::object()}, {"status", "Success"}};
    if (!code) {
      status = {{"metadata", Json::object()}, {"status", "Failure"}, {"message", code.status().message()},
                {"reason", reason_of(code.status().code())}, {"code", http_code(code.status().code())}};
    } else if (*code != 0) {
      std::string argv;
      for (const auto& a : request.command) argv += (argv.empty() ? "" : " ") + a;
      status = {{"metadata", Json::object()},
                {"status", "Failure"},
                {"message", "command terminated with non-zero exit code: error executing command [" + argv +
                                "], exit code " + std::to_string(*code)},
                {"reason", "NonZeroExitCode"},
                {"details", {{"causes", Json::array({{{"reason", "ExitCode"}, {"message", std::to_string(*code)}}})}}}};
    }
    std::string last = websocket_frame(std::string(1, static_cast<char>(kStatus)) + status.dump());
    last += websocket_frame(std::string("\x03\xe8", 2), 0x8);  // close, 1000: normal
    emit(std::move(last));
  });
  return std::make_unique<ExecWebSocketSource>(std::move(output), std::move(input));
}

}  // namespace skiff::kernel::api
