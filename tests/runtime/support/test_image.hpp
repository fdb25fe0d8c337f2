// SPDX-License-Identifier: Apache-2.0
// The tests' image (support/make_test_image.sh), built once per test, and
// what a container would see of a stored image.
#pragma once

#include "berth/core/process.hpp"
#include "berth/runtime/image/install.hpp"
#include "berth/runtime/image/store.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <sys/stat.h>

namespace berth::test {

struct TestImage {
  TempDir dir;
  TestImage() {
    auto r = core::run_checked({.program = BERTH_MAKE_TEST_IMAGE, .args = {(dir.path / "img").string()}});
    REQUIRE(r);
  }
  [[nodiscard]] std::filesystem::path oci() const { return dir.path / "img" / "oci"; }
  [[nodiscard]] std::filesystem::path docker_tar() const { return dir.path / "img" / "docker.tar"; }
  [[nodiscard]] std::filesystem::path oci_tar() const { return dir.path / "img" / "oci.tar"; }
};

/// The file at `path` as the image's root file system shows it: the top
/// layer that has it, a whiteout hiding what is below.
inline std::optional<struct stat> in_image(const runtime::image::Store& s, const runtime::image::StoredImage& img,
                                           const std::string& path) {
  auto plan = runtime::image::plan_image(s, img.manifest, s.read_blob(img.manifest.digest).value()).value();
  for (auto it = plan.layers.rbegin(); it != plan.layers.rend(); ++it) {
    struct stat st {};
    if (::lstat((s.layer_path(it->diff_id) / path).c_str(), &st) != 0) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return std::nullopt;
    return st;
  }
  return std::nullopt;
}

/// What every copy of the test image holds, however it got into the store.
inline void check_test_image(const runtime::image::Store& s, const runtime::image::StoredImage& img) {
  auto data = in_image(s, img, "home/app/data");
  REQUIRE(data);
  CHECK(data->st_uid == 101);
  CHECK_FALSE(in_image(s, img, "etc/motd"));  // deleted by the third layer: stays deleted
  CHECK(in_image(s, img, "bin/busybox"));
  auto plan = runtime::image::plan_image(s, img.manifest, s.read_blob(img.manifest.digest).value()).value();
  CHECK(plan.layers.size() == 3);
  CHECK(plan.config.user == "app");
  CHECK(plan.config.stop_signal == "SIGQUIT");
  CHECK(plan.config.cmd == std::vector<std::string>{"/bin/sh", "-c", "id -u"});
}

}  // namespace berth::test
