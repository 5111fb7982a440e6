// Label and field selectors: table-driven against Kubernetes' grammar and semantics.
#include "kernel/store/selector.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skiff::kernel {
namespace {

using Labels = plugin::StringPairs;

// ---------------------------------------------------------------------------------------------
// Label selector parsing

struct ValidLabelCase {
  std::string text;
  std::string canonical;  // to_string() of the parsed selector
};

TEST(LabelSelectorParse, ValidSelectorsAndTheirCanonicalForm) {
  const std::vector<ValidLabelCase> cases = {
      {"", ""},
      {"   ", ""},
      {"x=a", "x=a"},
      {"x==a", "x=a"},
      {" x = a ", "x=a"},
      {"x\t==\ta", "x=a"},
      {"x!=a", "x!=a"},
      {"x != a", "x!=a"},
      {"x", "x"},
      {"!x", "!x"},
      {" ! x ", "!x"},
      {"x=", "x="},
      {"x==", "x="},
      {"x!=", "x!="},
      {"x=,y=b", "x=,y=b"},
      {"x in (b,a)", "x in (a,b)"},
      {"x in(a)", "x in (a)"},
      {"x in ( a , b )", "x in (a,b)"},
      {"x in (a,a)", "x in (a)"},
      {"x in ()", "x in ()"},
      {"x in (a,)", "x in (,a)"},
      {"x in (,a)", "x in (,a)"},
      {"x in (a,,b)", "x in (,a,b)"},
      {"x notin (a)", "x notin (a)"},
      {"x notin(c,b,a)", "x notin (a,b,c)"},
      {"b=1,a=2", "a=2,b=1"},
      {"b, !a, c in (x)", "!a,b,c in (x)"},
      {"x=a,x=b", "x=a,x=b"},
      {"in=x", "in=x"},
      {"notin", "notin"},
      {"x in (in,notin)", "x in (in,notin)"},
      {"example.com/app=web", "example.com/app=web"},
      {"app.kubernetes.io/name=My_App.v-1", "app.kubernetes.io/name=My_App.v-1"},
      {"A_b.C-d=V", "A_b.C-d=V"},
      {"a1-b.c=0", "a1-b.c=0"},
      {"x=" + std::string(63, 'v'), "x=" + std::string(63, 'v')},
      {std::string(63, 'k') + "=v", std::string(63, 'k') + "=v"},
      {std::string(253, 'p') + "/n", std::string(253, 'p') + "/n"},
      {"environment in (production, qa),tier notin (frontend,backend),partition,!canary",
       "!canary,environment in (production,qa),partition,tier notin (backend,frontend)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("selector: '" + c.text + "'");
    auto s = LabelSelector::parse(c.text);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    EXPECT_EQ(s->to_string(), c.canonical);
    // The canonical form parses back to itself.
    auto again = LabelSelector::parse(s->to_string());
    ASSERT_TRUE(again.is_ok()) << again.status().message();
    EXPECT_EQ(again->to_string(), c.canonical);
  }
}

TEST(LabelSelectorParse, RequirementsCarryOperatorAndSortedValues) {
  auto s = LabelSelector::parse("z notin (q,p), !y, x, w in (b,a), v!=1, u==2");
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  using Op = LabelSelector::Op;
  const auto& r = s->requirements();
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].key, "u");
  EXPECT_EQ(r[0].op, Op::kEquals);
  EXPECT_EQ(r[0].values, std::vector<std::string>{"2"});
  EXPECT_EQ(r[1].key, "v");
  EXPECT_EQ(r[1].op, Op::kNotEquals);
  EXPECT_EQ(r[2].key, "w");
  EXPECT_EQ(r[2].op, Op::kIn);
  EXPECT_EQ(r[2].values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r[3].op, Op::kExists);
  EXPECT_TRUE(r[3].values.empty());
  EXPECT_EQ(r[4].op, Op::kDoesNotExist);
  EXPECT_EQ(r[5].op, Op::kNotIn);
  EXPECT_EQ(r[5].values, (std::vector<std::string>{"p", "q"}));
}

struct InvalidLabelCase {
  std::string text;
  std::vector<std::string> message_parts;  // each must appear in the error message
};

// A kInvalid result whose message has every one of `parts`.
template <class Selector>
void expect_invalid(const plugin::Result<Selector>& s, const std::vector<std::string>& parts) {
  ASSERT_FALSE(s.is_ok()) << "parsed as " << s->to_string();
  EXPECT_EQ(s.status().code(), plugin::Code::kInvalid);
  for (const auto& part : parts)
    EXPECT_NE(s.status().message().find(part), std::string::npos) << s.status().message() << "\nlacks: " << part;
}

TEST(LabelSelectorParse, InvalidSelectorsNamePositionAndToken) {
  const std::vector<InvalidLabelCase> cases = {
      {"x=a b", {"position 4", "found 'b'", "',' or end of string"}},
      {"x in a", {"position 5", "found 'a'", "'('"}},
      {"x in (a", {"position 7", "found end of string", "',' or ')'"}},
      {"x in (a b)", {"position 8", "found 'b'"}},
      {"x in ((a))", {"position 6", "found '('"}},
      {"x notin", {"position 7", "found end of string", "'('"}},
      {"x>1", {"position 1", "'>' is not supported"}},
      {"x < 1", {"position 2", "'<' is not supported"}},
      {"=a", {"position 0", "found '='", "!, identifier, or end of string"}},
      {"x,", {"position 2", "found end of string", "identifier after ','"}},
      {",x", {"position 0", "found ','"}},
      {"x=a,", {"position 4", "identifier after ','"}},
      {"x=a,,y", {"position 4", "found ','"}},
      {"!x=a", {"position 2", "found '='", "',' or end of string"}},
      {"!", {"position 1", "found end of string", "identifier"}},
      {"!!x", {"position 1", "found '!'", "identifier"}},
      {"x=(a)", {"position 2", "found '('", "identifier"}},
      {"x=!a", {"position 2", "found '!'"}},
      {"x == == a", {"position 5", "found '=='"}},
      {"x foo", {"position 2", "found 'foo'", "=, ==, !=, in, notin"}},
      {"x in (a), y in", {"position 14", "'('"}},
      // keys
      {"-x=a", {"position 0", "invalid label key \"-x\"", "name part"}},
      {"x-=a", {"invalid label key \"x-\""}},
      {"x y=a", {"position 2", "found 'y'"}},
      {"Example.com/x=a", {"invalid label key", "prefix part", "RFC 1123 subdomain"}},
      {"/x=a", {"prefix part must be non-empty"}},
      {"a/=x", {"name part must be non-empty"}},
      {"a/b/c=x", {"more than one '/'"}},
      {"a,b/c/d", {"position 2", "invalid label key \"b/c/d\""}},
      {std::string(64, 'k') + "=v", {"name part must be no more than 63 characters"}},
      {std::string(254, 'p') + "/n=v", {"prefix part must be no more than 253 characters"}},
      {"a*b=c", {"invalid label key \"a*b\""}},
      // values
      {"x=-a", {"position 2", "invalid label value \"-a\" for key \"x\""}},
      {"x=a-", {"invalid label value \"a-\""}},
      {"x=a/b", {"invalid label value \"a/b\""}},
      {"x=" + std::string(64, 'v'), {"position 2", "must be no more than 63 characters"}},
      {"x in (a,-b)", {"position 5", "invalid label value \"-b\""}},
      {"x notin (a, b.)", {"invalid label value \"b.\""}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("selector: '" + c.text + "'");
    expect_invalid(LabelSelector::parse(c.text), c.message_parts);
  }
}

// ---------------------------------------------------------------------------------------------
// Label selector matching

struct MatchCase {
  std::string selector;
  Labels labels;
  bool matches;
};

TEST(LabelSelectorMatch, KubernetesSemantics) {
  const std::vector<MatchCase> cases = {
      {"", {}, true},
      {"", {{"a", "b"}}, true},
      {"x=a", {{"x", "a"}}, true},
      {"x=a", {{"x", "b"}}, false},
      {"x=a", {}, false},
      {"x==a", {{"w", "z"}, {"x", "a"}}, true},
      {"x!=a", {}, true},  // absent key matches !=
      {"x!=a", {{"x", "a"}}, false},
      {"x!=a", {{"x", "b"}}, true},
      {"x in (a,b)", {{"x", "b"}}, true},
      {"x in (a,b)", {{"x", "c"}}, false},
      {"x in (a,b)", {}, false},
      {"x notin (a,b)", {}, true},  // absent key matches notin
      {"x notin (a,b)", {{"x", "c"}}, true},
      {"x notin (a,b)", {{"x", "a"}}, false},
      {"x", {{"x", ""}}, true},
      {"x", {{"y", "x"}}, false},
      {"!x", {}, true},
      {"!x", {{"x", ""}}, false},
      {"x=", {{"x", ""}}, true},
      {"x=", {}, false},
      {"x!=", {}, true},
      {"x!=", {{"x", ""}}, false},
      {"x in ()", {{"x", ""}}, true},
      {"x in ()", {{"x", "a"}}, false},
      {"x in (a,)", {{"x", ""}}, true},
      {"x=a,y!=b", {{"x", "a"}}, true},
      {"x=a,y!=b", {{"x", "a"}, {"y", "b"}}, false},
      {"x=a,y!=b", {{"x", "a"}, {"y", "c"}}, true},
      {"x=a,x=b", {{"x", "a"}}, false},
      {"x,!y", {{"x", "1"}}, true},
      {"x,!y", {{"x", "1"}, {"y", "2"}}, false},
      {"example.com/app in (web)", {{"example.com/app", "web"}}, true},
      {"App=web", {{"app", "web"}}, false},  // keys are case-sensitive
      {"app=Web", {{"app", "web"}}, false},  // and so are values
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("selector: '" + c.selector + "'");
    auto s = LabelSelector::parse(c.selector);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    EXPECT_EQ(s->matches(c.labels), c.matches);
  }
}

TEST(LabelSelectorMatch, EmptySelectorIsEmpty) {
  auto s = LabelSelector::parse("");
  ASSERT_TRUE(s.is_ok());
  EXPECT_TRUE(s->empty());
  auto t = LabelSelector::parse("a");
  ASSERT_TRUE(t.is_ok());
  EXPECT_FALSE(t->empty());
}

// ---------------------------------------------------------------------------------------------
// metav1.LabelSelector JSON

struct JsonCase {
  std::string json;
  std::string canonical;
};

TEST(LabelSelectorFromJson, ValidSelectors) {
  const std::vector<JsonCase> cases = {
      {"null", ""},
      {"{}", ""},
      {R"({"matchLabels":{}})", ""},
      {R"({"matchLabels":null,"matchExpressions":null})", ""},
      {R"({"matchLabels":{"app":"web"}})", "app=web"},
      {R"({"matchLabels":{"tier":"fe","app":"web"}})", "app=web,tier=fe"},
      {R"({"matchLabels":{"app":""}})", "app="},
      {R"({"matchExpressions":[{"key":"x","operator":"In","values":["b","a"]}]})", "x in (a,b)"},
      {R"({"matchExpressions":[{"key":"x","operator":"NotIn","values":["a"]}]})", "x notin (a)"},
      {R"({"matchExpressions":[{"key":"x","operator":"Exists"}]})", "x"},
      {R"({"matchExpressions":[{"key":"x","operator":"Exists","values":[]}]})", "x"},
      {R"({"matchExpressions":[{"key":"x","operator":"DoesNotExist"}]})", "!x"},
      {R"({"matchLabels":{"z":"1"},"matchExpressions":[{"key":"a","operator":"Exists"}]})", "a,z=1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("json: " + c.json);
    auto s = LabelSelector::from_json(nlohmann::json::parse(c.json));
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    EXPECT_EQ(s->to_string(), c.canonical);
  }
}

TEST(LabelSelectorFromJson, InvalidSelectorsNameTheField) {
  const std::vector<InvalidLabelCase> cases = {
      {"[]", {"expected an object"}},
      {R"({"matchLabels":[]})", {"matchLabels", "expected an object"}},
      {R"({"matchLabels":{"app":1}})", {"matchLabels.app", "expected a string"}},
      {R"({"matchLabels":{"-app":"x"}})", {"matchLabels", "invalid label key \"-app\""}},
      {R"({"matchLabels":{"app":"-x"}})", {"invalid label value \"-x\""}},
      {R"({"matchExpressions":{}})", {"matchExpressions", "expected an array"}},
      {R"({"matchExpressions":[1]})", {"matchExpressions[0]", "expected an object"}},
      {R"({"matchExpressions":[{"operator":"Exists"}]})", {"matchExpressions[0].key"}},
      {R"({"matchExpressions":[{"key":"x","operator":"Exists"},{"key":"y","operator":"Exists","values":["a"]}]})",
       {"matchExpressions[1]", "values set must be empty"}},
      {R"({"matchExpressions":[{"key":"x","operator":"DoesNotExist","values":["a"]}]})", {"values set must be empty"}},
      {R"({"matchExpressions":[{"key":"x","operator":"In"}]})", {"values set can't be empty"}},
      {R"({"matchExpressions":[{"key":"x","operator":"NotIn","values":[]}]})", {"values set can't be empty"}},
      {R"({"matchExpressions":[{"key":"x","operator":"Gt","values":["1"]}]})",
       {"\"Gt\" is not a valid label selector operator"}},
      {R"({"matchExpressions":[{"key":"x","operator":"in","values":["a"]}]})", {"\"in\" is not a valid"}},
      {R"({"matchExpressions":[{"key":"x","values":["a"]}]})", {"\"\" is not a valid"}},
      {R"({"matchExpressions":[{"key":"x","operator":"In","values":"a"}]})", {"values: expected an array"}},
      {R"({"matchExpressions":[{"key":"x","operator":"In","values":[1]}]})", {"values: expected an array of strings"}},
      {R"({"matchExpressions":[{"key":"a/b/c","operator":"Exists"}]})", {"invalid label key \"a/b/c\""}},
      {R"({"matchExpressions":[{"key":"x","operator":"In","values":["ok","not ok"]}]})",
       {"invalid label value \"not ok\""}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("json: " + c.text);
    expect_invalid(LabelSelector::from_json(nlohmann::json::parse(c.text)), c.message_parts);
  }
}

TEST(LabelSelectorFromJson, MatchesLikeTheEquivalentText) {
  auto s = LabelSelector::from_json(nlohmann::json::parse(
      R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["db"]},
          {"key":"canary","operator":"DoesNotExist"}]})"));
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_TRUE(s->matches({{"app", "web"}}));
  EXPECT_TRUE(s->matches({{"app", "web"}, {"tier", "fe"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "db"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"canary", "true"}}));
  EXPECT_FALSE(s->matches({{"tier", "fe"}}));
}

// ---------------------------------------------------------------------------------------------
// Field selectors

struct ValidFieldCase {
  std::string text;
  std::string canonical;
};

TEST(FieldSelectorParse, ValidSelectorsAndTheirCanonicalForm) {
  const std::vector<ValidFieldCase> cases = {
      {"", ""},
      {",", ""},
      {"spec.nodeName=n1", "spec.nodeName=n1"},
      {"spec.nodeName==n1", "spec.nodeName=n1"},
      {"status.phase!=Running", "status.phase!=Running"},
      {" status.phase != Running ", "status.phase!=Running"},
      {"metadata.name=web,metadata.namespace!=kube-system", "metadata.name=web,metadata.namespace!=kube-system"},
      {"b=2,a=1", "a=1,b=2"},
      {",a=1,,b=2,", "a=1,b=2"},
      {"spec.nodeName=", "spec.nodeName="},
      {"spec.nodeName!=", "spec.nodeName!="},
      {R"(a=b\,c)", R"(a=b\,c)"},
      {R"(a=b\=c)", R"(a=b\=c)"},
      {R"(a=b\!c)", R"(a=b\!c)"},
      {R"(a=b!c)", R"(a=b\!c)"},  // a bare '!' in a value is allowed, and escaped when printed
      {R"(a=b\\c)", R"(a=b\\c)"},
      {R"(a=\,,b=\\)", R"(a=\,,b=\\)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("selector: '" + c.text + "'");
    auto s = FieldSelector::parse(c.text);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    EXPECT_EQ(s->to_string(), c.canonical);
    auto again = FieldSelector::parse(s->to_string());
    ASSERT_TRUE(again.is_ok()) << again.status().message();
    EXPECT_EQ(again->to_string(), c.canonical);
  }
}

TEST(FieldSelectorParse, EscapedValuesAreUnescaped) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(f=a\,b)", "a,b"}, {R"(f=a\=b)", "a=b"},   {R"(f=a\!b)", "a!b"},
      {R"(f=a\\b)", R"(a\b)"}, {R"(f!=\\\,)", R"(\,)"}, {"f=a!b", "a!b"},
  };
  for (const auto& [text, value] : cases) {
    SCOPED_TRACE("selector: '" + text + "'");
    auto s = FieldSelector::parse(text);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    ASSERT_EQ(s->requirements().size(), 1u);
    EXPECT_EQ(s->requirements()[0].field, "f");
    EXPECT_EQ(s->requirements()[0].value, value);
  }
  auto ne = FieldSelector::parse("f!=x");
  ASSERT_TRUE(ne.is_ok());
  EXPECT_FALSE(ne->requirements()[0].equals);
}

TEST(FieldSelectorParse, InvalidSelectorsNamePositionAndToken) {
  const std::vector<InvalidLabelCase> cases = {
      {"a", {"position 0", "can't understand 'a'"}},
      {"a=1,b", {"position 4", "can't understand 'b'"}},
      {"a=b=c", {"position 3", "unescaped '='"}},
      {"a===b", {"position 3", "unescaped '='"}},
      {R"(a=b\)", {"position 3", "invalid escape sequence"}},
      {R"(a=b\x)", {"position 3", "invalid escape sequence '\\x'"}},
      {"=b", {"position 0", "missing field name"}},
      {"x=1, !=b", {"position 4", "missing field name"}},
      {"a<b", {"can't understand"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("selector: '" + c.text + "'");
    expect_invalid(FieldSelector::parse(c.text), c.message_parts);
  }
}

struct FieldMatchCase {
  std::string selector;
  bool matches;
};

TEST(FieldSelectorMatch, NameNamespaceAndSelectableFields) {
  plugin::Object pod;
  pod.ns = "default";
  pod.name = "web-0";
  pod.fields = {{"spec.nodeName", "node-1"}, {"status.phase", "Running"}, {"spec.odd", "a,b=c"}};
  const std::vector<FieldMatchCase> cases = {
      {"", true},
      {"metadata.name=web-0", true},
      {"metadata.name=web-1", false},
      {"metadata.namespace=default", true},
      {"metadata.namespace!=default", false},
      {"spec.nodeName=node-1", true},
      {"spec.nodeName!=node-1", false},
      {"spec.nodeName=node-1,status.phase!=Pending", true},
      {"spec.nodeName=node-1,status.phase=Pending", false},
      {"spec.schedulerName=", true},  // a field the object lacks compares as ""
      {"spec.schedulerName!=", false},
      {"spec.schedulerName=default", false},
      {R"(spec.odd=a\,b\=c)", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("selector: '" + c.selector + "'");
    auto s = FieldSelector::parse(c.selector);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    EXPECT_EQ(s->matches(pod), c.matches);
  }
}

}  // namespace
}  // namespace skiff::kernel
