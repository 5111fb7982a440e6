// pods/exec over a WebSocket, the way kubectl speaks it (v5.channel.k8s.io, or v4): the API handler
// answers the upgrade with 101 and one of these as the stream. Each WebSocket message starts with
// its channel: 0 stdin, 1 stdout, 2 stderr, 3 the exec's status (a Kubernetes Status), 4 a terminal
// size ({"Width":W,"Height":H}), and in v5 255 closing the channel its next byte names.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kernel/api/http.hpp"
#include "kernel/api/node_services.hpp"

namespace skiff::kernel::api {

// RFC 6455: the server's answer to the client's Sec-WebSocket-Key.
std::string websocket_accept(const std::string& key);

// A terminal size message, {"Width":W,"Height":H} (kubectl's channel 4, the agent protocol's
// channel 5); nullopt unless both are in 1..65535.
std::optional<plugin::runtime::TerminalSize> parse_terminal_size(std::string_view json);

// One unmasked server frame (binary, or `opcode`: 0x8 close, 0xA pong).
std::string websocket_frame(std::string_view payload, unsigned char opcode = 0x2);

// The exec runs on a thread of its own (NodeServices::pod_exec blocks); its output becomes channel
// messages (1, 2), then the status (3) and a close frame. What the client sends (masked frames) is
// parsed as it arrives: stdin and terminal sizes reach the exec through its ExecInput; a close of
// stdin, a close frame or the connection going away ends stdin; pings are answered.
std::unique_ptr<StreamSource> exec_websocket_source(std::shared_ptr<NodeServices> agent, PodExecRequest request);

}  // namespace skiff::kernel::api
