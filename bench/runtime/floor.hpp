// SPDX-License-Identifier: Apache-2.0
// The floor of a container's start: `runc run` of a bundle made in advance,
// with the config.json berth writes (the same seccomp profile, mounts and
// limits) over a root file system umoci unpacked from the test image in
// `<scratch>/img/oci`. Its bundle is `<scratch>/floor`; `containers`' base
// must be `<scratch>/berth`.
#pragma once

#include "harness.hpp"

#include "berth/runtime/container/containers.hpp"

#include <boost/json.hpp>

namespace berth::bench {

inline void prepare_floor(const Scratch& s, runtime::container::Containers& containers,
                          const runtime::image::Store& store, const std::string& image) {
  auto tmpl = runtime::container::CreateOptions{"template", image, {.command = {"/bin/true"}}};
  must(containers.create(store, tmpl));
  sh(fmt::format("umoci unpack --image {}/img/oci:latest {} >/dev/null", s.dir.string(), (s / "floor").string()));
  auto doc = boost::json::parse(must(core::read_file(s / "berth/containers/template/bundle/config.json"))).as_object();
  doc["root"].as_object()["path"] = (s / "floor" / "rootfs").string();
  must(core::write_file_atomic(s / "floor" / "config.json", boost::json::serialize(doc)));
}

/// One run of the floor: a container named `id`.
inline Ran run_floor(const Scratch& s, const std::string& id, const fs::path& log) {
  return timed_exec({"runc", "--root", (s / "floor-runc").string(), "run", "--bundle", (s / "floor").string(), id}, log);
}

}  // namespace berth::bench
