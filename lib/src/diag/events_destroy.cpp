// events: the sock_diag destroy multicast groups — every freed tcp/udp socket, as it dies.
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <array>
#include <cstring>

#include "socklab/events.hpp"

namespace socklab::diag {

namespace {

/// Receive buffer we ask for: a churn of thousands of sockets a second must not
/// overflow it between two reads (the kernel then drops messages: ENOBUFS).
constexpr int wanted_rcvbuf = 8 << 20;

std::uint32_t rta_align(std::uint32_t len) {
    return (len + 3U) & ~3U;
}

/// Decodes one SOCK_DIAG_BY_FAMILY message body (struct inet_diag_msg + attributes).
std::optional<SocketRecord> decode(const std::uint8_t* body, std::size_t len) {
    inet_diag_msg msg{};
    if (len < sizeof msg) return std::nullopt;
    std::memcpy(&msg, body, sizeof msg);
    SocketRecord r;
    if (msg.idiag_family == AF_INET) {
        r.family = Family::inet;
    } else if (msg.idiag_family == AF_INET6) {
        r.family = Family::inet6;
    } else {
        return std::nullopt;
    }
    r.local.addr.family = r.peer.addr.family = r.family;
    const std::size_t addr_len = r.family == Family::inet ? 4 : 16;
    std::memcpy(r.local.addr.bytes.data(), msg.id.idiag_src, addr_len);
    std::memcpy(r.peer.addr.bytes.data(), msg.id.idiag_dst, addr_len);
    r.local.port = ntohs(msg.id.idiag_sport);
    r.peer.port = ntohs(msg.id.idiag_dport);
    r.state = state_from_kernel(msg.idiag_state);
    r.recv_q = msg.idiag_rqueue;
    r.send_q = msg.idiag_wqueue;
    r.inode = msg.idiag_inode;
    r.uid = msg.idiag_uid;
    r.ifindex = msg.id.idiag_if;
    r.cookie = (std::uint64_t{msg.id.idiag_cookie[1]} << 32) | msg.id.idiag_cookie[0];
    r.netid = Netid::tcp;
    // INET_DIAG_PROTOCOL tells tcp from udp: the message type is the same.
    std::size_t off = NLMSG_ALIGN(sizeof msg);
    while (off + sizeof(nlattr) <= len) {
        nlattr attr{};
        std::memcpy(&attr, body + off, sizeof attr);
        if (attr.nla_len < sizeof attr || off + attr.nla_len > len) break;
        if ((attr.nla_type & NLA_TYPE_MASK) == INET_DIAG_PROTOCOL && attr.nla_len > sizeof attr) {
            const std::uint8_t proto = body[off + sizeof attr];
            if (proto == IPPROTO_UDP)
                r.netid = Netid::udp;
            else if (proto != IPPROTO_TCP)
                return std::nullopt;
        }
        off += rta_align(attr.nla_len);
    }
    return r;
}

}  // namespace

struct DestroyListener::Impl {
    Fd fd;
};

DestroyListener::DestroyListener() : impl_(std::make_unique<Impl>()) {}
DestroyListener::~DestroyListener() = default;
int DestroyListener::fd() const noexcept {
    return impl_->fd.get();
}

Result<std::unique_ptr<DestroyListener>> DestroyListener::open(const Query& query) {
    std::unique_ptr<DestroyListener> self(new DestroyListener());
    self->impl_->fd.reset(
        ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG));
    const int fd = self->impl_->fd.get();
    if (fd < 0) return errno_error("socket(NETLINK_SOCK_DIAG)");
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0)
        return errno_error("bind netlink");
    // Unprivileged processes may only ask for rmem_max; root may force more.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted_rcvbuf, sizeof wanted_rcvbuf) != 0)
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted_rcvbuf, sizeof wanted_rcvbuf);
    std::array<int, 4> groups{};
    std::size_t n = 0;
    if (query.tcp && query.ipv4) groups[n++] = SKNLGRP_INET_TCP_DESTROY;
    if (query.tcp && query.ipv6) groups[n++] = SKNLGRP_INET6_TCP_DESTROY;
    if (query.udp && query.ipv4) groups[n++] = SKNLGRP_INET_UDP_DESTROY;
    if (query.udp && query.ipv6) groups[n++] = SKNLGRP_INET6_UDP_DESTROY;
    for (std::size_t i = 0; i < n; ++i) {
        if (::setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof groups[i]) !=
            0)
            return errno_error("join sock_diag destroy group");
    }
    return self;
}

Result<std::vector<DestroyedSocket>> DestroyListener::read() {
    std::vector<DestroyedSocket> out;
    alignas(nlmsghdr) std::array<std::uint8_t, 65536> buf{};
    for (int rounds = 0; rounds < 1024; ++rounds) {  // bounded: yield to other sources
        const ssize_t got = ::recv(impl_->fd.get(), buf.data(), buf.size(), 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == ENOBUFS && !out.empty()) break;  // report what we have first
            return errno_error("read sock_diag destroy group");
        }
        const auto now = std::chrono::system_clock::now();
        std::size_t off = 0;
        const auto len = static_cast<std::size_t>(got);
        while (off + sizeof(nlmsghdr) <= len) {
            nlmsghdr h{};
            std::memcpy(&h, buf.data() + off, sizeof h);
            if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > len) break;
            if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
                auto rec = decode(buf.data() + off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN);
                if (rec) out.push_back(DestroyedSocket{now, std::move(*rec)});
            }
            off += NLMSG_ALIGN(h.nlmsg_len);
        }
    }
    return out;
}

}  // namespace socklab::diag
