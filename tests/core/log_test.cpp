// SPDX-License-Identifier: Apache-2.0
#include "berth/core/log.hpp"

#include <boost/json.hpp>
#include "berth_catch.hpp"

#include <vector>

using namespace berth::core;

TEST_CASE("log lines render as one JSON object with typed fields", "[log]") {
  log::Field fields[] = {{"driver", "native"}, {"count", 3}, {"ok", true}, {"quote", "a\"b\n"}};
  std::string line = log::render_json(log::Level::Info, "network backend", fields);
  CHECK(line.starts_with(R"({"level":"info","msg":"network backend","driver":"native")"));
  auto v = boost::json::parse(line).as_object();
  CHECK(v.at("count").as_int64() == 3);
  CHECK(v.at("ok").as_bool());
  CHECK(v.at("quote").as_string() == "a\"b\n");
}

TEST_CASE("the installed sink receives lines at or above its level only", "[log]") {
  std::vector<std::string> seen;
  log::install_sink([&](log::Level l, std::string_view msg, std::span<const log::Field> f) {
    seen.push_back(log::render_json(l, msg, f));
  }, log::Level::Info);
  log::debug("hidden");
  log::info("shown", {{"k", "v"}});
  log::error("also shown");
  log::reset_sink();
  log::error("dropped after reset");
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == R"({"level":"info","msg":"shown","k":"v"})");
  CHECK(log::parse_level("warn") == log::Level::Warn);
  CHECK_FALSE(log::parse_level("loud"));
}
