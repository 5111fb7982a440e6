// kernel/util/json_parse: the DOM it builds must be the one nlohmann::json::parse builds, value types
// included (dumps and `is_number_unsigned` checks depend on them), and invalid text must fail as
// nlohmann fails, with nlohmann's message.
#include "kernel/util/json_parse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace skiff::kernel {
namespace {

using Json = nlohmann::json;

// Equal values and equal types at every level (nlohmann's == says 1u == 1 and 1 == 1.0).
void expect_same_dom(const Json& expected, const Json& actual, const std::string& path = "$") {
  ASSERT_EQ(expected.type(), actual.type()) << "at " << path;
  if (expected.is_object()) {
    ASSERT_EQ(expected.size(), actual.size()) << "at " << path;
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      ASSERT_TRUE(actual.contains(it.key())) << "at " << path << "." << it.key();
      expect_same_dom(it.value(), actual.at(it.key()), path + "." + it.key());
    }
  } else if (expected.is_array()) {
    ASSERT_EQ(expected.size(), actual.size()) << "at " << path;
    for (std::size_t i = 0; i < expected.size(); ++i)
      expect_same_dom(expected[i], actual[i], path + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(expected, actual) << "at " << path;
  }
}

TEST(JsonParse, BuildsTheDomNlohmannBuildsTypesIncluded) {
  const std::vector<std::string> texts = {
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0","labels":{"app":"web"},)"
      R"("managedFields":[{"fieldsV1":{"f:spec":{"k:{\"name\":\"web\"}":{".":{}}}}}]},)"
      R"("spec":{"containers":[{"name":"web","ports":[{"containerPort":8080}]}],)"
      R"("terminationGracePeriodSeconds":30,"priority":-5,"enableServiceLinks":true,"nodeName":null}})",
      R"([0, -1, 1, 18446744073709551615, -9223372036854775808, 9223372036854775807, 1.5, -2.25e-3, 1e2, 0.0])",
      R"("caf\u00e9 \ud83d\ude00 \"quoted\" \\ \/ \b\f\n\r\t")",
      R"({"a":1,"a":2,"b":{"a":[]}})",  // a repeated key keeps its last value, as in nlohmann
      "  \n\t{ \"spaced\" : [ ] }  \n",
      "true",
      "null",
      "42",
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    Json expected = Json::parse(text);
    expect_same_dom(expected, parse_json(text));
    expect_same_dom(expected, parse_json_or_discarded(text));
    EXPECT_EQ(expected.dump(), parse_json(text).dump());
  }
  EXPECT_TRUE(parse_json("7").is_number_unsigned());
  EXPECT_TRUE(parse_json("-7").is_number_integer());
  EXPECT_FALSE(parse_json("-7").is_number_unsigned());
}

TEST(JsonParse, EdgeCasesSimdjsonReadsDifferentlyGoThroughNlohmann) {
  const std::vector<std::string> texts = {
      "[-0.0, 0.0, -1.5e-300]",                         // -0.0 stays a negative double
      "123456789012345678901234567890",                 // beyond 64 bits: nlohmann makes it a double
      "\xEF\xBB\xBF{\"bom\":true}",                     // a byte-order mark nlohmann skips
      std::string(1100, '[') + std::string(1100, ']'),  // deeper than simdjson's 1,024 levels
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text.substr(0, 40));
    Json expected = Json::parse(text);
    expect_same_dom(expected, parse_json(text));
    EXPECT_EQ(expected.dump(), parse_json(text).dump());
  }
  // The one documented difference: the integer -0 is an unsigned 0 (nlohmann: signed), same dump, equal.
  EXPECT_EQ(parse_json("-0"), Json::parse("-0"));
  EXPECT_EQ(parse_json("-0").dump(), "0");
}

TEST(JsonParse, InvalidTextFailsWithNlohmannsMessageAndPosition) {
  for (const std::string text : {"{\"a\":", "{\"a\":1} trailing", "", "[1,]", "{\"bad\xff\":1}", "\"\\ud800\""}) {
    SCOPED_TRACE(text);
    std::string expected;
    try {
      Json accepted = Json::parse(text);
      (void)accepted;
      FAIL() << "nlohmann accepted it";
    } catch (const Json::parse_error& e) {
      expected = e.what();
    }
    try {
      Json accepted = parse_json(text);
      (void)accepted;
      ADD_FAILURE() << "parse_json accepted it";
    } catch (const Json::parse_error& e) {
      EXPECT_EQ(expected, e.what());
    }
    EXPECT_TRUE(parse_json_or_discarded(text).is_discarded());
    EXPECT_TRUE(parse_json_member(text, "a").is_discarded());
  }
}

TEST(JsonParse, OneMemberIsBuiltAloneNullWhenAbsentDiscardedWhenNotAnObject) {
  const std::string pod = R"({"metadata":{"name":"p"},"spec":{"nodeName":"n1","priority":3},"status":{}})";
  expect_same_dom(Json::parse(pod)["spec"], parse_json_member(pod, "spec"));
  EXPECT_TRUE(parse_json_member(pod, "missing").is_null());
  EXPECT_TRUE(parse_json_member("[1,2]", "spec").is_discarded());
  EXPECT_TRUE(parse_json_member("\"spec\"", "spec").is_discarded());
  // A repeated member: the last one, as nlohmann keeps.
  EXPECT_EQ(parse_json_member(R"({"spec":1,"spec":{"x":2}})", "spec"), Json::parse(R"({"x":2})"));
  // An edge case inside the member goes through nlohmann too.
  EXPECT_TRUE(parse_json_member(R"({"spec":{"big":123456789012345678901234567890}})", "spec")["big"].is_number_float());
}

TEST(JsonParse, LargeDocumentsParseAsSmallOnes) {
  // Above the size a thread's parser keeps buffers for: parsed by a parser of its own.
  Json big = Json::object();
  for (int i = 0; i < 20000; ++i) big["key-" + std::to_string(i)] = {{"i", i}, {"s", std::string(20, 'x')}};
  std::string text = big.dump();
  ASSERT_GT(text.size(), 256u * 1024);
  expect_same_dom(Json::parse(text), parse_json(text));
  // And the thread's parser still works for small ones afterwards.
  EXPECT_EQ(parse_json(R"({"small":true})")["small"], true);
}

}  // namespace
}  // namespace skiff::kernel
