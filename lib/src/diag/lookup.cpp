// diag: one socket by its 4-tuple (sock_diag's exact request, not a dump), for
// event sources that know the tuple but not the cookie, inode or uid.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "socklab/detail/netlink_decode.hpp"
#include "socklab/detail/syscall.hpp"
#include "socklab/diag.hpp"

namespace socklab::diag {

namespace {

/// The SOCK_DESTROY request names a socket exactly as a lookup does; the lookup
/// is that message with another type, no ACK, no cookie check and tcp_info asked.
std::vector<std::byte> build_lookup(SocketRecord key, std::uint32_t seq) {
    key.cookie = ~std::uint64_t{0};  // INET_DIAG_NOCOOKIE in both halves
    auto msg = detail::build_destroy(key, seq);
    nlmsghdr head{};
    std::memcpy(&head, msg.data(), sizeof head);
    head.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    head.nlmsg_flags = NLM_F_REQUEST;
    std::memcpy(msg.data(), &head, sizeof head);
    inet_diag_req_v2 req{};
    std::memcpy(&req, msg.data() + NLMSG_HDRLEN, sizeof req);
    req.idiag_ext = static_cast<std::uint8_t>(1U << (INET_DIAG_INFO - 1));
    std::memcpy(msg.data() + NLMSG_HDRLEN, &req, sizeof req);
    return msg;
}

/// The kernel's answers to an exact request that found nothing.
bool not_found(const Error& e) {
    return e.code == std::errc::no_such_file_or_directory ||
           e.code == std::error_code(ESTALE, std::system_category()) ||
           e.code == std::errc::invalid_argument;
}

}  // namespace

struct TupleLookup::Impl {
    Fd fd;
    std::uint32_t seq = 0;
    std::array<std::byte, 8192> buffer{};
};

TupleLookup::TupleLookup() : impl_(std::make_unique<Impl>()) {}
TupleLookup::~TupleLookup() = default;

Result<std::unique_ptr<TupleLookup>> TupleLookup::open() {
    std::unique_ptr<TupleLookup> self(new TupleLookup());
    self->impl_->fd.reset(
        SOCKLAB_SYS(socket)(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!self->impl_->fd) return errno_error("socket NETLINK_SOCK_DIAG");
    return self;
}

Result<std::optional<SocketRecord>> TupleLookup::find(const SocketRecord& key) {
    Impl& m = *impl_;
    const char* context = "sock_diag lookup";
    if ((key.netid != Netid::tcp && key.netid != Netid::udp) ||
        (key.family != Family::inet && key.family != Family::inet6))
        return std::optional<SocketRecord>{};
    const std::uint32_t seq = ++m.seq;
    const auto msg = build_lookup(key, seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (int tries = 0;; ++tries) {
        if (SOCKLAB_SYS(sendto)(m.fd.get(), msg.data(), msg.size(), 0,
                                reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) >= 0)
            break;
        if (errno != EINTR || tries > 100) return errno_error(context);
    }
    // One reply: the socket, or an error (ENOENT: no such socket). Replies to
    // earlier requests (a sequence number not ours) are skipped, boundedly.
    for (int rounds = 0; rounds < 64; ++rounds) {
        iovec iov{m.buffer.data(), m.buffer.size()};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        const auto n = SOCKLAB_SYS(recvmsg)(m.fd.get(), &mh, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(context);
        if ((mh.msg_flags & MSG_TRUNC) != 0) return make_error(std::errc::message_size, context);
        const std::span<const std::byte> chunk(m.buffer.data(), static_cast<std::size_t>(n));
        if (chunk.size() < sizeof(nlmsghdr)) return make_error(std::errc::bad_message, context);
        nlmsghdr head{};
        std::memcpy(&head, chunk.data(), sizeof head);
        if (head.nlmsg_seq != seq) continue;
        std::vector<SocketRecord> out;
        auto decoded = detail::decode_replies(chunk, {key.netid, key.family}, out);
        if (!decoded) {
            if (not_found(decoded.error())) return std::optional<SocketRecord>{};
            return decoded.error();
        }
        if (out.empty()) return std::optional<SocketRecord>{};
        return std::optional<SocketRecord>(std::move(out.front()));
    }
    return make_error(std::errc::timed_out, context);
}

}  // namespace socklab::diag
