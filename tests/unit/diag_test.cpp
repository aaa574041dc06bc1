// Unit tests for the diag module: netlink, procfs and replay sources on real loopback sockets.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "diag_support.hpp"
#include "socklab/detail/netlink_decode.hpp"
#include "socklab/diag.hpp"

using namespace socklab;
using namespace socklab::diag;
using namespace diag_test;

TEST_CASE("netlink shows a listener with its address, inode, uid and queues", "[diag]") {
    for (const int family : {AF_INET, AF_INET6}) {
        const Fd lst = tcp_listener(family, 7);
        const auto port = local_port(lst);
        const Fd cli = tcp_connect(family, port);  // not accepted: accept queue 1
        auto src = netlink();
        Query q = tcp_query();
        q.states = state_bit(TcpState::listen);
        const auto rec = wait_for_record(
            *src, q, [&](const SocketRecord& r) { return r.local.port == port && r.recv_q == 1; });
        REQUIRE(rec);
        CHECK(rec->netid == Netid::tcp);
        CHECK(rec->family == (family == AF_INET ? Family::inet : Family::inet6));
        CHECK(rec->state == TcpState::listen);
        CHECK(rec->local.addr == loopback_ip(family));
        CHECK(rec->peer.addr.is_any());
        CHECK(rec->peer.port == 0);
        CHECK(rec->send_q == 7);  // the backlog, as ss shows it
        CHECK(rec->inode == inode_of(lst));
        CHECK(rec->uid == ::getuid());
        CHECK(rec->cookie != 0);
        CHECK_FALSE(rec->timer);
    }
}

TEST_CASE("netlink shows both ends of an established connection", "[diag]") {
    for (const int family : {AF_INET, AF_INET6}) {
        const Fd lst = tcp_listener(family);
        const Fd cli = tcp_connect(family, local_port(lst));
        const Fd srv = accept_one(lst);
        const auto cport = local_port(cli);
        const auto sport = local_port(lst);
        auto src = netlink();
        const auto all = dump_all(*src, tcp_query());
        const auto c = find(all, by_ports(cport, sport));
        const auto s = find(all, by_ports(sport, cport));
        REQUIRE(c);
        REQUIRE(s);
        CHECK(c->state == TcpState::established);
        CHECK(s->state == TcpState::established);
        CHECK(c->inode == inode_of(cli));
        CHECK(s->inode == inode_of(srv));
        CHECK(c->peer.addr == loopback_ip(family));
        CHECK(c->cookie != s->cookie);
        CHECK_FALSE(c->tcp_info);
    }
}

TEST_CASE("dump_each streams the same records as dump, in batches", "[diag]") {
    const Fd lst = tcp_listener(AF_INET);
    const Fd cli = tcp_connect(AF_INET, local_port(lst));
    const Fd srv = accept_one(lst);
    auto src = netlink();
    Query q = tcp_query();
    q.unix_ = true;
    std::vector<std::uint64_t> streamed;
    std::size_t batches = 0;
    REQUIRE(src->dump_each(q,
                           [&](std::span<SocketRecord> batch) -> Result<void> {
                               ++batches;
                               for (const auto& r : batch)
                                   streamed.push_back(r.inode);
                               return {};
                           })
                .ok());
    CHECK(batches >= 3);  // tcp4, tcp6 and unix each end in at least one datagram
    for (const Fd* fd : {&lst, &cli, &srv}) {
        CHECK(std::find(streamed.begin(), streamed.end(), inode_of(*fd)) != streamed.end());
    }
    const auto stop = src->dump_each(q, [](std::span<SocketRecord>) -> Result<void> {
        return make_error(std::errc::interrupted, "stop");
    });
    REQUIRE_FALSE(stop.ok());
    CHECK(stop.error().context == "stop");
    CHECK(dump_all(*src, q).size() >= 3);  // the source still works after a stopped stream
}

TEST_CASE("netlink passes the query's bytecode to the kernel", "[diag]") {
    const Fd a = tcp_listener(AF_INET);
    const Fd b = tcp_listener(AF_INET);
    // inet_diag bytecode "sport == A": {INET_DIAG_BC_S_EQ (11), yes 8, no 12} then an
    // op whose `no` holds the port. Jumping exactly to the end accepts; past it rejects.
    const std::uint16_t port = local_port(a);
    const std::array<std::uint8_t, 8> ops = {11,
                                             8,
                                             12,
                                             0,
                                             0,
                                             0,
                                             static_cast<std::uint8_t>(port & 0xff),
                                             static_cast<std::uint8_t>(port >> 8)};
    Query q = tcp_query();
    q.states = state_bit(TcpState::listen);
    for (const auto o : ops)
        q.bytecode.push_back(static_cast<std::byte>(o));
    auto src = netlink();
    const auto rs = dump_all(*src, q);
    CHECK(find(rs, [&](const SocketRecord& r) { return r.inode == inode_of(a); }));
    CHECK_FALSE(find(rs, [&](const SocketRecord& r) { return r.inode == inode_of(b); }));
    for (const auto& r : rs)
        CHECK(r.local.port == port);
}

TEST_CASE("netlink sends the state mask to the kernel", "[diag]") {
    const Fd lst = tcp_listener(AF_INET);
    const Fd cli = tcp_connect(AF_INET, local_port(lst));
    const Fd srv = accept_one(lst);
    auto src = netlink();
    Query q = tcp_query();
    q.ipv6 = false;
    q.states = state_bit(TcpState::established);
    const auto rs = dump_all(*src, q);
    CHECK(find(rs, by_ports(local_port(cli), local_port(lst))));
    for (const auto& r : rs)
        CHECK(r.state == TcpState::established);
    q.states = state_bit(TcpState::listen);
    for (const auto& r : dump_all(*src, q))
        CHECK(r.state == TcpState::listen);
}

TEST_CASE("netlink shows FIN_WAIT2 and CLOSE_WAIT after a half close", "[diag]") {
    const Fd lst = tcp_listener(AF_INET);
    const Fd cli = tcp_connect(AF_INET, local_port(lst));
    const Fd srv = accept_one(lst);
    REQUIRE(::shutdown(cli.get(), SHUT_WR) == 0);
    auto src = netlink();
    const auto cport = local_port(cli);
    const auto sport = local_port(lst);
    const auto c = wait_for_record(*src, tcp_query(), [&](const SocketRecord& r) {
        return by_ports(cport, sport)(r) && r.state == TcpState::fin_wait2;
    });
    const auto s = wait_for_record(*src, tcp_query(), [&](const SocketRecord& r) {
        return by_ports(sport, cport)(r) && r.state == TcpState::close_wait;
    });
    REQUIRE(c);
    REQUIRE(s);
    CHECK(c->inode == inode_of(cli));
    CHECK(s->inode == inode_of(srv));
}

TEST_CASE("netlink shows TIME_WAIT on the active closer, without an inode", "[diag]") {
    const Fd lst = tcp_listener(AF_INET);
    Fd cli = tcp_connect(AF_INET, local_port(lst));
    Fd srv = accept_one(lst);
    const auto cport = local_port(cli);
    const auto sport = local_port(lst);
    cli.reset();  // active close: FIN_WAIT2 until the server closes too
    auto src = netlink();
    REQUIRE(wait_for_record(*src, tcp_query(), [&](const SocketRecord& r) {
        return by_ports(sport, cport)(r) && r.state == TcpState::close_wait;
    }));
    srv.reset();
    const auto tw = wait_for_record(*src, tcp_query(), [&](const SocketRecord& r) {
        return by_ports(cport, sport)(r) && r.state == TcpState::time_wait;
    });
    REQUIRE(tw);
    CHECK(tw->inode == 0);
    REQUIRE(tw->timer);
    CHECK(tw->timer->kind == TimerInfo::Kind::timewait);
    CHECK(tw->timer->expires_ms > 0);
}

TEST_CASE("netlink fills tcp_info, congestion and memory when asked", "[diag]") {
    const Fd lst = tcp_listener(AF_INET);
    const Fd cli = tcp_connect(AF_INET, local_port(lst));
    const Fd srv = accept_one(lst);
    auto src = netlink();
    Query q = tcp_query();
    q.want_info = true;
    q.want_memory = true;
    const auto c = find(dump_all(*src, q), by_ports(local_port(cli), local_port(lst)));
    REQUIRE(c);
    REQUIRE(c->tcp_info);
    CHECK_FALSE(c->tcp_info->congestion.empty());
    CHECK(c->tcp_info->snd_mss > 0);
    CHECK(c->tcp_info->rto_us > 0);
    REQUIRE(c->mem);
    CHECK(c->mem->rcvbuf > 0);
    CHECK(c->mem->sndbuf > 0);
}

TEST_CASE("netlink shows UDP sockets unconnected as CLOSE and connected as ESTABLISHED", "[diag]") {
    Fd a = make_socket(AF_INET, SOCK_DGRAM);
    const Addr any = loopback(AF_INET, 0);
    REQUIRE(::bind(a.get(), reinterpret_cast<const sockaddr*>(&any.ss), any.len) == 0);
    Fd b = make_socket(AF_INET, SOCK_DGRAM);
    const Addr to = loopback(AF_INET, local_port(a));
    REQUIRE(::connect(b.get(), reinterpret_cast<const sockaddr*>(&to.ss), to.len) == 0);
    auto src = netlink();
    Query q;
    q.tcp = false;
    q.udp = true;
    const auto rs = dump_all(*src, q);
    const auto ra = find(rs, by_ports(local_port(a), 0));
    const auto rb = find(rs, by_ports(local_port(b), local_port(a)));
    REQUIRE(ra);
    REQUIRE(rb);
    CHECK(ra->netid == Netid::udp);
    CHECK(ra->state == TcpState::close);
    CHECK(rb->state == TcpState::established);
    CHECK(ra->inode == inode_of(a));
    CHECK(rb->inode == inode_of(b));
}

TEST_CASE("netlink shows unix sockets with path, type, peer inode and queues", "[diag]") {
    const std::string name = "socklab-diag-test-" + std::to_string(::getpid());
    Fd lst = make_socket(AF_UNIX, SOCK_STREAM);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path + 1, name.data(), name.size());  // abstract: no file to clean up
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    REQUIRE(::bind(lst.get(), reinterpret_cast<const sockaddr*>(&sun), len) == 0);
    REQUIRE(::listen(lst.get(), 4) == 0);
    int pair[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
    const Fd p0(pair[0]);
    const Fd p1(pair[1]);
    REQUIRE(::send(p0.get(), "hello", 5, 0) == 5);
    auto src = netlink();
    Query q;
    q.tcp = false;
    q.unix_ = true;
    const auto rs = dump_all(*src, q);
    const auto l = find(rs, [&](const SocketRecord& r) { return r.inode == inode_of(lst); });
    const auto r1 = find(rs, [&](const SocketRecord& r) { return r.inode == inode_of(p1); });
    REQUIRE(l);
    REQUIRE(r1);
    CHECK(l->netid == Netid::unix_);
    CHECK(l->unix_type == UnixType::stream);
    CHECK(l->state == TcpState::listen);
    CHECK(l->local.path == "@" + name);
    CHECK(l->local.port == inode_of(lst));
    CHECK(l->uid == ::getuid());
    CHECK(r1->unix_type == UnixType::seqpacket);
    CHECK(r1->state == TcpState::established);
    CHECK(r1->peer_inode == inode_of(p0));
    CHECK(r1->recv_q > 0);  // p1 has "hello" waiting
}

TEST_CASE("decoder rejects malformed replies without reading past the end", "[diag]") {
    const Fd lst = tcp_listener(AF_INET);
    auto src = make_netlink_source();
    REQUIRE(src.ok());
    std::vector<SocketRecord> out;
    const detail::DumpRequest req{Netid::tcp, Family::inet};

    // A header cut short.
    std::vector<std::byte> bytes(10, std::byte{0});
    CHECK_FALSE(detail::decode_replies(bytes, req, out).ok());

    // nlmsg_len larger than the datagram.
    bytes.assign(16, std::byte{0});
    const std::uint32_t big = 4096;
    std::memcpy(bytes.data(), &big, sizeof big);
    CHECK_FALSE(detail::decode_replies(bytes, req, out).ok());

    // A well-formed header around a payload too short for inet_diag_msg.
    bytes.assign(16 + 8, std::byte{0});
    const std::uint32_t len = 24;
    const std::uint16_t type = 20;  // SOCK_DIAG_BY_FAMILY
    std::memcpy(bytes.data(), &len, sizeof len);
    std::memcpy(bytes.data() + 4, &type, sizeof type);
    CHECK_FALSE(detail::decode_replies(bytes, req, out).ok());
    CHECK(out.empty());
}

TEST_CASE("decoder rejects an attribute whose length runs past the message", "[diag]") {
    // inet_diag_msg is 72 bytes; an attribute header follows claiming 200 bytes.
    const std::size_t msg_len = 16 + 72 + 4;
    std::vector<std::byte> bytes(msg_len, std::byte{0});
    const auto len = static_cast<std::uint32_t>(msg_len);
    const std::uint16_t type = 20;
    std::memcpy(bytes.data(), &len, sizeof len);
    std::memcpy(bytes.data() + 4, &type, sizeof type);
    bytes[16] = std::byte{AF_INET};
    const std::uint16_t rta_len = 200;
    std::memcpy(bytes.data() + 16 + 72, &rta_len, sizeof rta_len);
    std::vector<SocketRecord> out;
    const auto res = detail::decode_replies(bytes, {Netid::tcp, Family::inet}, out);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().message().find("attribute") != std::string::npos);
    CHECK(out.empty());

    // Same for a unix message (unix_diag_msg is 16 bytes).
    std::vector<std::byte> ux(16 + 16 + 4, std::byte{0});
    const auto ulen = static_cast<std::uint32_t>(ux.size());
    std::memcpy(ux.data(), &ulen, sizeof ulen);
    std::memcpy(ux.data() + 4, &type, sizeof type);
    std::memcpy(ux.data() + 32, &rta_len, sizeof rta_len);
    CHECK_FALSE(detail::decode_replies(ux, {Netid::unix_, Family::unix_}, out).ok());
    CHECK(out.empty());
}

TEST_CASE("decoder reports a dump the kernel ended with an error", "[diag]") {
    // NLMSG_DONE whose status is -ENOENT: what a kernel without raw_diag sends.
    std::vector<std::byte> bytes(20, std::byte{0});
    const std::uint32_t len = 20;
    const std::uint16_t type = 3;  // NLMSG_DONE
    const int status = -ENOENT;
    std::memcpy(bytes.data(), &len, sizeof len);
    std::memcpy(bytes.data() + 4, &type, sizeof type);
    std::memcpy(bytes.data() + 16, &status, sizeof status);
    std::vector<SocketRecord> out;
    const auto res = detail::decode_replies(bytes, {Netid::raw, Family::inet}, out);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == std::errc::no_such_file_or_directory);
    CHECK(res.error().context == "sock_diag dump raw4");
}

TEST_CASE("netlink shows raw sockets, from /proc/net when the kernel has no raw_diag", "[diag]") {
    const Fd raw(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
    REQUIRE(raw.valid());  // tests run as root
    auto src = netlink();
    Query q;
    q.tcp = false;
    q.raw = true;
    const auto r =
        find(dump_all(*src, q), [&](const SocketRecord& x) { return x.inode == inode_of(raw); });
    REQUIRE(r);
    CHECK(r->netid == Netid::raw);
    CHECK(r->state == TcpState::close);
    CHECK(r->local.port == IPPROTO_ICMP);
}

TEST_CASE("destroy_socket kills an established socket or says why not", "[diag]") {
    const Fd lst = tcp_listener(AF_INET);
    const Fd cli = tcp_connect(AF_INET, local_port(lst));
    const Fd srv = accept_one(lst);
    auto src = netlink();
    const auto pred = by_ports(local_port(cli), local_port(lst));
    const auto rec = find(dump_all(*src, tcp_query()), pred);
    REQUIRE(rec);
    const auto res = destroy_socket(*rec);
    if (!res) {
        // Kernels built without CONFIG_INET_DIAG_DESTROY refuse.
        CHECK(res.error().code == std::errc::operation_not_supported);
        CHECK(res.error().context.find("destroy tcp 127.0.0.1:") == 0);
        return;
    }
    char byte = 0;
    CHECK(::recv(cli.get(), &byte, 1, 0) == -1);
    CHECK(errno == ECONNABORTED);
    CHECK_FALSE(find(dump_all(*src, tcp_query()), [&](const SocketRecord& r) {
        return pred(r) && r.state == TcpState::established;
    }));
    SocketRecord gone = *rec;
    CHECK_FALSE(destroy_socket(gone).ok());
}

TEST_CASE("enter_netns moves the thread into a named namespace, or names it in the error",
          "[diag]") {
    const auto missing = enter_netns("socklab-no-such-netns");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find("netns socklab-no-such-netns: ") == 0);
    CHECK_FALSE(enter_netns("../etc").ok());

    const std::string name = "socklab-diag-" + std::to_string(::getpid());
    REQUIRE(std::system(("ip netns add " + name).c_str()) == 0);
    const Fd lst = tcp_listener(AF_INET);
    const auto ino = inode_of(lst);
    bool entered = false, seen_inside = true;
    // setns() moves only the calling thread: do it on a thread of its own.
    std::thread([&] {
        entered = enter_netns(name).ok();
        auto src = make_netlink_source();
        if (!entered || !src) return;
        auto rs = (*src)->dump(tcp_query());
        seen_inside = !rs || find(*rs, [&](const SocketRecord& r) { return r.inode == ino; });
    }).join();
    CHECK(std::system(("ip netns del " + name).c_str()) == 0);
    CHECK(entered);
    CHECK_FALSE(seen_inside);
}

TEST_CASE("request asks for request sockets when SYN_RECV is wanted", "[diag]") {
    Query q;
    q.states = state_bit(TcpState::syn_recv);
    CHECK((detail::kernel_states(q, Netid::tcp) & state_bit(TcpState::new_syn_recv)) != 0);
    CHECK((detail::kernel_states(q, Netid::tcp) & state_bit(TcpState::bound_inactive)) == 0);
    q.states = state_bit(TcpState::listen);
    CHECK(detail::kernel_states(q, Netid::tcp) == state_bit(TcpState::listen));
    q.states |= state_bit(TcpState::bound_inactive);
    CHECK((detail::kernel_states(q, Netid::tcp) & state_bit(TcpState::bound_inactive)) != 0);
}

TEST_CASE("netlink shows a request socket as SYN_RECV when that state is asked for", "[diag]") {
    // TCP_DEFER_ACCEPT keeps the request socket in SYN_RECV until data arrives,
    // although the client side is already ESTABLISHED.
    const Fd lst = make_socket(AF_INET, SOCK_STREAM);
    const int defer = 5;
    REQUIRE(::setsockopt(lst.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer) == 0);
    const Addr a = loopback(AF_INET, 0);
    REQUIRE(::bind(lst.get(), reinterpret_cast<const sockaddr*>(&a.ss), a.len) == 0);
    REQUIRE(::listen(lst.get(), 4) == 0);
    const Fd cli = tcp_connect(AF_INET, local_port(lst));
    auto src = netlink();
    Query q = tcp_query();
    q.states = state_bit(TcpState::syn_recv);
    const auto rec = wait_for_record(*src, q, by_ports(local_port(lst), local_port(cli)));
    REQUIRE(rec);
    CHECK(rec->state == TcpState::syn_recv);
    CHECK(rec->inode == 0);
    REQUIRE(rec->timer);
    CHECK(rec->timer->kind == TimerInfo::Kind::on);
}

namespace {

/// The fields both sources must agree on (procfs has no cookie, queues differ for listeners).
struct Key {
    Netid netid;
    TcpState state;
    Endpoint local;
    Endpoint peer;
    std::uint64_t inode;
    std::uint32_t uid;
    friend bool operator==(const Key&, const Key&) = default;
};

Key key_of(const SocketRecord& r) {
    const bool has_uid = r.netid != Netid::unix_;  // /proc/net/unix has no uid column
    Endpoint peer = r.peer;
    if (r.netid == Netid::unix_) peer.port = 0;  // nor a peer inode
    return {r.netid, r.state, r.local, peer, r.inode, has_uid ? r.uid : 0U};
}

std::string describe(const Key& k) {
    return std::string(netid_name(k.netid)) + " " + std::string(state_info(k.state).json) + " " +
           k.local.addr.to_string() + ":" + std::to_string(k.local.port) + k.local.path + " " +
           k.peer.addr.to_string() + ":" + std::to_string(k.peer.port) + " ino " +
           std::to_string(k.inode);
}

}  // namespace

TEST_CASE("netlink and procfs give the same records for the same sockets", "[diag]") {
    const Fd lst4 = tcp_listener(AF_INET);
    const Fd lst6 = tcp_listener(AF_INET6);
    const Fd cli = tcp_connect(AF_INET, local_port(lst4));
    const Fd srv = accept_one(lst4);
    const Fd cli6 = tcp_connect(AF_INET6, local_port(lst6));
    Fd udp = make_socket(AF_INET6, SOCK_DGRAM);
    const Addr any6 = loopback(AF_INET6, 0);
    REQUIRE(::bind(udp.get(), reinterpret_cast<const sockaddr*>(&any6.ss), any6.len) == 0);
    int pair[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    const Fd u0(pair[0]);
    const Fd u1(pair[1]);
    const std::string name = "socklab-cmp-" + std::to_string(::getpid());
    Fd ul = make_socket(AF_UNIX, SOCK_STREAM);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path + 1, name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    REQUIRE(::bind(ul.get(), reinterpret_cast<const sockaddr*>(&sun), len) == 0);
    REQUIRE(::listen(ul.get(), 2) == 0);

    Query q;
    q.tcp = q.udp = q.unix_ = true;
    auto nl = netlink();
    auto pf = make_procfs_source();
    CHECK(pf->name() == "procfs");
    const auto a = dump_all(*nl, q);
    const auto b = dump_all(*pf, q);
    std::vector<std::uint64_t> inodes = {inode_of(lst4), inode_of(lst6), inode_of(cli),
                                         inode_of(srv),  inode_of(cli6), inode_of(udp),
                                         inode_of(u0),   inode_of(u1),   inode_of(ul)};
    for (const auto ino : inodes) {
        const auto ra = find(a, [&](const SocketRecord& r) { return r.inode == ino; });
        const auto rb = find(b, [&](const SocketRecord& r) { return r.inode == ino; });
        REQUIRE(ra);
        REQUIRE(rb);
        INFO(describe(key_of(*ra)) + " vs " + describe(key_of(*rb)));
        CHECK(key_of(*ra) == key_of(*rb));
        CHECK(ra->family == rb->family);
        CHECK(ra->unix_type == rb->unix_type);
        CHECK(rb->cookie == 0);
    }
}

TEST_CASE("procfs parses addresses, states, queues, timers and unix lines", "[diag]") {
    FakeProc fake;
    fake.write("tcp", std::string(tcp_header) +
                          "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 "
                          "00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n"
                          "   1: 0100007F:A000 0100007F:1F90 06 00000000:00000000 03:00000BB8 "
                          "00000000     0        0 0 3 0000000000000000\n");
    fake.write("tcp6", std::string(tcp_header) +
                           "   0: 00000000000000000000000001000000:0050 "
                           "00000000000000000000000001000000:C000 01 00000010:00000020 02:00000064 "
                           "00000002     0        0 77 1 0000000000000000 20 4 30 10 -1\n");
    fake.write("unix",
               "Num       RefCount Protocol Flags    Type St Inode Path\n"
               "0000000000000000: 00000002 00000000 00010000 0001 01 900 /run/x.sock\n"
               "0000000000000000: 00000002 00000000 00000000 0005 03 901 @abs@name\n"
               "0000000000000000: 00000002 00000000 00000000 0002 01 902\n");
    auto src = make_procfs_source(fake.root());
    Query q;
    q.unix_ = true;
    const auto rs = dump_all(*src, q);
    REQUIRE(rs.size() == 6);
    CHECK(rs[0].state == TcpState::listen);
    CHECK(rs[0].local.addr.to_string() == "127.0.0.1");
    CHECK(rs[0].local.port == 8080);
    CHECK(rs[0].recv_q == 3);
    CHECK(rs[0].uid == 1000);
    CHECK(rs[0].inode == 4242);
    CHECK_FALSE(rs[0].timer);
    CHECK(rs[1].state == TcpState::time_wait);
    CHECK(rs[1].peer.port == 8080);
    REQUIRE(rs[1].timer);
    CHECK(rs[1].timer->kind == TimerInfo::Kind::timewait);
    CHECK(rs[1].timer->expires_ms == 3000 * 1000 / static_cast<unsigned>(::sysconf(_SC_CLK_TCK)));
    CHECK(rs[2].family == Family::inet6);
    CHECK(rs[2].local.addr.to_string() == "::1");
    CHECK(rs[2].peer.port == 0xC000);
    CHECK(rs[2].send_q == 16);
    CHECK(rs[2].recv_q == 32);
    REQUIRE(rs[2].timer);
    CHECK(rs[2].timer->kind == TimerInfo::Kind::keepalive);
    CHECK(rs[2].timer->retrans == 2);
    CHECK(rs[3].netid == Netid::unix_);
    CHECK(rs[3].state == TcpState::listen);
    CHECK(rs[3].unix_type == UnixType::stream);
    CHECK(rs[3].local.path == "/run/x.sock");
    CHECK(rs[3].local.port == 900);
    CHECK(rs[4].state == TcpState::established);
    CHECK(rs[4].unix_type == UnixType::seqpacket);
    CHECK(rs[4].local.path == "@abs@name");
    CHECK(rs[5].state == TcpState::close);
    CHECK(rs[5].local.path.empty());

    q.states = state_bit(TcpState::listen);
    CHECK(dump_all(*src, q).size() == 2);
}

TEST_CASE("procfs reports an unparsable line as an error naming the file and line", "[diag]") {
    FakeProc fake;
    fake.write("tcp", std::string(tcp_header) + "   0: 0100007F:1F90 garbage\n");
    auto src = make_procfs_source(fake.root());
    Query q;
    q.ipv6 = false;
    const auto res = src->dump(q);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().message().find("/net/tcp line 2") != std::string::npos);
}

TEST_CASE("open_source picks the kind asked for", "[diag]") {
    auto a = open_source(SourceKind::automatic);
    REQUIRE(a.ok());
    CHECK((*a)->name() == "netlink");
    auto p = open_source(SourceKind::procfs);
    REQUIRE(p.ok());
    CHECK((*p)->name() == "procfs");
}

TEST_CASE("record_dump then replay gives the live records", "[diag]") {
    const Fd lst = tcp_listener(AF_INET6);
    const Fd cli = tcp_connect(AF_INET6, local_port(lst));
    std::string path = "/tmp/socklab-dump-XXXXXX";
    const Fd tmp(::mkstemp(path.data()));
    REQUIRE(tmp.valid());
    Query q = tcp_query();
    q.want_info = true;
    REQUIRE(record_dump(q, path).ok());
    auto replay = make_replay_source(path);
    ::unlink(path.c_str());
    REQUIRE(replay.ok());
    CHECK((*replay)->name() == "replay");
    const auto rs = dump_all(**replay, q);
    const auto l = find(rs, [&](const SocketRecord& r) { return r.inode == inode_of(lst); });
    const auto c = find(rs, [&](const SocketRecord& r) { return r.inode == inode_of(cli); });
    REQUIRE(l);
    REQUIRE(c);
    CHECK(l->state == TcpState::listen);
    CHECK(c->state == TcpState::established);
    REQUIRE(c->tcp_info);
    CHECK_FALSE(c->tcp_info->congestion.empty());
    Query v4 = q;
    v4.ipv6 = false;
    CHECK_FALSE(find(dump_all(**replay, v4),
                     [&](const SocketRecord& r) { return r.inode == inode_of(lst); }));
}

TEST_CASE("replay of the recorded golden dumps gives the sockets the generator made", "[diag]") {
    for (const char* name : {"mix", "mix-plain"}) {
        INFO(name);
        auto src = make_replay_source(golden_dump(std::string(name) + ".dump"));
        REQUIRE(src.ok());
        const auto rs = dump_all(**src, everything());
        const auto expected = read_lines(golden_dump("mix.expected"));
        REQUIRE(expected.size() > 10);
        // The dump was made in a fresh netns: nothing but the generator's sockets.
        CHECK(rs.size() == expected.size());
        std::vector<std::string> got;
        for (const auto& r : rs)
            got.push_back(expected_line(r));
        for (const auto& line : expected) {
            INFO(line);
            CHECK(std::find(got.begin(), got.end(), line) != got.end());
        }
        const bool with_info = std::string(name) == "mix";
        for (const auto& r : rs) {
            if (r.netid == Netid::tcp && r.state == TcpState::established) {
                CHECK(r.tcp_info.has_value() == with_info);
                CHECK(r.mem.has_value() == with_info);
            }
        }
    }
}

TEST_CASE("replay applies the query's protocols and state mask", "[diag]") {
    auto src = make_replay_source(golden_dump("mix-plain.dump"));
    REQUIRE(src.ok());
    Query q = everything();
    q.states = state_bit(TcpState::listen);
    const auto listeners = dump_all(**src, q);
    REQUIRE_FALSE(listeners.empty());
    for (const auto& r : listeners)
        CHECK(r.state == TcpState::listen);
    q = tcp_query();
    q.states = state_bit(TcpState::syn_recv);
    const auto syn = dump_all(**src, q);
    REQUIRE(syn.size() == 1);
    CHECK(syn[0].inode == 0);
    q.tcp = false;
    q.unix_ = true;
    q.states = all_states_mask;
    for (const auto& r : dump_all(**src, q))
        CHECK(r.netid == Netid::unix_);
}

TEST_CASE("replay rejects a file that is not a dump or is cut short", "[diag]") {
    FakeProc dir;
    dir.write("tcp", "not a dump at all\n");
    auto bad = make_replay_source(dir.root() + "/net/tcp");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message().find("magic") != std::string::npos);
    dir.write("udp", std::string(detail::dump_magic) + std::string("\0\0\0\0\xff\0\0\0abc", 11));
    auto cut = make_replay_source(dir.root() + "/net/udp");
    REQUIRE_FALSE(cut.ok());
    CHECK(cut.error().message().find("past the end") != std::string::npos);
    CHECK_FALSE(make_replay_source(dir.root() + "/missing").ok());
}

TEST_CASE("replay checks type, magic and size before reading the file", "[diag]") {
    FakeProc dir;
    const auto started = std::chrono::steady_clock::now();
    const auto reason = [](const std::string& path) {
        auto src = make_replay_source(path);
        return src ? std::string("(opened)") : src.error().message();
    };
    CHECK(reason(dir.root()).find("Is a directory") != std::string::npos);
    CHECK(reason("/dev/zero").find("not a regular file") != std::string::npos);
    // A FIFO without a writer: refused at once, not waited on.
    REQUIRE(::mkfifo((dir.root() + "/net/raw").c_str(), 0600) == 0);
    CHECK(reason(dir.root() + "/net/raw").find("not a regular file") != std::string::npos);
    // 4 GiB of zeros (sparse): the magic is read, not the file.
    dir.write("tcp", "");
    REQUIRE(::truncate((dir.root() + "/net/tcp").c_str(), 4LL << 30) == 0);
    CHECK(reason(dir.root() + "/net/tcp").find("bad magic") != std::string::npos);
    // The right magic and then 4 GiB: refused by its size, before reading it.
    dir.write("udp", std::string(detail::dump_magic));
    REQUIRE(::truncate((dir.root() + "/net/udp").c_str(), 4LL << 30) == 0);
    CHECK(reason(dir.root() + "/net/udp").find("larger than 256 MiB") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}

// Regenerates tests/golden/dumps (see its README.md): run explicitly, as root,
// `unit_diag "[.generate]"`. Moves this process into a fresh netns first.
TEST_CASE("generate the golden dumps", "[.generate]") {
    REQUIRE(::unshare(CLONE_NEWNET) == 0);
    {
        const Fd ctl = make_socket(AF_INET, SOCK_DGRAM);
        ifreq ifr{};
        std::strcpy(ifr.ifr_name, "lo");
        ifr.ifr_flags = IFF_UP;
        REQUIRE(::ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) == 0);
    }
    std::vector<std::string> lines;
    const auto add = [&](std::string line) { lines.push_back(std::move(line)); };
    const Fd l4 = tcp_listener(AF_INET, 8), l6 = tcp_listener(AF_INET6, 8);
    const Fd c4 = tcp_connect(AF_INET, local_port(l4)), s4 = accept_one(l4);
    const Fd c6 = tcp_connect(AF_INET6, local_port(l6)), s6 = accept_one(l6);
    const Fd hc = tcp_connect(AF_INET, local_port(l4)), hs = accept_one(l4);
    REQUIRE(::shutdown(hc.get(), SHUT_WR) == 0);
    Fd tc = tcp_connect(AF_INET6, local_port(l6)), ts = accept_one(l6);
    add(inet_line(Netid::tcp, TcpState::time_wait, tc, false));
    tc.reset();
    auto src = netlink();
    REQUIRE(wait_for_record(*src, tcp_query(), [&](const SocketRecord& r) {
        return r.state == TcpState::close_wait && r.local.port == local_port(l6);
    }));
    ts.reset();
    REQUIRE(wait_for_record(*src, tcp_query(),
                            [](const SocketRecord& r) { return r.state == TcpState::time_wait; }));
    const Fd dl = make_socket(AF_INET, SOCK_STREAM);
    const int defer = 30;
    REQUIRE(::setsockopt(dl.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer) == 0);
    const Addr a4 = loopback(AF_INET, 0), a6 = loopback(AF_INET6, 0);
    REQUIRE(::bind(dl.get(), reinterpret_cast<const sockaddr*>(&a4.ss), a4.len) == 0);
    REQUIRE(::listen(dl.get(), 4) == 0);
    const Fd dc = tcp_connect(AF_INET, local_port(dl));
    const Fd u4 = make_socket(AF_INET, SOCK_DGRAM), u6 = make_socket(AF_INET6, SOCK_DGRAM);
    const Fd u6c = make_socket(AF_INET6, SOCK_DGRAM);
    REQUIRE(::bind(u4.get(), reinterpret_cast<const sockaddr*>(&a4.ss), a4.len) == 0);
    REQUIRE(::bind(u6.get(), reinterpret_cast<const sockaddr*>(&a6.ss), a6.len) == 0);
    const Addr to6 = loopback(AF_INET6, local_port(u6));
    REQUIRE(::connect(u6c.get(), reinterpret_cast<const sockaddr*>(&to6.ss), to6.len) == 0);
    const Fd raw(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
    REQUIRE(raw.valid());
    const std::string name = "socklab-golden";
    const Fd ul = make_socket(AF_UNIX, SOCK_STREAM), uc = make_socket(AF_UNIX, SOCK_STREAM);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path + 1, name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    REQUIRE(::bind(ul.get(), reinterpret_cast<const sockaddr*>(&sun), len) == 0);
    REQUIRE(::listen(ul.get(), 4) == 0);
    REQUIRE(::connect(uc.get(), reinterpret_cast<const sockaddr*>(&sun), len) == 0);
    const Fd ua = accept_one(ul);
    int dg[2] = {-1, -1}, sp[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dg) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
    const Fd dg0(dg[0]), dg1(dg[1]), sp0(sp[0]), sp1(sp[1]);
    REQUIRE(wait_for_record(*src, tcp_query(), [&](const SocketRecord& r) {
        return r.state == TcpState::fin_wait2 && r.local.port == local_port(hc);
    }));

    add(inet_line(Netid::tcp, TcpState::listen, l4));
    add(inet_line(Netid::tcp, TcpState::listen, l6));
    add(inet_line(Netid::tcp, TcpState::listen, dl));
    for (const Fd* fd : {&c4, &s4, &c6, &s6, &dc})
        add(inet_line(Netid::tcp, TcpState::established, *fd));
    add(inet_line(Netid::tcp, TcpState::fin_wait2, hc));
    add(inet_line(Netid::tcp, TcpState::close_wait, hs));
    SocketRecord req;  // the request socket: the listener's address, the client's as peer
    req.netid = Netid::tcp;
    req.state = TcpState::syn_recv;
    req.local = {IpAddr::v4(INADDR_LOOPBACK), local_port(dl), {}};
    req.peer = {IpAddr::v4(INADDR_LOOPBACK), local_port(dc), {}};
    add(expected_line(req));
    add(inet_line(Netid::udp, TcpState::close, u4));
    add(inet_line(Netid::udp, TcpState::close, u6));
    add(inet_line(Netid::udp, TcpState::established, u6c));
    add(unix_line(TcpState::listen, "@" + name, ul, 0));
    add(unix_line(TcpState::established, "", uc, inode_of(ua)));
    add(unix_line(TcpState::established, "@" + name, ua, inode_of(uc)));
    add(unix_line(TcpState::established, "", dg0, inode_of(dg1)));
    add(unix_line(TcpState::established, "", dg1, inode_of(dg0)));
    add(unix_line(TcpState::established, "", sp0, inode_of(sp1)));
    add(unix_line(TcpState::established, "", sp1, inode_of(sp0)));

    Query q = everything();
    q.want_info = q.want_memory = true;
    REQUIRE(record_dump(q, golden_dump("mix.dump")).ok());
    REQUIRE(record_dump(everything(), golden_dump("mix-plain.dump")).ok());
    // Kernels without raw_diag answer ENOENT and the recording leaves raw out.
    auto replay = make_replay_source(golden_dump("mix.dump"));
    REQUIRE(replay.ok());
    if (find(dump_all(**replay, everything()),
             [](const SocketRecord& r) { return r.netid == Netid::raw; })) {
        add(inet_line(Netid::raw, TcpState::close, raw));
    }
    std::string text;
    for (const auto& l : lines)
        text += l + "\n";
    const Fd out(::open(golden_dump("mix.expected").c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    REQUIRE(out.valid());
    REQUIRE(::write(out.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

TEST_CASE("decoder survives every truncation and byte flip of recorded replies", "[diag]") {
    std::vector<std::byte> file;
    {
        const Fd fd(::open(golden_dump("mix.dump").c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE(fd.valid());
        std::array<std::byte, 4096> buf{};
        for (ssize_t n; (n = ::read(fd.get(), buf.data(), buf.size())) > 0;) {
            file.insert(file.end(), buf.begin(), buf.begin() + n);
        }
    }
    std::size_t at = detail::dump_magic.size(), frames = 0, errors = 0;
    while (at + 8 <= file.size()) {
        const detail::DumpRequest req{static_cast<Netid>(file[at]),
                                      static_cast<Family>(file[at + 1])};
        std::uint32_t len = 0;
        std::memcpy(&len, file.data() + at + 4, sizeof len);
        REQUIRE(at + 8 + len <= file.size());
        const std::vector<std::byte> frame(
            file.begin() + static_cast<std::ptrdiff_t>(at + 8),
            file.begin() + static_cast<std::ptrdiff_t>(at + 8 + len));
        at += 8 + len;
        ++frames;
        std::vector<SocketRecord> out;
        for (std::size_t cut = 0; cut < frame.size(); ++cut) {  // every prefix: heap-exact copies
            const std::vector<std::byte> prefix(frame.begin(),
                                                frame.begin() + static_cast<std::ptrdiff_t>(cut));
            errors += detail::decode_replies(prefix, req, out).ok() ? 0U : 1U;
            out.clear();
        }
        for (std::size_t i = 0; i < frame.size(); i += 3) {
            auto bad = frame;
            bad[i] ^= std::byte{0xff};
            errors += detail::decode_replies(bad, req, out).ok() ? 0U : 1U;
            out.clear();
        }
    }
    CHECK(frames > 5);
    CHECK(errors > 0);  // cut headers must have been refused
}

namespace {

/// What `ss -D` writes for one IPv6 listener on [::]:8080 with V6ONLY: the reply
/// message (nlmsghdr, inet_diag_msg, INET_DIAG_SKV6ONLY), then NLMSG_DONE.
std::vector<std::byte> ss_dump_bytes(bool with_done) {
    std::vector<std::byte> out;
    out.reserve(128);
    const auto put = [&out](const void* p, std::size_t n) {
        const std::size_t at = out.size();
        out.resize(at + n);  // not insert(): GCC 12 at -O3 reports a false -Wstringop-overflow
        std::memcpy(out.data() + at, p, n);
    };
    inet_diag_msg m{};
    m.idiag_family = AF_INET6;
    m.idiag_state = 10;  // LISTEN
    m.id.idiag_sport = htons(8080);
    m.idiag_inode = 4242;
    rtattr attr{};
    attr.rta_len = RTA_LENGTH(1);
    attr.rta_type = INET_DIAG_SKV6ONLY;
    nlmsghdr h{};
    h.nlmsg_len = NLMSG_LENGTH(sizeof m + RTA_ALIGN(attr.rta_len));
    h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    h.nlmsg_flags = NLM_F_MULTI;
    put(&h, sizeof h);
    put(&m, sizeof m);
    put(&attr, sizeof attr);
    const std::uint8_t one[4] = {1, 0, 0, 0};
    put(one, sizeof one);
    if (with_done) {
        nlmsghdr done{};
        done.nlmsg_len = NLMSG_LENGTH(sizeof(int));
        done.nlmsg_type = NLMSG_DONE;
        put(&done, sizeof done);
        const int zero = 0;
        put(&zero, sizeof zero);
    }
    return out;
}

std::string write_temp(const std::vector<std::byte>& bytes) {
    std::string path = "/tmp/socklab-ssdump-XXXXXX";
    const Fd fd(::mkstemp(path.data()));
    REQUIRE(fd.valid());
    REQUIRE(write_all(fd.get(), bytes).ok());
    return path;
}

}  // namespace

TEST_CASE("an ss -D dump (raw replies, no magic) replays through the same decoder", "[diag]") {
    const std::string path = write_temp(ss_dump_bytes(true));
    auto src = make_replay_source(path);
    REQUIRE(src.ok());
    Query q = tcp_query();
    q.states = all_states_mask;
    const auto rs = dump_all(**src, q);
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].family == Family::inet6);
    CHECK(rs[0].state == TcpState::listen);
    CHECK(rs[0].local.port == 8080);
    CHECK(rs[0].inode == 4242);
    CHECK(rs[0].v6only == true);
    // TCPDIAG_FILE: the same file for TCP, the live source for the rest.
    auto split = make_tcp_file_source(path, make_procfs_source());
    REQUIRE(split.ok());
    CHECK(dump_all(**split, q).size() == 1);
    ::unlink(path.c_str());
    // Cut before its NLMSG_DONE: refused, not half-read.
    const std::string cut = write_temp(ss_dump_bytes(false));
    auto bad = make_replay_source(cut);
    ::unlink(cut.c_str());
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().context.find("no NLMSG_DONE") != std::string::npos);
}

TEST_CASE("ss -s's totals from sockstat, sockstat6 and snmp, printed as ss prints them", "[diag]") {
    const auto t = diag::parse_ss_totals(
        "sockets: used 52\nTCP: inuse 22 orphan 1 tw 2 alloc 42 mem 3\nUDP: inuse 2 mem 1\n"
        "UDPLITE: inuse 0\nRAW: inuse 1\nFRAG: inuse 0 memory 0\n",
        "TCP6: inuse 19\nUDP6: inuse 3\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory "
        "0\n",
        "Ip: Forwarding\nIp: 1\nTcp: RtoAlgorithm MaxConn CurrEstab InSegs\n"
        "Tcp: 1 -1 18 400\n");
    CHECK(t.socks == 52);
    CHECK((t.tcp4 == 22 && t.tcp6 == 19 && t.tcp_total == 42 && t.tcp_tws == 2));
    CHECK((t.udp4 == 2 && t.udp6 == 3 && t.raw4 == 1 && t.tcp_estab == 18 && t.tcp_orphans == 1));
    CHECK(diag::format_ss_totals(t) ==
          "Total: 52\nTCP:   44 (estab 18, closed 3, orphaned 1, timewait 2)\n\n"
          "Transport Total     IP        IPv6\n"
          "RAW\t  1         1         0        \n"
          "UDP\t  5         2         3        \n"
          "TCP\t  41        22        19       \n"
          "INET\t  47        25        22       \n"
          "FRAG\t  0         0         0        \n\n");
    const auto none = diag::parse_ss_totals("", "", "");
    CHECK((none.socks == 0 && none.tcp_estab == 0));
    CHECK_FALSE(diag::read_ss_totals("/nonexistent").ok());
}
