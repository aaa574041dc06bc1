// detail: the sock_diag request builder and reply decoder shared by the live and replay sources.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/diag.hpp"
#include "socklab/model.hpp"

namespace socklab::diag::detail {

/// One sock_diag dump: one protocol over one address family (unix: Family::unix_).
struct DumpRequest {
    Netid netid = Netid::tcp;
    Family family = Family::inet;
    friend bool operator==(const DumpRequest&, const DumpRequest&) = default;
};

/// "sock_diag dump tcp4", "sock_diag dump unix": the context of a dump's errors.
[[nodiscard]] std::string describe(DumpRequest request);

/// The dumps a query needs, in the order ss prints them (tcp, udp, raw, unix; v4 before v6).
[[nodiscard]] std::vector<DumpRequest> plan_requests(const Query& query);

/// The kernel state mask sent for one dump: the query's mask, plus TCP_NEW_SYN_RECV
/// when SYN_RECV is wanted (request sockets live in that kernel state).
[[nodiscard]] StateMask kernel_states(const Query& query, Netid netid);

/// The whole netlink message (nlmsghdr + inet_diag_req_v2 or unix_diag_req, plus
/// INET_DIAG_REQ_BYTECODE when the query has bytecode) for one dump.
[[nodiscard]] std::vector<std::byte> build_request(const Query& query, DumpRequest request,
                                                   std::uint32_t seq);

/// A SOCK_DESTROY request (NLM_F_ACK) naming the socket by its 4-tuple, interface
/// and cookie, as ss -K sends it. Only tcp/udp/raw over inet/inet6.
[[nodiscard]] std::vector<std::byte> build_destroy(const SocketRecord& record, std::uint32_t seq);

/// Reads the NLMSG_ERROR acknowledgement of a request: success, or the kernel's errno.
[[nodiscard]] Result<void> decode_ack(std::span<const std::byte> chunk, const std::string& context);

/// Decodes one datagram of replies (one or more nlmsgs) and appends its sockets to
/// `out`. Returns true once NLMSG_DONE was seen. A malformed message (truncated
/// header, attribute past the end, short payload) or NLMSG_ERROR gives an Error;
/// records decoded before the fault stay in `out`. Never reads outside `chunk`.
[[nodiscard]] Result<bool> decode_replies(std::span<const std::byte> chunk, DumpRequest request,
                                          std::vector<SocketRecord>& out);

/// The magic that opens a recorded dump file (see record_dump()).
inline constexpr std::string_view dump_magic = "SOCKLAB-DUMP-1\n";

}  // namespace socklab::diag::detail
