// SPDX-License-Identifier: Apache-2.0
#include "berth/core/store.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <sys/stat.h>

using namespace berth::core;

TEST_CASE("a record store keeps named records, atomically replaced", "[store]") {
  berth::test::TempDir tmp;
  const RecordStore store(tmp.path / "records" / "networks");
  CHECK(store.list().value().empty());  // nothing there yet: no records, no error
  CHECK_FALSE(store.get("web.json").value());

  REQUIRE(store.put("web.json", "{\"a\":1}"));
  REQUIRE(store.put("db.json", "{\"b\":2}"));
  REQUIRE(store.put("notes.txt", "x"));
  CHECK(store.get("web.json").value().value() == "{\"a\":1}");
  REQUIRE(store.put("web.json", "{\"a\":2}"));
  CHECK(store.get("web.json").value().value() == "{\"a\":2}");
  CHECK(store.list(".json").value() == std::vector<std::string>{"db.json", "web.json"});
  CHECK(store.list().value().size() == 3);

  struct stat st {};
  REQUIRE(::stat(store.path_of("web.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(store.dir().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  REQUIRE(store.remove("web.json"));
  REQUIRE(store.remove("web.json"));  // gone already: fine
  CHECK(store.list(".json").value() == std::vector<std::string>{"db.json"});
}

TEST_CASE("a record store refuses names that are paths and hides unfinished writes", "[store]") {
  berth::test::TempDir tmp;
  const RecordStore store(tmp.path, {.directory = 0755, .record = 0644});
  for (std::string_view bad : {"", "../x", "a/b", ".hidden", "web.json.tmp.1.2"}) {
    INFO(bad);
    CHECK_FALSE(store.put(bad, "x"));
    CHECK_FALSE(store.get(bad));
  }
  // What a writer that died between write and rename leaves behind.
  REQUIRE(write_file_atomic(tmp.path / "web.json.tmp.99.abc", "half"));
  REQUIRE(store.put("web.json", "whole"));
  CHECK(store.list().value() == std::vector<std::string>{"web.json"});
  store.remove_leftovers("web");  // not this record's: kept
  CHECK(std::filesystem::exists(tmp.path / "web.json.tmp.99.abc"));
  store.remove_leftovers("web.json");
  CHECK_FALSE(std::filesystem::exists(tmp.path / "web.json.tmp.99.abc"));
  CHECK(store.get("web.json").value().value() == "whole");
}

TEST_CASE("a record store's lock is exclusive between holders", "[store]") {
  berth::test::TempDir tmp;
  const RecordStore store(tmp.path / "inventory");
  auto held = store.lock(".lock");
  REQUIRE(held);
  auto again = FileLock::try_acquire(store.path_of(".lock"));
  REQUIRE_FALSE(again);
  CHECK(again.error().is(Errc::conflict));
  CHECK_FALSE(store.lock("../escape"));
}

TEST_CASE("a journal appends whole lines, durably, and cuts off a torn one", "[store]") {
  berth::test::TempDir tmp;
  const Journal journal(tmp.path / "net.journal");
  CHECK_FALSE(journal.read_from(0).value());  // no journal yet

  auto stamp = journal.reset("{\"generation\":1}\n");
  REQUIRE(stamp);
  CHECK(stamp->size == 17);
  REQUIRE(journal.append(stamp->size, "{\"add\":\"10.0.0.2\"}\n"));
  auto tail = journal.read_from(stamp->size).value().value();
  CHECK(tail.text == "{\"add\":\"10.0.0.2\"}\n");
  CHECK(tail.inode == stamp->inode);

  // A writer died halfway through a line; the next append replaces it.
  const off_t whole = stamp->size + 19;
  REQUIRE(journal.append(whole, "{\"add\":\"10.0"));
  REQUIRE(journal.append(whole, "{\"release\":\"c1\"}\n"));
  CHECK(journal.read_from(0).value()->text ==
        "{\"generation\":1}\n{\"add\":\"10.0.0.2\"}\n{\"release\":\"c1\"}\n");

  // A reset is a new file: readers see another inode.
  auto fresh = journal.reset("{\"generation\":2}\n").value();
  CHECK(fresh.inode != stamp->inode);
  CHECK(stamp_of(journal.path()).value() == fresh);
}
