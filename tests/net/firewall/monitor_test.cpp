// SPDX-License-Identifier: Apache-2.0
// Reading nf_tables events, on messages built here the way the kernel sends them.
#include "firewall/monitor.hpp"

#include "berth_catch.hpp"

#include <vector>

using namespace berth::net;

namespace {

/// Appends one nf_tables event message to `buf`.
void event(std::vector<char>& buf, int type, const char* table, std::uint32_t pid = 0) {
  std::vector<char> one(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(one.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = NFPROTO_INET;
  if (type == NFT_MSG_NEWGEN) {
    mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(7));
    mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(pid));
  } else {
    mnl_attr_put_strz(nlh, 1, table);  // NFTA_*_TABLE
  }
  buf.insert(buf.end(), one.data(), one.data() + nlh->nlmsg_len);
}

}  // namespace

TEST_CASE("a transaction of another process that touched the table is seen", "[firewall][monitor]") {
  constexpr std::uint32_t self = 100, other = 200;
  bool touched = false;
  std::vector<char> buf;
  event(buf, NFT_MSG_DELRULE, "berth");
  event(buf, NFT_MSG_NEWGEN, nullptr, other);
  CHECK(scan_events(buf, "berth", self, touched));

  SECTION("our own transaction is not") {
    touched = false;
    buf.clear();
    event(buf, NFT_MSG_NEWSETELEM, "berth");
    event(buf, NFT_MSG_NEWGEN, nullptr, self);
    CHECK_FALSE(scan_events(buf, "berth", self, touched));
    CHECK_FALSE(touched);
  }
  SECTION("another table's is not") {
    touched = false;
    buf.clear();
    event(buf, NFT_MSG_DELTABLE, "berth-other");
    event(buf, NFT_MSG_NEWGEN, nullptr, other);
    CHECK_FALSE(scan_events(buf, "berth", self, touched));
  }
  SECTION("a transaction split over two reads") {
    touched = false;
    buf.clear();
    event(buf, NFT_MSG_DELCHAIN, "berth");
    CHECK_FALSE(scan_events(buf, "berth", self, touched));
    CHECK(touched);
    buf.clear();
    event(buf, NFT_MSG_NEWGEN, nullptr, other);
    CHECK(scan_events(buf, "berth", self, touched));
  }
}

TEST_CASE("cut-short and malformed event messages are read within their bounds", "[firewall][monitor]") {
  bool touched = false;
  std::vector<char> buf;
  event(buf, NFT_MSG_DELRULE, "berth");
  event(buf, NFT_MSG_NEWGEN, nullptr, 200);
  for (std::size_t cut = 0; cut < buf.size(); ++cut) {
    std::vector<char> part(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(cut));
    touched = false;
    (void)scan_events(part, "berth", 100, touched);  // no crash, no read past the end (ASan)
  }
  std::vector<char> garbage(64, '\xff');
  touched = false;
  CHECK_FALSE(scan_events(garbage, "berth", 100, touched));
}
