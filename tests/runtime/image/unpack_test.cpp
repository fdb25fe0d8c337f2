// SPDX-License-Identifier: Apache-2.0
// Unpacking layers as root (owners, devices, whiteouts): what a container's
// root file system will hold, and hostile layers refused whole.
#include "berth/core/fs.hpp"
#include "berth/runtime/image/digest.hpp"
#include "berth/runtime/image/unpack.hpp"

#include "berth_catch.hpp"
#include "layer_builder.hpp"
#include "temp_dir.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

using namespace berth;
using namespace berth::runtime::image;
using test::Compression;
using test::LayerBuilder;

namespace {

/// The diff id of a layer: the digest of its uncompressed bytes.
std::string diff_of(LayerBuilder plain) { return sha256_digest(plain.take()); }

struct stat stat_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("a layer keeps owners, modes, links, devices and xattrs", "[image][unpack]") {
  auto build = [](Compression c) {
    LayerBuilder b(c);
    b.dir("etc")
        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
        .dir("home/app", 0750, 101, 101)
        .file("home/app/secret", "s", 0600, 101, 102)
        .file("bin/tool", "#!/bin/sh\n", 04755)
        .symlink("bin/sh", "/bin/busybox")
        .hardlink("bin/tool2", "bin/tool")
        .chardev("dev/null", 1, 3)
        // cap_net_bind_service=ep, as `setcap` writes it (VFS_CAP_REVISION_2: 20 bytes)
        .xattr("bin/binder", "security.capability",
               std::string("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20))
        .xattr("etc/tagged", "user.berth.test", "yes");
    return b;
  };
  for (auto c : {Compression::Gzip, Compression::Zstd, Compression::None}) {
    INFO(static_cast<int>(c));
    test::TempDir dir;
    const std::string tarball = build(c).take();
    auto r = unpack_layer(test::memory_source(tarball), dir.path);
    REQUIRE(r);
    CHECK(r->diff_id == diff_of(build(Compression::None)));
    CHECK(r->entries == 10);
    CHECK(core::read_file(dir.path / "etc/passwd").value() == "root:x:0:0::/root:/bin/sh\n");
    auto secret = stat_of(dir.path / "home/app/secret");
    CHECK(secret.st_uid == 101);
    CHECK(secret.st_gid == 102);
    CHECK((secret.st_mode & 07777) == 0600);
    auto home = stat_of(dir.path / "home/app");
    CHECK(home.st_uid == 101);
    CHECK((home.st_mode & 07777) == 0750);
    CHECK((stat_of(dir.path / "bin/tool").st_mode & 07777) == 04755);  // setuid kept
    CHECK(stat_of(dir.path / "bin/tool").st_mtime == 1700000000);
    CHECK(std::filesystem::read_symlink(dir.path / "bin/sh") == "/bin/busybox");
    CHECK(stat_of(dir.path / "bin/tool2").st_ino == stat_of(dir.path / "bin/tool").st_ino);
    auto dev = stat_of(dir.path / "dev/null");
    CHECK(S_ISCHR(dev.st_mode));
    CHECK(dev.st_rdev == makedev(1, 3));
    char cap[32];
    CHECK(::lgetxattr((dir.path / "bin/binder").c_str(), "security.capability", cap, sizeof cap) == 20);
    char tag[8] = {};
    CHECK(::lgetxattr((dir.path / "etc/tagged").c_str(), "user.berth.test", tag, sizeof tag) == 3);
  }
}

TEST_CASE("whiteouts become overlay whiteouts and opaque directories", "[image][unpack]") {
  test::TempDir dir;
  const std::string tarball = LayerBuilder()
                                  .dir("etc")
                                  .file("etc/.wh.motd", "")
                                  .dir("var/cache")
                                  .file("var/cache/.wh..wh..opq", "")
                                  .file("var/cache/new", "n")
                                  .file("gone/.wh.deeper", "")
                                  .take();
  auto r = unpack_layer(test::memory_source(tarball), dir.path);
  REQUIRE(r);
  CHECK(r->whiteouts == 2);
  CHECK(r->opaque == 1);
  auto wh = stat_of(dir.path / "etc/motd");
  CHECK(S_ISCHR(wh.st_mode));
  CHECK(wh.st_rdev == makedev(0, 0));
  CHECK_FALSE(std::filesystem::exists(dir.path / "etc/.wh.motd"));
  char v[4] = {};
  CHECK(::lgetxattr((dir.path / "var/cache").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1);
  CHECK(v[0] == 'y');
  CHECK(std::filesystem::exists(dir.path / "var/cache/new"));
  CHECK(S_ISCHR(stat_of(dir.path / "gone/deeper").st_mode));
}

TEST_CASE("the layer's root named '/' (as umoci writes it) or './' is the layer's directory", "[image][unpack]") {
  for (const char* root : {"/", "./", "."}) {
    INFO(root);
    test::TempDir dir;
    auto r = unpack_layer(test::memory_source(LayerBuilder().dir(root).file("etc/issue", "Debian\n").take()), dir.path);
    REQUIRE(r);
    CHECK(core::read_file(dir.path / "etc/issue").value() == "Debian\n");
  }
}

TEST_CASE("a layer reaching outside its directory is refused", "[image][unpack][bad-input]") {
  struct Case {
    const char* what;
    std::string tarball;
    const char* why;
  };
  Case cases[] = {
      {"a '..' name", LayerBuilder().file("../escape", "x").take(), "has a '..' component"},
      {"a '..' deeper", LayerBuilder().dir("a").file("a/../../escape", "x").take(), "has a '..' component"},
      {"an absolute name", LayerBuilder().file("/etc/escape", "x").take(), "has an absolute name"},
      {"a file through a symlink", LayerBuilder().symlink("link", "/tmp").file("link/escape", "x").take(),
       "goes through a symlink"},
      {"a whiteout through a symlink", LayerBuilder().symlink("link", "/etc").file("link/.wh.passwd", "").take(),
       "goes through a symlink"},
      {"a hard link out", LayerBuilder().hardlink("passwd", "../../etc/passwd").take(), "outside the layer"},
      {"a hard link through a symlink", LayerBuilder().symlink("l", "/etc").hardlink("passwd", "l/passwd").take(),
       "not in the layer"},
  };
  for (auto& c : cases) {
    INFO(c.what);
    test::TempDir dir;
    auto r = unpack_layer(test::memory_source(c.tarball), dir.path);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains(c.why));
    CHECK(r.error().message().find('\n') == std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists("/tmp/escape"));
  CHECK_FALSE(std::filesystem::exists("/etc/escape"));
}

TEST_CASE("a cut-short or corrupt layer is an error, not a partial success", "[image][unpack][bad-input]") {
  const std::string whole = LayerBuilder().file("big", std::string(200000, 'z')).file("after", "a").take();
  test::TempDir a, b, c, d;
  auto cut = unpack_layer(test::memory_source(whole.substr(0, whole.size() / 2)), a.path);
  REQUIRE_FALSE(cut);
  // libarchive's gzip reader does not check the trailer's CRC: a flipped
  // byte shows as another diff id, which the puller compares (and the
  // compressed blob's own digest catches it before).
  std::string flipped = whole;
  flipped[flipped.size() / 2] ^= 0x55;
  const std::string expected = unpack_layer(test::memory_source(whole), c.path).value().diff_id;
  auto corrupt = unpack_layer(test::memory_source(flipped), b.path);
  CHECK((!corrupt || corrupt->diff_id != expected));
  auto garbage = unpack_layer(test::memory_source(std::string(5000, '\x07')), d.path);
  REQUIRE_FALSE(garbage);
  CHECK_THAT(garbage.error().message(), Catch::Contains("tar"));
  // A source that fails says why.
  auto failing = unpack_layer([]() -> core::Result<std::string_view> {
    return core::errno_error(ECONNRESET, "GET blob");
  }, c.path);
  REQUIRE_FALSE(failing);
  CHECK_THAT(failing.error().message(), Catch::Contains("Connection reset"));
}

TEST_CASE("an empty layer unpacks to nothing", "[image][unpack]") {
  test::TempDir dir;
  auto r = unpack_layer(test::memory_source(std::string()), dir.path);
  REQUIRE(r);
  CHECK(r->diff_id == sha256_digest(""));
  auto tar = LayerBuilder(Compression::None).take();
  auto t = unpack_layer(test::memory_source(tar), dir.path);
  REQUIRE(t);
  CHECK(t->diff_id == sha256_digest(tar));
  CHECK(std::filesystem::is_empty(dir.path));
}
