// net: single socket steps (bound sockets, connects started, the accept queue) for lab.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "socklab/net.hpp"

namespace socklab::net {

SockAddr to_sockaddr(const Endpoint& e) {
    SockAddr out;
    if (e.addr.family == Family::inet6) {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        std::memcpy(&in6.sin6_addr, e.addr.bytes.data(), sizeof in6.sin6_addr);
        std::memcpy(&out.storage, &in6, sizeof in6);
        out.len = sizeof in6;
    } else {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        std::memcpy(&in.sin_addr, e.addr.bytes.data(), sizeof in.sin_addr);
        std::memcpy(&out.storage, &in, sizeof in);
        out.len = sizeof in;
    }
    out.set_port(static_cast<std::uint16_t>(e.port));
    return out;
}

Endpoint to_endpoint(const SockAddr& a) {
    Endpoint e;
    if (a.family() == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, &a.storage, sizeof in6);
        e.addr.family = Family::inet6;
        std::memcpy(e.addr.bytes.data(), &in6.sin6_addr, sizeof in6.sin6_addr);
    } else if (a.family() == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, &a.storage, sizeof in);
        e.addr.family = Family::inet;
        std::memcpy(e.addr.bytes.data(), &in.sin_addr, sizeof in.sin_addr);
    }
    e.port = a.port();
    return e;
}

Result<Fd> open_socket(int family, Proto proto, const SocketOptions& opts) {
    const int type = proto == Proto::udp ? SOCK_DGRAM : SOCK_STREAM;
    Fd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    if (auto r = apply_options(fd.get(), opts, proto); !r) return r.error();
    return fd;
}

Result<Fd> open_bound(const SockAddr& addr, Proto proto, const SocketOptions& opts) {
    auto fd = open_socket(addr.family(), proto, opts);
    if (!fd) return fd.error();
    if (::bind(fd->get(), addr.raw(), addr.len) != 0)
        return errno_error("bind " + addr.to_string());
    return fd;
}

Result<void> start_connect(int fd, const SockAddr& to) {
    if (::connect(fd, to.raw(), to.len) != 0 && errno != EINPROGRESS)
        return errno_error("connect " + to.to_string());
    return {};
}

std::optional<std::uint32_t> accept_queue_length(int fd) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
    return info.tcpi_unacked;
}

}  // namespace socklab::net
