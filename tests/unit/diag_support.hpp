// Helpers for the diag unit tests: loopback sockets, lookups, fake /proc trees, golden dumps.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "socklab/diag.hpp"

namespace diag_test {

using namespace socklab;
using namespace socklab::diag;

struct Addr {
    sockaddr_storage ss{};
    socklen_t len = 0;
};

inline Addr loopback(int family, std::uint16_t port) {
    Addr a;
    if (family == AF_INET) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(port);
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        std::memcpy(&a.ss, &in, sizeof in);
        a.len = sizeof in;
    } else {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        in6.sin6_addr = in6addr_loopback;
        std::memcpy(&a.ss, &in6, sizeof in6);
        a.len = sizeof in6;
    }
    return a;
}

inline std::uint16_t local_port(const Fd& fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0);
    if (ss.ss_family == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, &ss, sizeof in);
        return ntohs(in.sin_port);
    }
    sockaddr_in6 in6{};
    std::memcpy(&in6, &ss, sizeof in6);
    return ntohs(in6.sin6_port);
}

inline std::uint64_t inode_of(const Fd& fd) {
    struct stat st {};
    REQUIRE(::fstat(fd.get(), &st) == 0);
    return st.st_ino;
}

inline Fd make_socket(int family, int type) {
    Fd fd(::socket(family, type | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    return fd;
}

inline Fd tcp_listener(int family, int backlog = 16) {
    Fd fd = make_socket(family, SOCK_STREAM);
    const Addr a = loopback(family, 0);
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a.ss), a.len) == 0);
    REQUIRE(::listen(fd.get(), backlog) == 0);
    return fd;
}

inline Fd tcp_connect(int family, std::uint16_t port) {
    Fd fd = make_socket(family, SOCK_STREAM);
    const Addr a = loopback(family, port);
    REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a.ss), a.len) == 0);
    return fd;
}

inline Fd accept_one(const Fd& listener) {
    Fd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(fd.valid());
    return fd;
}

inline IpAddr loopback_ip(int family) {
    return family == AF_INET ? IpAddr::v4(INADDR_LOOPBACK) : *IpAddr::parse("::1");
}

inline std::vector<SocketRecord> dump_all(SocketSource& source, Query q) {
    auto res = source.dump(q);
    INFO((res ? std::string() : res.error().message()));
    REQUIRE(res.ok());
    return std::move(res).value();
}

using Pred = std::function<bool(const SocketRecord&)>;

inline std::optional<SocketRecord> find(const std::vector<SocketRecord>& rs, const Pred& pred) {
    for (const auto& r : rs) {
        if (pred(r)) return r;
    }
    return std::nullopt;
}

/// Dumps until a record matches (state changes after a FIN take a moment), with a deadline.
inline std::optional<SocketRecord> wait_for_record(SocketSource& source, const Query& q,
                                                   const Pred& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (int i = 0; i < 500 && std::chrono::steady_clock::now() < deadline; ++i) {
        if (auto r = find(dump_all(source, q), pred)) return r;
        std::this_thread::sleep_for(
            std::chrono::milliseconds(10));  // poll interval of the deadline
    }
    return std::nullopt;
}

inline Pred by_ports(std::uint32_t local, std::uint32_t peer) {
    return [=](const SocketRecord& r) {
        return r.netid != Netid::unix_ && r.local.port == local && r.peer.port == peer;
    };
}

inline Query tcp_query() {
    Query q;
    q.tcp = true;
    q.states = all_states_mask;
    return q;
}

inline std::unique_ptr<SocketSource> netlink() {
    auto src = make_netlink_source();
    REQUIRE(src.ok());
    return std::move(src).value();
}

/// A fake proc root in a temp dir, removed at the end.
class FakeProc {
  public:
    FakeProc() {
        std::string tmpl = "/tmp/socklab-procfs-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        root_ = tmpl;
        REQUIRE(::mkdir((root_ + "/net").c_str(), 0755) == 0);
    }
    ~FakeProc() {
        for (const char* f : {"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix"}) {
            ::unlink((root_ + "/net/" + f).c_str());
        }
        ::rmdir((root_ + "/net").c_str());
        ::rmdir(root_.c_str());
    }
    FakeProc(const FakeProc&) = delete;
    FakeProc& operator=(const FakeProc&) = delete;

    void write(const std::string& name, const std::string& text) const {
        const Fd fd(::open((root_ + "/net/" + name).c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(fd.valid());
        REQUIRE(::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }
    const std::string& root() const { return root_; }

  private:
    std::string root_;
};

inline constexpr const char* tcp_header =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n";

inline std::string endpoint_text(const SocketRecord& r, const Endpoint& e) {
    if (r.netid == Netid::unix_)
        return (e.path.empty() ? "*" : e.path) + ":" + std::to_string(e.port);
    return e.addr.to_string() + ":" + std::to_string(e.port);
}

/// One line of a .expected file: what the generator knew about a socket it made.
inline std::string expected_line(const SocketRecord& r) {
    return std::string(netid_name(r.netid)) + " " + std::string(state_info(r.state).json) + " " +
           endpoint_text(r, r.local) + " " + endpoint_text(r, r.peer) + " " +
           std::to_string(r.inode);
}

inline std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> lines;
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
    std::string text(1 << 16, '\0');
    const auto n = ::read(fd.get(), text.data(), text.size());
    REQUIRE(n >= 0);
    text.resize(static_cast<std::size_t>(n));
    for (std::size_t at = 0; at < text.size();) {
        auto nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        if (nl > at) lines.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    return lines;
}

inline Query everything() {
    Query q;
    q.tcp = q.udp = q.raw = q.unix_ = true;
    return q;
}

inline std::string golden_dump(const std::string& name) {
    return std::string(SOCKLAB_GOLDEN_DIR) + "/dumps/" + name;
}

/// "tcp LISTEN 127.0.0.1:P 0.0.0.0:0 INODE" from what the kernel told the fd itself.
inline std::string inet_line(Netid netid, TcpState state, const Fd& fd, bool has_inode = true) {
    SocketRecord r;
    r.netid = netid;
    r.state = state;
    sockaddr_storage ss{};
    for (Endpoint* e : {&r.local, &r.peer}) {
        socklen_t len = sizeof ss;
        ss = {};
        const int rc = e == &r.local
                           ? ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len)
                           : ::getpeername(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
        const bool v6 =
            ss.ss_family == AF_INET6 || (rc != 0 && r.local.addr.family == Family::inet6);
        e->addr.family = v6 ? Family::inet6 : Family::inet;
        if (rc != 0) continue;
        sockaddr_in6 in6{};
        sockaddr_in in{};
        if (v6) {
            std::memcpy(&in6, &ss, sizeof in6);
            std::memcpy(e->addr.bytes.data(), &in6.sin6_addr, 16);
            e->port = ntohs(in6.sin6_port);
        } else {
            std::memcpy(&in, &ss, sizeof in);
            std::memcpy(e->addr.bytes.data(), &in.sin_addr, 4);
            e->port = ntohs(in.sin_port);
        }
    }
    if (netid == Netid::raw) r.local.port = IPPROTO_ICMP;
    r.inode = has_inode ? inode_of(fd) : 0;
    return expected_line(r);
}

inline std::string unix_line(TcpState state, const std::string& path, const Fd& fd,
                             std::uint64_t peer) {
    SocketRecord r;
    r.netid = Netid::unix_;
    r.state = state;
    r.local.path = path;
    r.inode = inode_of(fd);
    r.local.port = static_cast<std::uint32_t>(r.inode);
    r.peer.port = static_cast<std::uint32_t>(peer);
    return expected_line(r);
}

}  // namespace diag_test
