// The API side of pods/exec's WebSocket (kernel/api/exec_stream.cpp): the client's masked frames
// parsed as they arrive (split anywhere, fragmented, several at once), stdin and terminal sizes
// handed to the exec, pings answered, the end of stdin, and the output and status frames. The node
// agent here is a small in-test NodeServices that echoes stdin: the real agent, runtime and kubectl
// are in tests/agent/agent_e2e_test.cpp, tests/remote_agent and tests/runtime/runc_e2e_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "kernel/api/exec_stream.hpp"

namespace skiff::kernel::api {
namespace {

// Echoes stdin to stdout until stdin ends; reports the sizes it saw as "<W>x<H>" on stderr.
class EchoAgent final : public NodeServices {
 public:
  plugin::Result<std::unique_ptr<StreamSource>> pod_log(const PodLogRequest&) override {
    return plugin::Status(plugin::Code::kNotFound, "no logs here");
  }
  plugin::Result<std::int32_t> pod_exec(const PodExecRequest& request, const ExecOutput& output, ExecInput* input) override {
    if (input == nullptr) return 9;
    std::string chunk;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (plugin::runtime::TerminalSize size; input->take_resize(size))
        output(2, std::to_string(size.width) + "x" + std::to_string(size.height));
      if (!input->read_stdin(chunk, std::chrono::milliseconds(20))) break;
      if (!chunk.empty()) output(1, chunk);
    }
    return request.command.front() == "fail" ? 5 : 0;
  }
};

// A client frame as kubectl sends it: masked, FIN unless `more` follows.
std::string client_frame(std::string_view payload, unsigned char opcode = 0x2, bool fin = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
  const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xFF);
  }
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

std::string channel(int c, std::string_view data) { return std::string(1, static_cast<char>(c)) + std::string(data); }

// The server's frames (unmasked) back into (opcode, payload) pairs.
std::vector<std::pair<int, std::string>> server_frames(std::string_view bytes) {
  std::vector<std::pair<int, std::string>> out;
  while (bytes.size() >= 2) {
    int opcode = static_cast<unsigned char>(bytes[0]) & 0x0F;
    std::uint64_t n = static_cast<unsigned char>(bytes[1]) & 0x7F;
    std::size_t head = 2;
    if (n == 126) {
      n = (static_cast<unsigned char>(bytes[2]) << 8) | static_cast<unsigned char>(bytes[3]);
      head = 4;
    } else if (n == 127) {
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | static_cast<unsigned char>(bytes[2 + i]);
      head = 10;
    }
    out.emplace_back(opcode, std::string(bytes.substr(head, n)));
    bytes.remove_prefix(head + n);
  }
  return out;
}

// Polls the source until it is done (bounded), collecting what it sends.
std::string drain(StreamSource& source) {
  std::string all;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!source.done() && std::chrono::steady_clock::now() < deadline) {
    all += source.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return all + source.poll();
}

PodExecRequest request(bool stdin, bool tty, std::string command = "cat") {
  PodExecRequest r;
  r.ns = "default";
  r.pod = "p";
  r.container = "c";
  r.command = {std::move(command)};
  r.stdin = stdin;
  r.tty = tty;
  return r;
}

TEST(ExecWebSocket, StdinSplitAnywhereAndFragmentedReachesTheExecInOrder) {
  auto source = exec_websocket_source(std::make_shared<EchoAgent>(), request(true, false));
  std::string big(70'000, 'z');  // a 64-bit length
  std::string bytes = client_frame(channel(0, "hello ")) +
                      client_frame(channel(0, "frag"), 0x2, false) + client_frame("mented ", 0x0, false) +
                      client_frame("message ", 0x0, true) + client_frame(channel(0, big)) +
                      client_frame(channel(255, std::string(1, '\0')));  // v5: close stdin
  // One byte at a time: every split point of every header.
  for (char c : bytes) source->input(std::string_view(&c, 1));
  auto frames = server_frames(drain(*source));
  std::string out;
  for (const auto& [opcode, payload] : frames)
    if (opcode == 0x2 && !payload.empty() && payload[0] == 1) out += payload.substr(1);
  EXPECT_EQ(out, "hello fragmented message " + big);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[frames.size() - 2].second, channel(3, R"({"metadata":{},"status":"Success"})"));
  EXPECT_EQ(frames.back().first, 0x8);
}

TEST(ExecWebSocket, ResizesReachATerminalExecAndPingsAreAnswered) {
  auto source = exec_websocket_source(std::make_shared<EchoAgent>(), request(true, true, "fail"));
  source->input(client_frame(channel(4, R"({"Width":120,"Height":40})")) + client_frame("are you there", 0x9));
  std::string sent;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sent.find("120x40") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    sent += source->poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // A bad size is ignored, not passed on.
  source->input(client_frame(channel(4, R"({"Width":-3,"Height":"x"})")) + client_frame(channel(0, "typed")));
  source->input(client_frame(std::string("\x03\xe8", 2), 0x8));  // a close frame ends stdin too
  sent += drain(*source);
  auto frames = server_frames(sent);
  std::vector<std::string> data;
  bool pong = false;
  for (const auto& [opcode, payload] : frames) {
    if (opcode == 0xA) pong = payload == "are you there";
    if (opcode == 0x2) data.push_back(payload);
  }
  EXPECT_TRUE(pong);
  // With a terminal, what the exec writes to stderr goes out on channel 1 (kubectl drops channel 2).
  ASSERT_EQ(data.size(), 3u) << sent;
  EXPECT_EQ(data[0], channel(1, "120x40"));
  EXPECT_EQ(data[1], channel(1, "typed"));
  EXPECT_NE(data[2].find(R"("reason":"NonZeroExitCode")"), std::string::npos) << data[2];
}

TEST(ExecWebSocket, WithoutStdinTheExecGetsNoInputAndTheClientGoingAwayEndsStdin) {
  auto no_stdin = exec_websocket_source(std::make_shared<EchoAgent>(), request(false, false, "fail"));
  no_stdin->input(client_frame(channel(0, "ignored")));
  auto frames = server_frames(drain(*no_stdin));
  ASSERT_FALSE(frames.empty());
  EXPECT_NE(frames[0].second.find("exit code 9"), std::string::npos) << frames[0].second;

  auto interactive = exec_websocket_source(std::make_shared<EchoAgent>(), request(true, false));
  interactive->input(client_frame(channel(0, "partial")) + client_frame(channel(0, "never complete")).substr(0, 5));
  interactive->stop();  // the connection went away mid-frame
  std::string out;
  for (const auto& [opcode, payload] : server_frames(drain(*interactive)))
    if (opcode == 0x2 && payload[0] == 1) out += payload.substr(1);
  EXPECT_EQ(out, "partial");
  EXPECT_TRUE(interactive->done());
}

TEST(ExecWebSocket, AnOversizedClientMessageEndsStdinAndNothingOfItIsDelivered) {
  auto source = exec_websocket_source(std::make_shared<EchoAgent>(), request(true, false));
  std::string head = client_frame(channel(0, "ok"));
  // A header announcing 1 TiB.
  std::string huge = {static_cast<char>(0x82), static_cast<char>(0x80 | 127), 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  source->input(head + huge + "some of it");
  std::string out;
  for (const auto& [opcode, payload] : server_frames(drain(*source)))
    if (opcode == 0x2 && payload[0] == 1) out += payload.substr(1);
  EXPECT_EQ(out, "ok");
}

}  // namespace
}  // namespace skiff::kernel::api
