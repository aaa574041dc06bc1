// lab (private): socket steps for scenarios — create, bind, connect, fill, wait.
#include "lab/sockets.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "socklab/lab.hpp"

namespace socklab::lab {
namespace detail {
namespace {

struct SockAddr {
    sockaddr_storage storage{};
    socklen_t len = 0;
};

SockAddr to_sockaddr(const Endpoint& e) {
    SockAddr out;
    if (e.addr.family == Family::inet6) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(static_cast<std::uint16_t>(e.port));
        std::memcpy(&sin6.sin6_addr, e.addr.bytes.data(), 16);
        std::memcpy(&out.storage, &sin6, sizeof sin6);
        out.len = sizeof sin6;
    } else {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(static_cast<std::uint16_t>(e.port));
        std::memcpy(&sin.sin_addr, e.addr.bytes.data(), 4);
        std::memcpy(&out.storage, &sin, sizeof sin);
        out.len = sizeof sin;
    }
    return out;
}

Endpoint from_sockaddr(const sockaddr_storage& ss) {
    Endpoint e;
    if (ss.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &ss, sizeof sin6);
        e.addr.family = Family::inet6;
        std::memcpy(e.addr.bytes.data(), &sin6.sin6_addr, 16);
        e.port = ntohs(sin6.sin6_port);
    } else {
        sockaddr_in sin{};
        std::memcpy(&sin, &ss, sizeof sin);
        e.addr.family = Family::inet;
        std::memcpy(e.addr.bytes.data(), &sin.sin_addr, 4);
        e.port = ntohs(sin.sin_port);
    }
    return e;
}

Endpoint loopback(Family family) {
    Endpoint e;
    if (family == Family::inet6) {
        e.addr.family = Family::inet6;
        e.addr.bytes[15] = 1;
    } else {
        e.addr = IpAddr::v4(INADDR_LOOPBACK);
    }
    return e;
}

int remaining_ms(Deadline deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

}  // namespace

std::string endpoint_text(const Endpoint& e) {
    return host_port(e.addr, std::to_string(e.port));
}

Result<Fd> tcp_socket(Family family) {
    const int af = family == Family::inet6 ? AF_INET6 : AF_INET;
    Fd fd(::socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    return fd;
}

Result<void> set_int(const Fd& fd, int level, int option, int value, const char* what) {
    if (::setsockopt(fd.get(), level, option, &value, sizeof value) != 0)
        return errno_error(fmt::format("setsockopt {}", what));
    return {};
}

Result<void> set_abortive(const Fd& fd) {
    const linger lg{1, 0};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        return errno_error("setsockopt SO_LINGER");
    return {};
}

Result<Endpoint> bind_loopback(const Fd& fd, Family family) {
    const Endpoint want = loopback(family);
    const SockAddr sa = to_sockaddr(want);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa.storage), sa.len) != 0)
        return errno_error(fmt::format("bind {}", endpoint_text(want)));
    return local_endpoint(fd);
}

Result<void> listen_on(const Fd& fd, int backlog) {
    if (::listen(fd.get(), backlog) != 0) return errno_error("listen");
    return {};
}

Result<void> start_connect(const Fd& fd, const Endpoint& to) {
    const SockAddr sa = to_sockaddr(to);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa.storage), sa.len) != 0 &&
        errno != EINPROGRESS)
        return errno_error(fmt::format("connect {}", endpoint_text(to)));
    return {};
}

Result<Fd> accept_before(const Fd& listener, Deadline deadline) {
    for (;;) {
        Fd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (fd) return fd;
        if (errno != EAGAIN && errno != EINTR) return errno_error("accept");
        pollfd p{listener.get(), POLLIN, 0};
        const int ms = remaining_ms(deadline);
        if (ms == 0) return make_error(std::errc::timed_out, "accept");
        if (::poll(&p, 1, ms) < 0 && errno != EINTR) return errno_error("poll");
    }
}

Result<Endpoint> local_endpoint(const Fd& fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return errno_error("getsockname");
    return from_sockaddr(ss);
}

Result<Endpoint> peer_endpoint(const Fd& fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return errno_error("getpeername");
    return from_sockaddr(ss);
}

Result<std::uint32_t> accept_queue_length(const Fd& listener) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(listener.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return errno_error("getsockopt TCP_INFO");
    return info.tcpi_unacked;
}

Result<void> shut(const Fd& fd, int how) {
    if (::shutdown(fd.get(), how) != 0) return errno_error("shutdown");
    return {};
}

Result<std::size_t> fill_until_stuck(const Fd& fd, Deadline deadline) {
    // Bounded: the send buffer is at most a few MB (tcp_wmem max) before EAGAIN.
    static constexpr std::size_t max_bytes = std::size_t{256} << 20;
    const std::array<char, 65536> chunk{};
    std::size_t total = 0;
    while (total < max_bytes) {
        const ssize_t n = ::send(fd.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0) {
            total += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        return errno_error("send");
    }
    // SIOCOUTQNSD: bytes not yet sent. Some must stay queued, or a FIN queued now
    // would go out at once instead of waiting behind the closed window.
    bool stuck = false;
    const bool ok = wait_until(deadline, [&] {
        int unsent = 0;
        stuck = ::ioctl(fd.get(), SIOCOUTQNSD, &unsent) == 0 && unsent > 0;
        return stuck;
    });
    if (!ok) return make_error(std::errc::timed_out, "fill: the peer's window never closed");
    return total;
}

Result<void> drain_to_eof(const Fd& fd, Deadline deadline) {
    std::array<char, 4096> buf{};
    for (;;) {
        const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n == 0) return {};
        if (n > 0) continue;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return errno_error("recv");
        pollfd p{fd.get(), POLLIN, 0};
        const int ms = remaining_ms(deadline);
        if (ms == 0) return make_error(std::errc::timed_out, "waiting for the peer's FIN");
        if (::poll(&p, 1, ms) < 0 && errno != EINTR) return errno_error("poll");
    }
}

bool wait_until(Deadline deadline, const std::function<bool()>& ready) {
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        if (ready()) return true;
        if (Clock::now() >= deadline) return false;
        // A polling interval of a deadline wait: loopback transitions usually
        // complete inside the system call that caused them.
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
}

Result<void> wait_state(const Fd& fd, TcpState state, Deadline deadline, const std::string& who) {
    Result<TcpState> seen = TcpState::unknown;
    const bool ok = wait_until(deadline, [&] {
        seen = tcp_info_state(fd.get());
        return !seen || *seen == state;
    });
    if (!seen) return seen.error();
    if (!ok)
        return make_error(std::errc::timed_out,
                          fmt::format("{} did not reach {} (it is {})", who,
                                      state_info(state).label, state_info(*seen).label));
    return {};
}

}  // namespace detail

Result<TcpState> tcp_info_state(int fd) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return errno_error("getsockopt TCP_INFO");
    return state_from_kernel(info.tcpi_state);
}

}  // namespace socklab::lab
