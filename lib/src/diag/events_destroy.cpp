// events: the sock_diag destroy multicast groups — every freed tcp/udp socket, as it dies.
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <utility>

#include "socklab/detail/netlink_decode.hpp"
#include "socklab/detail/syscall.hpp"
#include "socklab/events.hpp"

namespace socklab::diag {

namespace {

/// Receive buffer we ask for: a churn of thousands of sockets a second must not
/// overflow it between two reads (the kernel then drops messages: ENOBUFS).
constexpr int wanted_rcvbuf = 8 << 20;

/// The socket kind each destroy group reports (include/uapi/linux/sock_diag.h).
std::optional<detail::DumpRequest> group_request(std::uint32_t group) {
    switch (group) {
        case SKNLGRP_INET_TCP_DESTROY:
            return detail::DumpRequest{Netid::tcp, Family::inet};
        case SKNLGRP_INET6_TCP_DESTROY:
            return detail::DumpRequest{Netid::tcp, Family::inet6};
        case SKNLGRP_INET_UDP_DESTROY:
            return detail::DumpRequest{Netid::udp, Family::inet};
        case SKNLGRP_INET6_UDP_DESTROY:
            return detail::DumpRequest{Netid::udp, Family::inet6};
        default:
            return std::nullopt;
    }
}

}  // namespace

struct DestroyListener::Impl {
    Fd fd;
    /// The kernel reports an overflow once (netlink_recvmsg clears sk_err): when it
    /// came after messages we return first, the next read() must still say so.
    bool overflow_unreported = false;
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
    // NETLINK_PKTINFO names the group of each datagram: it says tcp or udp,
    // v4 or v6, which the message body (the dump reply format) leaves to the request.
    const int on = 1;
    if (::setsockopt(fd, SOL_NETLINK, NETLINK_PKTINFO, &on, sizeof on) != 0)
        return errno_error("setsockopt NETLINK_PKTINFO");
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
    alignas(nlmsghdr) std::array<std::byte, 65536> buf{};
    alignas(cmsghdr) std::array<std::byte, CMSG_SPACE(sizeof(nl_pktinfo))> control{};
    std::vector<SocketRecord> records;
    if (std::exchange(impl_->overflow_unreported, false))
        return errno_error("read sock_diag destroy group", ENOBUFS);
    for (int rounds = 0; rounds < 1024; ++rounds) {  // bounded: yield to other sources
        iovec iov{buf.data(), buf.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        const ssize_t got = SOCKLAB_SYS(recvmsg)(impl_->fd.get(), &msg, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == ENOBUFS && !out.empty()) {  // report what we have first, then the loss
                impl_->overflow_unreported = true;
                break;
            }
            return errno_error("read sock_diag destroy group");
        }
        std::optional<detail::DumpRequest> request;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_NETLINK || c->cmsg_type != NETLINK_PKTINFO) continue;
            nl_pktinfo info{};
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            request = group_request(info.group);
        }
        if (!request) continue;  // not from a destroy group
        records.clear();
        // A malformed message loses only itself: what decoded before it is kept.
        (void)detail::decode_replies(std::span(buf.data(), static_cast<std::size_t>(got)), *request,
                                     records);
        const auto now = std::chrono::system_clock::now();
        for (auto& r : records)
            out.push_back(DestroyedSocket{now, std::move(r)});
    }
    return out;
}

}  // namespace socklab::diag
