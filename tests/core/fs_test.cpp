// SPDX-License-Identifier: Apache-2.0
#include "berth/core/fs.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace berth::core;
namespace fs = std::filesystem;
using berth::test::TempDir;


TEST_CASE("write_file_atomic replaces content and leaves no temp file", "[fs]") {
  TempDir dir;
  auto p = dir.path / "state.json";
  REQUIRE(write_file_atomic(p, "one"));
  REQUIRE(write_file_atomic(p, "two", 0600));
  CHECK(read_file(p).value() == "two");
  struct stat st{};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("write_file_atomic into a missing directory fails naming the file", "[fs]") {
  TempDir dir;
  auto r = write_file_atomic(dir.path / "nope" / "x", "data");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("nope/x") && Catch::Contains("No such file or directory"));
}

TEST_CASE("read_file of a missing file is ENOENT", "[fs]") {
  auto r = read_file("/nonexistent/berth/file");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == std::errc::no_such_file_or_directory);
}

TEST_CASE("read_file_in_root never follows a link out of the root", "[fs]") {
  TempDir dir;
  const fs::path root = dir.path / "rootfs";
  fs::create_directories(root / "etc");
  REQUIRE(write_file_atomic(dir.path / "secret", "host's"));
  REQUIRE(write_file_atomic(root / "secret", "image's"));
  REQUIRE(write_file_atomic(root / "etc" / "group", "root:x:0:\n"));
  fs::create_symlink("/secret", root / "etc" / "passwd");                // absolute: the image's /secret
  fs::create_symlink("../../../../../../secret", root / "etc" / "shadow");  // ".." stops at the root
  CHECK(read_file_in_root(root, "/etc/group", 1024).value() == "root:x:0:\n");
  CHECK(read_file_in_root(root, "etc/passwd", 1024).value() == "image's");
  CHECK(read_file_in_root(root, "/etc/shadow", 1024).value() == "image's");
  CHECK(read_file_in_root(root, "/etc/missing", 1024).error().code == std::errc::no_such_file_or_directory);
  CHECK_THAT(read_file_in_root(root, "/etc", 1024).error().message(), Catch::Contains("not a regular file"));
  CHECK_THAT(read_file_in_root(root, "/etc/group", 4).error().message(), Catch::Contains("more than 4 bytes"));
}

TEST_CASE("FileLock excludes a second holder until released", "[fs]") {
  TempDir dir;
  auto p = dir.path / "x.lock";
  {
    auto first = FileLock::acquire(p);
    REQUIRE(first);
    auto second = FileLock::try_acquire(p);
    REQUIRE_FALSE(second);
    CHECK(second.error().is(Errc::conflict));
  }
  CHECK(FileLock::try_acquire(p));
}

TEST_CASE("make_directories creates parents and accepts existing ones", "[fs]") {
  TempDir dir;
  REQUIRE(make_directories(dir.path / "a" / "b" / "c"));
  REQUIRE(make_directories(dir.path / "a" / "b"));
  CHECK(fs::is_directory(dir.path / "a" / "b" / "c"));
  REQUIRE(write_file_atomic(dir.path / "f", "x"));
  CHECK_FALSE(make_directories(dir.path / "f"));
}
