// What every proxy mode relies on from proxy/common: stable short names, which endpoints take new
// connections, how protocols and addresses are spelled, and running a tool with a script on stdin
// (real processes: /bin/cat, /bin/sh).
#include <gtest/gtest.h>

#include <set>

#include "command.hpp"
#include "proxy_common.hpp"

namespace skiff::plugins::proxy {
namespace {

using plugin::proxy::Endpoint;
using plugin::proxy::Protocol;
using plugin::proxy::ServicePort;

TEST(ProxyCommon, ShortHashIsStableSixteenBase32CharactersAndSpreads) {
  const std::string name = short_hash("default/web:80/tcp");
  EXPECT_EQ(name, short_hash("default/web:80/tcp")) << "a chain must keep its name across resyncs";
  ASSERT_EQ(name.size(), 16u);
  for (char c : name) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << name;
  std::set<std::string> names;
  for (int i = 0; i < 10000; ++i) names.insert(short_hash("default/svc-" + std::to_string(i) + ":80/tcp"));
  EXPECT_EQ(names.size(), 10000u) << "10,000 service ports must get 10,000 names";
}

TEST(ProxyCommon, OnlyReadyEndpointsTakeNewConnectionsInTheirOrder) {
  ServicePort sp;
  sp.endpoints = {{"10.0.0.1", 80, true}, {"10.0.0.2", 80, false}, {"10.0.0.3", 8080, true}};
  auto ready = ready_endpoints(sp);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(endpoint_address(*ready[0]), "10.0.0.1:80");
  EXPECT_EQ(endpoint_address(*ready[1]), "10.0.0.3:8080");
  EXPECT_EQ(lower_protocol(Protocol::kTcp), "tcp");
  EXPECT_EQ(lower_protocol(Protocol::kUdp), "udp");
  EXPECT_EQ(lower_protocol(Protocol::kSctp), "sctp");
}

TEST(ProxyCommon, CommandsGetTheirScriptOnStdinAndFailuresNameTheCommandAndItsWords) {
  // A script larger than a pipe's buffer goes through whole.
  std::string script(200 * 1024, 'x');
  auto echoed = run_checked({"cat"}, script);
  ASSERT_TRUE(echoed) << echoed.status().message();
  EXPECT_EQ(echoed->out, script);

  auto failed = run_checked({"sh", "-c", "echo 'line 3: no such chain' >&2; exit 4"});
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.status().message().find("sh -c"), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find("exited with 4: line 3: no such chain"), std::string::npos)
      << failed.status().message();
  // run_command reports the exit instead of failing.
  auto plain = run_command({"sh", "-c", "exit 3"});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->exit_code, 3);

  auto missing = run_command({"skiff-no-such-tool"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("skiff-no-such-tool"), std::string::npos);
  EXPECT_FALSE(have_program("skiff-no-such-tool"));
  EXPECT_TRUE(have_program("sh"));

  // A command over its time is stopped; run_checked says so rather than showing an exit code.
  auto slow = run_command({"sleep", "5"}, {}, std::chrono::milliseconds(200));
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->exit_code, -1);
  EXPECT_TRUE(slow->timed_out);
  EXPECT_FALSE(plain->timed_out);
  auto stopped = run_checked({"sleep", "5"}, {}, std::chrono::milliseconds(1000));
  ASSERT_FALSE(stopped);
  EXPECT_NE(stopped.status().message().find("sleep 5 did not finish within 1 s and was stopped"), std::string::npos)
      << stopped.status().message();
}

}  // namespace
}  // namespace skiff::plugins::proxy
