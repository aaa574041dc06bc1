// net: address resolution (asio's resolver), listeners, connects with a deadline, accept.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <cctype>
#include <cstring>
#include <optional>

#include "socklab/detail/syscall.hpp"
#include "socklab/net.hpp"

namespace socklab::net {
namespace {

/// Resolver failures get their own words: "unknown host" reads better than EAI text,
/// and a DNS server that cannot be reached (EAI_AGAIN) is not a name that does not exist.
enum NetError : int {
    unknown_host = 1,
    not_numeric,
    try_again,
    no_recovery,
    v6_for_v4,
    v4_for_v6,
};

class NetCategory final : public std::error_category {
  public:
    [[nodiscard]] const char* name() const noexcept override { return "socklab.net"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (ev) {
            case unknown_host:
                return "unknown host";
            case not_numeric:
                return "not a numeric address (-n)";
            case try_again:
                return "temporary failure in name resolution";
            case no_recovery:
                return "non-recoverable failure in name resolution";
            case v6_for_v4:
                return "address family mismatch: an IPv6 address where IPv4 is wanted";
            case v4_for_v6:
                return "address family mismatch: an IPv4 address where IPv6 is wanted";
            default:
                return "resolver error";
        }
    }
};

const std::error_category& net_category() {
    static const NetCategory category;
    return category;
}

int sock_type(Proto proto) {
    return proto == Proto::udp ? SOCK_DGRAM : SOCK_STREAM;
}
std::string_view proto_name(Proto p) {
    return p == Proto::udp ? "udp" : "tcp";
}

/// nc's wording for an endpoint in errors: "127.0.0.1 port 9 (tcp)".
std::string describe(const SockAddr& a, Proto proto) {
    if (a.family() == AF_UNIX) return a.host();
    return fmt::format("{} port {} ({})", a.host(), a.port(), proto_name(proto));
}

template <class Protocol>
Result<std::vector<SockAddr>> resolve_with(
    std::string_view host, std::uint16_t port, Want want,
    typename asio::ip::basic_resolver<Protocol>::flags flags) {
    asio::io_context io;
    asio::ip::basic_resolver<Protocol> resolver(io);
    std::error_code ec;
    const std::string h(host);
    const std::string service = std::to_string(port);
    typename asio::ip::basic_resolver<Protocol>::results_type results;
    if (want == Want::any)
        results = resolver.resolve(h, service, flags, ec);
    else
        results = resolver.resolve(want == Want::v4 ? Protocol::v4() : Protocol::v6(), h, service,
                                   flags, ec);
    if (ec) {
        const bool numeric = (flags & asio::ip::resolver_base::numeric_host) != 0;
        // asio maps EAI_AGAIN to host_not_found_try_again and EAI_FAIL to no_recovery.
        const int why = numeric                                       ? not_numeric
                        : ec == asio::error::host_not_found_try_again ? try_again
                        : ec == asio::error::no_recovery              ? no_recovery
                                                                      : unknown_host;
        return Error{std::error_code(why, net_category()), std::string(host)};
    }
    std::vector<SockAddr> out;
    for (const auto& entry : results) {
        SockAddr a;
        const auto ep = entry.endpoint();
        std::memcpy(&a.storage, ep.data(), ep.size());
        a.len = static_cast<socklen_t>(ep.size());
        out.push_back(a);
    }
    if (out.empty()) return Error{std::error_code(1, net_category()), std::string(host)};
    return out;
}

bool readable(const pollfd& p) {
    return p.fd >= 0 && (p.revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0;
}

Result<void> wait_connected(int fd, nanoseconds timeout, int cancel_fd) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    for (;;) {
        int ms = -1;
        if (timeout.count() > 0) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            if (left.count() <= 0) return errno_error("", ETIMEDOUT);
            ms = static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30));
        }
        std::array<pollfd, 2> p{pollfd{fd, POLLOUT, 0}, pollfd{cancel_fd, POLLIN, 0}};
        const int n = ::poll(p.data(), cancel_fd >= 0 ? 2 : 1, ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("");
        if (n == 0) return errno_error("", ETIMEDOUT);
        if (cancel_fd >= 0 && readable(p[1])) return make_error(std::errc::operation_canceled, "");
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno_error("");
        if (err != 0) return errno_error("", err);
        return {};
    }
}

Result<void> bind_source(int fd, int family, const std::string& host, std::uint16_t port,
                         Proto proto) {
    auto addrs = resolve(host, port, family == AF_INET6 ? Want::v6 : Want::v4, true, true, proto);
    if (!addrs) return Error{addrs.error().code, "source address " + host};
    const SockAddr& a = addrs->front();
    if (::bind(fd, a.raw(), a.len) != 0) return errno_error("bind " + describe(a, proto));
    return {};
}

using NameCall = int (*)(int, sockaddr*, socklen_t*);

Result<SockAddr> socket_name(int fd, NameCall call, const char* what) {
    SockAddr a;
    a.len = sizeof a.storage;
    if (call(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.len) != 0) return errno_error(what);
    return a;
}

}  // namespace

std::uint16_t SockAddr::port() const noexcept {
    if (family() == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, &storage, sizeof in);
        return ntohs(in.sin_port);
    }
    if (family() == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, &storage, sizeof in6);
        return ntohs(in6.sin6_port);
    }
    return 0;
}

void SockAddr::set_port(std::uint16_t p) noexcept {
    // sin_port and sin6_port sit at the same offset, but each family is written as itself.
    if (family() == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, &storage, sizeof in);
        in.sin_port = htons(p);
        std::memcpy(&storage, &in, sizeof in);
    } else if (family() == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, &storage, sizeof in6);
        in6.sin6_port = htons(p);
        std::memcpy(&storage, &in6, sizeof in6);
    }
}

std::string SockAddr::host() const {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (family() == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, &storage, sizeof in);
        ::inet_ntop(AF_INET, &in.sin_addr, buf.data(), buf.size());
        return buf.data();
    }
    if (family() == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, &storage, sizeof in6);
        ::inet_ntop(AF_INET6, &in6.sin6_addr, buf.data(), buf.size());
        return buf.data();
    }
    if (family() == AF_UNIX) {
        sockaddr_un un{};
        std::memcpy(&un, &storage, std::min<std::size_t>(sizeof un, len));
        const auto off = offsetof(sockaddr_un, sun_path);
        if (len <= off) return "";
        const std::size_t n = len - off;
        if (un.sun_path[0] == '\0') return "@" + std::string(un.sun_path + 1, n - 1);
        return std::string(un.sun_path, ::strnlen(un.sun_path, n));
    }
    return "?";
}

std::string SockAddr::to_string() const {
    if (family() == AF_INET) return fmt::format("{}:{}", host(), port());
    if (family() == AF_INET6) return fmt::format("[{}]:{}", host(), port());
    return host();
}

namespace {
/// A literal of the other family is a mismatch, not an unknown host: getaddrinfo(3)
/// says EAI_ADDRFAMILY (or EAI_NONAME with AI_NUMERICHOST) for "::1" asked as AF_INET.
std::optional<NetError> family_mismatch(std::string_view host, Want want) {
    if (want == Want::any) return std::nullopt;
    const std::string h(host);
    std::array<unsigned char, sizeof(in6_addr)> buf{};
    if (want == Want::v4 && ::inet_pton(AF_INET6, h.c_str(), buf.data()) == 1) return v6_for_v4;
    if (want == Want::v6 && ::inet_pton(AF_INET, h.c_str(), buf.data()) == 1) return v4_for_v6;
    return std::nullopt;
}
}  // namespace

Result<std::vector<SockAddr>> resolve(std::string_view host, std::uint16_t port, Want want,
                                      bool numeric, bool passive, Proto proto) {
    if (const auto why = family_mismatch(host, want))
        return Error{std::error_code(*why, net_category()), std::string(host)};
    using rb = asio::ip::resolver_base;
    rb::flags flags = rb::numeric_service;
    if (numeric) flags = flags | rb::numeric_host;
    if (passive) flags = flags | rb::passive;
    if (proto == Proto::udp) return resolve_with<asio::ip::udp>(host, port, want, flags);
    return resolve_with<asio::ip::tcp>(host, port, want, flags);
}

Result<SockAddr> unix_address(std::string_view path) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof un.sun_path)
        return make_error(std::errc::filename_too_long, fmt::format("unix socket path '{}'", path));
    std::memcpy(un.sun_path, path.data(), path.size());
    SockAddr a;
    std::memcpy(&a.storage, &un, sizeof un);
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return a;
}

Result<SockAddr> local_address(int fd) {
    return socket_name(fd, ::getsockname, "getsockname");
}

Result<SockAddr> peer_address(int fd) {
    return socket_name(fd, ::getpeername, "getpeername");
}

std::string host_name(const SockAddr& addr, bool numeric) {
    const std::string number = addr.host();
    if (numeric || (addr.family() != AF_INET && addr.family() != AF_INET6)) return number;
    // The wildcard has no name; asking DNS for 0.0.0.0 only costs a timeout.
    if (number == "0.0.0.0" || number == "::") return number;
    std::array<char, NI_MAXHOST> name{};
    if (::getnameinfo(addr.raw(), addr.len, name.data(), name.size(), nullptr, 0, NI_NAMEREQD) != 0)
        return number;  // nc exits here ("getnameinfo: ..."); a number is still the truth
    return name.data();
}

Result<std::uint16_t> parse_service(std::string_view text, Proto proto, bool allow_zero) {
    // A leading digit means a number (nc's strtoport): "80x" is a bad number, not a name.
    if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0])) != 0 ||
        proto == Proto::unix_stream)
        return parse_port(text, allow_zero);
    servent ent{};
    servent* found = nullptr;
    std::array<char, 1024> buf{};
    const std::string name(text);
    const std::string p(proto_name(proto));
    if (::getservbyname_r(name.c_str(), p.c_str(), &ent, buf.data(), buf.size(), &found) == 0 &&
        found != nullptr) {
        const auto port = ntohs(static_cast<std::uint16_t>(found->s_port));
        if (port != 0) return port;
    }
    return make_error(std::errc::invalid_argument,
                      fmt::format("port '{}' is not a number or a known {} service", text, p));
}

Result<PortRange> parse_port_range(std::string_view text, Proto proto) {
    if (auto whole = parse_service(text, proto, false)) return PortRange{*whole, *whole};
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) return parse_service(text, proto, false).error();
    auto first = parse_service(text.substr(0, dash), proto, false);
    if (!first) return first.error();
    auto last = parse_service(text.substr(dash + 1), proto, false);
    if (!last) return last.error();
    if (*last < *first)
        return make_error(std::errc::invalid_argument,
                          fmt::format("port range '{}' ends before it starts", text));
    return PortRange{*first, *last};
}

std::string service_name(std::uint16_t port, Proto proto) {
    servent ent{};
    servent* found = nullptr;
    std::array<char, 1024> buf{};
    const std::string p(proto_name(proto));
    if (::getservbyport_r(htons(port), p.c_str(), &ent, buf.data(), buf.size(), &found) == 0 &&
        found != nullptr)
        return found->s_name;
    return "*";
}

Result<Fd> open_listener(const SockAddr& addr, Proto proto, const SocketOptions& opts) {
    Fd fd(::socket(addr.family(), sock_type(proto) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    if (auto r = apply_options(fd.get(), opts, proto); !r) return r.error();
    // ipv6(7): with IPV6_V6ONLY unset (net.ipv6.bindv6only=0) a :: listener also takes IPv4
    // clients as ::ffff:a.b.c.d; -6 means IPv6 only. It must be set before bind.
    const int on = 1;
    if (opts.v6only && addr.family() == AF_INET6 &&
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
        return errno_error("setsockopt IPV6_V6ONLY");
    if (::bind(fd.get(), addr.raw(), addr.len) != 0)
        return errno_error("bind " + describe(addr, proto));
    if (proto != Proto::udp && ::listen(fd.get(), opts.backlog) != 0)
        return errno_error("listen " + describe(addr, proto));
    return fd;
}

Result<Fd> connect_to(const std::vector<SockAddr>& addrs, Proto proto, const SocketOptions& opts,
                      const std::optional<Source>& source, nanoseconds timeout, int cancel_fd) {
    Error last = make_error(std::errc::address_not_available, "connect: no address");
    for (const SockAddr& a : addrs) {
        Fd fd(::socket(a.family(), sock_type(proto) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) return errno_error("socket");
        if (auto r = apply_options(fd.get(), opts, proto); !r) return r.error();
        if (source) {
            auto r = bind_source(fd.get(), a.family(), source->host, source->port, proto);
            if (!r) return r.error();
        }
        const std::string what = "connect to " + describe(a, proto);
        if (::connect(fd.get(), a.raw(), a.len) == 0) return fd;
        if (errno != EINPROGRESS) {
            last = errno_error(what);
            continue;
        }
        auto r = wait_connected(fd.get(), timeout, cancel_fd);
        if (r) return fd;
        last = Error{r.error().code, what};
        if (last.code == std::errc::operation_canceled) return last;
    }
    return last;
}

Result<Fd> accept_from(int listen_fd) {
    for (;;) {
        Fd fd(SOCKLAB_SYS(accept4)(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (fd) return fd;
        if (errno == EINTR) continue;
        // accept(2): errors of the pending connection (ECONNABORTED...) are not the listener's.
        return errno_error("accept");
    }
}

Result<SockAddr> udp_accept(int fd, nanoseconds timeout, int cancel_fd) {
    const int ms = timeout.count() > 0
                       ? static_cast<int>(
                             std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count())
                       : -1;
    for (;;) {
        std::array<pollfd, 2> p{pollfd{fd, POLLIN, 0}, pollfd{cancel_fd, POLLIN, 0}};
        const int n = ::poll(p.data(), cancel_fd >= 0 ? 2 : 1, ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("poll");
        if (n == 0) return errno_error("waiting for a datagram", ETIMEDOUT);
        if (cancel_fd >= 0 && readable(p[1]))
            return make_error(std::errc::operation_canceled, "waiting for a datagram");
        SockAddr from;
        from.len = sizeof from.storage;
        std::array<char, 1> byte{};
        // MSG_PEEK: the first datagram stays queued for the relay to read.
        const auto got = ::recvfrom(fd, byte.data(), byte.size(), MSG_PEEK,
                                    reinterpret_cast<sockaddr*>(&from.storage), &from.len);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got < 0) return errno_error("recvfrom");
        if (::connect(fd, from.raw(), from.len) != 0) return errno_error("connect " + from.host());
        return from;
    }
}

}  // namespace socklab::net
