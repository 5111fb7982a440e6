#include "kernel/api/quantity.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace skiff::kernel::api {
namespace {

std::int64_t milli(std::string_view text) {
  auto q = parse_quantity(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q ? q->milli_value() : -1;
}

TEST(Quantity, ParsesCpuForms) {
  EXPECT_EQ(milli("100m"), 100);
  EXPECT_EQ(milli("0.5"), 500);
  EXPECT_EQ(milli("1"), 1000);
  EXPECT_EQ(milli("2.25"), 2250);
  EXPECT_EQ(milli(".5"), 500);
  EXPECT_EQ(milli("+1"), 1000);
  EXPECT_EQ(milli("0"), 0);
  EXPECT_EQ(milli("1e3"), 1000000);
  EXPECT_EQ(milli("1E-3"), 1);
  EXPECT_EQ(milli("250u"), 1);  // rounded up to the next thousandth
  EXPECT_EQ(milli("-100m"), -100);
}

TEST(Quantity, ParsesMemoryForms) {
  EXPECT_EQ(parse_quantity("128Mi")->value(), 128LL * 1024 * 1024);
  EXPECT_EQ(parse_quantity("1G")->value(), 1000000000LL);
  EXPECT_EQ(parse_quantity("1Gi")->value(), 1073741824LL);
  EXPECT_EQ(parse_quantity("1.5Gi")->value(), 1610612736LL);
  EXPECT_EQ(parse_quantity("64k")->value(), 64000);
  EXPECT_EQ(parse_quantity("2Ei")->value(), 2LL * 1152921504606846976LL);
  EXPECT_EQ(parse_quantity("1n")->value(), 1);  // Value() rounds up
}

TEST(Quantity, RejectsBadSyntaxWithKubernetesMessages) {
  std::string err;
  EXPECT_FALSE(Quantity::parse("", &err));
  EXPECT_EQ(err, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  EXPECT_FALSE(Quantity::parse("abc", &err));
  EXPECT_FALSE(Quantity::parse("1.5.3", &err));
  EXPECT_FALSE(Quantity::parse("100 m", &err));
  EXPECT_FALSE(Quantity::parse("1K", &err));
  EXPECT_EQ(err, "unable to parse quantity's suffix");
  EXPECT_FALSE(Quantity::parse("1Mb", &err));
  EXPECT_FALSE(Quantity::parse("5iB", &err));
}

TEST(Quantity, ComparesAcrossFormats) {
  EXPECT_EQ(parse_quantity("1000m")->compare(*parse_quantity("1")), 0);
  EXPECT_LT(parse_quantity("999m")->compare(*parse_quantity("1")), 0);
  EXPECT_GT(parse_quantity("1Ki")->compare(*parse_quantity("1k")), 0);
  EXPECT_EQ(*parse_quantity("1e3"), *parse_quantity("1k"));
  Quantity sum = *parse_quantity("250m") + *parse_quantity("0.75");
  EXPECT_EQ(sum.milli_value(), 1000);
}

TEST(Quantity, PrintsCanonicalText) {
  EXPECT_EQ(parse_quantity("0.5")->to_string(), "500m");
  EXPECT_EQ(parse_quantity("1000m")->to_string(), "1");
  EXPECT_EQ(parse_quantity("1500m")->to_string(), "1500m");
  EXPECT_EQ(parse_quantity("100000")->to_string(), "100k");
  EXPECT_EQ(parse_quantity("1024Mi")->to_string(), "1Gi");
  EXPECT_EQ(parse_quantity("1.5Gi")->to_string(), "1536Mi");
  EXPECT_EQ(parse_quantity("1536")->to_string(), "1536");
  EXPECT_EQ(parse_quantity("512Ki")->to_string(), "512Ki");
  EXPECT_EQ(parse_quantity("1e3")->to_string(), "1e3");
  EXPECT_EQ(parse_quantity("0")->to_string(), "0");
  EXPECT_EQ(parse_quantity("-2")->to_string(), "-2");
}

TEST(Quantity, AcceptsJsonNumbers) {
  EXPECT_EQ(Quantity::from_json(nlohmann::json(2))->milli_value(), 2000);
  EXPECT_EQ(Quantity::from_json(nlohmann::json(0.25))->milli_value(), 250);
  EXPECT_FALSE(Quantity::from_json(nlohmann::json::object()));
  EXPECT_FALSE(Quantity::from_json(nlohmann::json(true)));
}

TEST(Quantity, ConstructsFromMilliAndValue) {
  EXPECT_EQ(Quantity::from_milli(1500).to_string(), "1500m");
  EXPECT_EQ(Quantity::from_value(2, Quantity::Format::kBinarySI).milli_value(), 2000);
  EXPECT_EQ(Quantity::from_value(2048, Quantity::Format::kBinarySI).to_string(), "2Ki");
}

}  // namespace
}  // namespace skiff::kernel::api
