// lab (private): the waits of scenarios — accept, fill, drain, reach a state — on net.
#include "lab/sockets.hpp"

#include <fmt/format.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <thread>

#include "socklab/lab.hpp"

namespace socklab::lab::detail {
namespace {

int remaining_ms(Deadline deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

}  // namespace

net::SockAddr loopback(Family family) {
    Endpoint e;
    if (family == Family::inet6) {
        e.addr.family = Family::inet6;
        e.addr.bytes[15] = 1;
    } else {
        e.addr = IpAddr::v4(INADDR_LOOPBACK);
    }
    return net::to_sockaddr(e);
}

Result<Endpoint> local_endpoint(const Fd& fd) {
    auto a = net::local_address(fd.get());
    if (!a) return a.error();
    return net::to_endpoint(*a);
}

Result<Fd> accept_before(const Fd& listener, Deadline deadline) {
    for (;;) {
        auto fd = net::accept_from(listener.get());
        if (fd) return fd;
        if (fd.error().code != std::errc::resource_unavailable_try_again) return fd.error();
        pollfd p{listener.get(), POLLIN, 0};
        const int ms = remaining_ms(deadline);
        if (ms == 0) return make_error(std::errc::timed_out, "accept");
        if (::poll(&p, 1, ms) < 0 && errno != EINTR) return errno_error("poll");
    }
}

Result<void> shut(const Fd& fd, int how) {
    if (::shutdown(fd.get(), how) != 0) return errno_error("shutdown");
    return {};
}

Result<void> drop_all_input(const Fd& fd) {
    // One instruction: "return 0", keep no byte of any packet (socket(7), filter.txt).
    std::array<sock_filter, 1> code{{{BPF_RET | BPF_K, 0, 0, 0}}};
    sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0)
        return errno_error("setsockopt SO_ATTACH_FILTER");
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

Result<TcpState> state_of(const Fd& fd) {
    // tcp_state() fails only where getsockopt(2) did, so errno still says why.
    if (auto s = net::tcp_state(fd.get())) return *s;
    return errno_error("getsockopt TCP_INFO");
}

Result<void> wait_state(const Fd& fd, TcpState state, Deadline deadline, const std::string& who) {
    Result<TcpState> seen = TcpState::unknown;
    const bool ok = wait_until(deadline, [&] {
        seen = state_of(fd);
        return !seen || *seen == state;
    });
    if (!seen) return seen.error();
    if (!ok)
        return make_error(std::errc::timed_out,
                          fmt::format("{} did not reach {} (it is {})", who,
                                      state_info(state).label, state_info(*seen).label));
    return {};
}

}  // namespace socklab::lab::detail
