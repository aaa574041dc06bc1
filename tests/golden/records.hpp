// Hand-built SocketRecord fixtures for golden rendering tests (some mirror live captures).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "socklab/model.hpp"

namespace socklab::golden {

inline IpAddr addr(std::string_view text) {
    auto a = IpAddr::parse(text);
    return a ? *a : IpAddr{};
}

/// A TCP or UDP record between two textual addresses.
inline SocketRecord inet(Netid netid, TcpState state, std::string_view local, std::uint32_t lport,
                         std::string_view peer, std::uint32_t pport, std::uint32_t recv_q = 0,
                         std::uint32_t send_q = 0) {
    SocketRecord r;
    r.netid = netid;
    r.state = state;
    r.local.addr = addr(local);
    r.local.port = lport;
    r.peer.addr = addr(peer);
    r.peer.port = pport;
    r.family = r.local.addr.family;
    r.recv_q = recv_q;
    r.send_q = send_q;
    return r;
}

inline SocketRecord tcp(TcpState state, std::string_view local, std::uint32_t lport,
                        std::string_view peer, std::uint32_t pport, std::uint32_t recv_q = 0,
                        std::uint32_t send_q = 0) {
    return inet(Netid::tcp, state, local, lport, peer, pport, recv_q, send_q);
}

inline SocketRecord unix_sock(UnixType type, TcpState state, std::string path, std::uint64_t inode,
                              std::uint64_t peer_inode, std::uint32_t recv_q = 0,
                              std::uint32_t send_q = 0) {
    SocketRecord r;
    r.netid = Netid::unix_;
    r.family = Family::unix_;
    r.unix_type = type;
    r.state = state;
    r.local.path = std::move(path);
    r.local.port = static_cast<std::uint32_t>(inode);
    r.peer.port = static_cast<std::uint32_t>(peer_inode);
    r.inode = inode;
    r.peer_inode = peer_inode;
    r.recv_q = recv_q;
    r.send_q = send_q;
    return r;
}

inline MemInfo mem(std::uint32_t r, std::uint32_t rb, std::uint32_t t, std::uint32_t tb,
                   std::uint32_t f) {
    MemInfo m;
    m.rmem_alloc = r;
    m.rcvbuf = rb;
    m.wmem_alloc = t;
    m.sndbuf = tb;
    m.fwd_alloc = f;
    return m;
}

/// The TCP sockets of a live capture (python3 pid 5792 on this machine, ss 6.1 and
/// netstat 2.10 output kept in tests/golden/ss61/).
inline std::vector<SocketRecord> live_tcp() {
    using S = TcpState;
    std::vector<SocketRecord> v{
        tcp(S::listen, "127.0.0.1", 39647, "0.0.0.0", 0, 0, 5),
        tcp(S::listen, "0.0.0.0", 2024, "0.0.0.0", 0, 0, 128),
        tcp(S::established, "127.0.0.1", 42924, "127.0.0.1", 39647),
        tcp(S::established, "127.0.0.1", 39647, "127.0.0.1", 42924, 1000, 0),
        tcp(S::listen, "::1", 38043, "::", 0, 1, 5),
        tcp(S::listen, "::", 35115, "::", 0, 0, 128),
        tcp(S::established, "::1", 46484, "::1", 38043),
        tcp(S::established, "::1", 38043, "::1", 46484),
    };
    const std::uint64_t inodes[] = {10523, 566, 9586, 9587, 9588, 9591, 9589, 0};
    const int fds[] = {3, -1, 4, 5, 6, 8, 7, -1};
    const bool listener[] = {true, true, false, false, true, true, false, false};
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i].inode = inodes[i];
        v[i].cookie = i + 1;
        if (fds[i] >= 0) v[i].owners.push_back({5792, "python3", fds[i]});
        v[i].timer = TimerInfo{};
        v[i].mem = listener[i] ? mem(0, 131072, 0, 16384, 0) : mem(0, 131072, 0, 3939840, 0);
    }
    v[2].timer = TimerInfo{TimerInfo::Kind::keepalive, 7150000, 0};
    v[3].mem = mem(1832, 131072, 0, 3939840, 2264);
    return v;
}

inline std::vector<SocketRecord> live_udp() {
    using S = TcpState;
    return {
        inet(Netid::udp, S::established, "127.0.0.1", 59512, "127.0.0.1", 60056),
        inet(Netid::udp, S::close, "127.0.0.1", 60056, "0.0.0.0", 0),
        inet(Netid::udp, S::close, "::", 45617, "::", 0),
    };
}

inline std::vector<SocketRecord> live_unix() {
    using S = TcpState;
    using T = UnixType;
    return {
        unix_sock(T::stream, S::listen, "/tmp/socklab_out_test.sock", 9595, 0, 0, 128),
        unix_sock(T::stream, S::established, "", 9596, 9597),
        unix_sock(T::stream, S::established, "", 9597, 9596),
        unix_sock(T::stream, S::established, "", 563, 562),
        unix_sock(T::stream, S::established, "", 562, 563),
    };
}

/// A network-namespace capture with long IPv6 addresses and a v4-mapped peer,
/// in netstat's order (tcp, tcp6, udp6).
inline std::vector<SocketRecord> netns_netstat_order() {
    using S = TcpState;
    constexpr std::string_view v6 = "2001:db8:1111:2222:3333:4444:5555:6666";
    return {
        tcp(S::listen, "203.100.200.111", 22, "0.0.0.0", 0, 0, 128),
        tcp(S::established, "203.100.200.111", 48312, "203.100.200.111", 42053),
        tcp(S::listen, "::", 42053, "::", 0, 1, 128),
        tcp(S::listen, v6, 38763, "::", 0, 0, 128),
        tcp(S::established, v6, 38763, v6, 47423),
        tcp(S::established, "::ffff:203.100.200.111", 42053, "::ffff:203.100.200.111", 48312),
        tcp(S::established, v6, 47423, v6, 38763),
        inet(Netid::udp, S::close, v6, 60098, "::", 0),
    };
}

/// The same sockets in ss's order (udp first).
inline std::vector<SocketRecord> netns_ss_order() {
    auto v = netns_netstat_order();
    std::vector<SocketRecord> out{v[7]};
    out.insert(out.end(), v.begin(), v.begin() + 7);
    return out;
}

/// Every displayable state, both families, odd names and paths, every optional part.
inline std::vector<SocketRecord> zoo() {
    using S = TcpState;
    std::vector<SocketRecord> v;
    const S states[] = {S::listen,         S::syn_sent,  S::syn_recv,     S::established,
                        S::fin_wait1,      S::fin_wait2, S::close_wait,   S::closing,
                        S::last_ack,       S::time_wait, S::new_syn_recv, S::close,
                        S::bound_inactive, S::unknown};
    std::uint32_t port = 40000;
    for (S s : states) {
        v.push_back(tcp(s, "127.0.0.1", 6666, s == S::listen ? "0.0.0.0" : "127.0.0.1",
                        s == S::listen ? 0 : ++port));
        v.back().inode = 1000 + port;
        v.back().cookie = 0x1000 + port;
    }
    v.push_back(
        tcp(S::established, "::1", 22, "fe80::1234:5678:9abc:def0", 65535, 4294967295u, 123456));
    v.push_back(tcp(S::close_wait, "2001:db8:1111:2222:3333:4444:5555:6666", 65535,
                    "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", 1, 7, 0));
    v.push_back(tcp(S::established, "::ffff:10.1.2.3", 443, "::ffff:192.168.200.201", 51515));
    v.push_back(inet(Netid::udp, S::close, "0.0.0.0", 53, "0.0.0.0", 0));
    v.push_back(inet(Netid::udp, S::established, "::1", 5353, "::1", 5354, 768, 0));
    v.push_back(inet(Netid::raw, S::close, "0.0.0.0", 1, "0.0.0.0", 0));

    // Owners: several processes, a comm with quotes, backslash, comma and a tab.
    auto& shared = v[0];
    shared.owners = {{100, "nginx", 6}, {101, "nginx", 6}, {4242, "we\"ird\\,\tname", 9}};
    shared.uid = 33;
    v[3].owners = {{1, "systemd", 45}};
    v[3].uid = 1000;

    // Timers of each kind and tcp_info/memory on the ESTABLISHED one.
    v[1].timer = TimerInfo{TimerInfo::Kind::on, 1234, 2};
    v[3].timer = TimerInfo{TimerInfo::Kind::keepalive, 65000, 0};
    v[6].timer = TimerInfo{TimerInfo::Kind::persist, 5, 1};
    v[9].timer = TimerInfo{TimerInfo::Kind::timewait, 59999, 0};
    TcpInfo& info = v[3].tcp_info.emplace();
    info.options = 1 | 2 | 4;
    info.snd_wscale = 7;
    info.rcv_wscale = 7;
    info.rto_us = 204000;
    info.ato_us = 40000;
    info.snd_mss = 32768;
    info.rcv_mss = 536;
    info.rtt_us = 50;
    info.rttvar_us = 25;
    info.snd_cwnd = 10;
    info.advmss = 65483;
    info.pmtu = 65535;
    info.reordering = 3;
    info.rcv_space = 65483;
    info.rcv_ssthresh = 65483;
    info.snd_ssthresh = 0x7fffffff;
    info.bytes_sent = 1000;
    info.bytes_acked = 1001;
    info.bytes_received = 77;
    info.segs_out = 3;
    info.segs_in = 2;
    info.data_segs_out = 1;
    info.data_segs_in = 1;
    info.last_data_sent_ms = 2948;
    info.last_data_recv_ms = 2950;
    info.last_ack_recv_ms = 2948;
    info.pacing_rate = 12620272500;
    info.delivery_rate = 4416000000;
    info.delivered = 2;
    info.min_rtt_us = 8;
    info.retrans = 1;
    info.total_retrans = 3;
    info.busy_time_us = 12000;
    info.congestion = "cubic";
    v[3].mem = mem(1832, 131072, 0, 2626560, 2264);
    v[0].mem = mem(0, 131072, 0, 16384, 0);
    v[0].tcp_info.emplace().snd_cwnd = 10;
    v[0].tcp_info->reordering = 3;
    v[0].tcp_info->congestion = "bbr";

    // Unix sockets: named, abstract, unnamed, and paths that need escaping.
    using T = UnixType;
    v.push_back(unix_sock(T::stream, S::listen, "/run/app.sock", 7001, 0, 0, 4096));
    v.push_back(unix_sock(T::stream, S::established, "", 7002, 7003));
    v.push_back(unix_sock(T::dgram, S::close, "@abstract\x01name", 7004, 0));
    v.push_back(unix_sock(T::seqpacket, S::established, "/tmp/a,\"b\"\nc", 7005, 7006));
    v.push_back(unix_sock(T::dgram, S::close, "/tmp/bad\xff\xfe-utf8-\xc3\xa9", 7007, 0, 2304, 0));
    v.back().owners = {{555, "logger", 3}};
    return v;
}

}  // namespace socklab::golden
