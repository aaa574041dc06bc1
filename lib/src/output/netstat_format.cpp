// output: the net-tools 2.10 netstat layout and the Windows `netstat -an` layout.
#include <algorithm>
#include <array>

#include "output/detail.hpp"

namespace socklab::output::detail {
namespace {

// netstat's fixed widths (net-tools netstat.c): addresses are cut to 22 characters
// plus ':' and printed in 23 columns; program names live in 20 columns.
constexpr std::size_t kAddrShort = 22;
constexpr std::size_t kProgWidth = 20;

std::string_view scope_words(NetstatScope scope) {
    switch (scope) {
        case NetstatScope::listening:
            return "(only servers)";
        case NetstatScope::connected:
            return "(w/o servers)";
        case NetstatScope::all:
            break;
    }
    return "(servers and established)";
}

// net-tools prints a v4-mapped IPv6 address as its IPv4 dotted quad, and the
// IPv6 wildcard as "::" with -n but "[::]" without.
void append_netstat_host(Field& out, const IpAddr& addr, const RenderOptions& o) {
    if (addr.is_v4_mapped()) {
        IpAddr v4;
        std::copy(addr.bytes.begin() + 12, addr.bytes.end(), v4.bytes.begin());
        append_host(out, v4, o);
    } else if (addr.family == Family::inet6 && addr.is_any() && !o.numeric_ports) {
        out.append(std::string_view("[::]"));
    } else {
        append_host(out, addr, o);
    }
}

// netstat's addr_do_one(): when "addr:port" is longer than 22, keep the port (at
// most 18 characters) and cut the address to what is left.
void append_netstat_endpoint(Field& out, const Endpoint& ep, Netid netid, const RenderOptions& o) {
    Field host, port;
    append_netstat_host(host, ep.addr, o);
    append_port(port, ep.port, netid, o);
    std::string_view h = view(host), p = view(port);
    if (h.size() + p.size() > kAddrShort) {
        p = p.substr(0, std::min(p.size(), kAddrShort - 4));
        h = h.substr(0, kAddrShort - p.size());
    }
    out.append(h);
    out.push_back(':');
    out.append(p);
}

std::string_view inet_proto(const SocketRecord& r) {
    const bool v6 = r.family == Family::inet6;
    switch (r.netid) {
        case Netid::udp:
            return v6 ? "udp6" : "udp";
        case Netid::raw:
            return v6 ? "raw6" : "raw";
        default:
            return v6 ? "tcp6" : "tcp";
    }
}

// netstat's State column: TCP from the state table; UDP shows only ESTABLISHED
// (an unconnected UDP socket is CLOSE and netstat leaves the column empty).
std::string_view inet_state(const SocketRecord& r) {
    const TcpState s = display_state(r.state);
    if (r.netid == Netid::udp) {
        if (s == TcpState::established || s == TcpState::unknown) return state_info(s).netstat;
        if (s == TcpState::close) return "";
        return state_info(TcpState::unknown).netstat;
    }
    return state_info(s).netstat;
}

// netstat -p's "PID/Program name", cut to 19 characters as netstat's buffer does.
// netstat keeps the first owner its /proc walk finds: the lowest pid, lowest fd.
void append_program(Field& f, const SocketRecord& r) {
    if (r.owners.empty()) {
        f.push_back('-');
        return;
    }
    const Owner& first =
        *std::min_element(r.owners.begin(), r.owners.end(), [](const Owner& a, const Owner& b) {
            return a.pid != b.pid ? a.pid < b.pid : a.fd < b.fd;
        });
    const std::string name = process_label(first);
    f.append(std::string_view(name).substr(0, kProgWidth - 1));
}

// netstat -o: "keepalive (7112.26/0/0)" = kind (seconds left/retransmits/probes).
void append_netstat_timer(Field& f, const SocketRecord& r) {
    const TimerInfo t = r.timer.value_or(TimerInfo{});
    const std::string_view kind = timer_kind_name(t.kind);
    if (t.kind == TimerInfo::Kind::off) {
        fmt::format_to(std::back_inserter(f), "off (0.00/{}/0)", t.retrans);
        return;
    }
    fmt::format_to(std::back_inserter(f), "{} ({:.2f}/{}/0)", kind, t.expires_ms / 1000.0,
                   t.retrans);
}

// Trailing columns shared by the inet and unix tables, in netstat's order.
void append_tail(Field& line, const SocketRecord& r, const RenderOptions& o) {
    auto it = std::back_inserter(line);
    if (o.extended) fmt::format_to(it, " {:<10} {:<10}", r.uid, r.inode);
    if (o.processes) {
        Field prog;
        append_program(prog, r);
        fmt::format_to(it, " {:<20}", view(prog));
    }
    if (o.timers && r.family != Family::unix_) {
        line.push_back(' ');
        append_netstat_timer(line, r);
    }
}

// Rows go out without trailing spaces: netstat pads its last column, we do not.
void put_trimmed(Writer& out, const Field& line) {
    std::string_view v = view(line);
    while (!v.empty() && v.back() == ' ')
        v.remove_suffix(1);
    out.put(v);
    out.put('\n');
    out.end_row();
}

void inet_header(Writer& out, const RenderOptions& o) {
    Field line;
    auto it = std::back_inserter(line);
    fmt::format_to(it, "Active Internet connections {}\n", scope_words(o.netstat_scope));
    line.append(std::string_view(
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State      "));
    if (o.extended) line.append(std::string_view(" User       Inode     "));
    if (o.processes) fmt::format_to(it, " {:<20}", "PID/Program name");
    if (o.timers) line.append(std::string_view(" Timer"));
    put_trimmed(out, line);
}

void inet_row(Writer& out, const SocketRecord& r, const RenderOptions& o) {
    Field local, peer, line;
    append_netstat_endpoint(local, r.local, r.netid, o);
    append_netstat_endpoint(peer, r.peer, r.netid, o);
    // /proc/net/tcp reports a listener's tx_queue as 0 where sock_diag gives the
    // backlog limit; netstat reads /proc, so its LISTEN rows say 0.
    const bool listening = display_state(r.state) == TcpState::listen;
    const std::uint32_t send_q = listening ? 0 : r.send_q;
    // "%-5s %6lu %6lu %-23s %-23s %-11s", written by hand: this is the hot loop.
    append_left(line, inet_proto(r), 5);
    line.push_back(' ');
    append_right(line, r.recv_q, 6);
    line.push_back(' ');
    append_right(line, send_q, 6);
    line.push_back(' ');
    append_left(line, view(local), 23);
    line.push_back(' ');
    append_left(line, view(peer), 23);
    line.push_back(' ');
    if (r.netid == Netid::raw) {
        // netstat -w prints a raw socket's state as the kernel's number.
        Field number;
        append_uint(number, static_cast<unsigned>(r.state));
        append_left(line, view(number), 11);
    } else {
        append_left(line, inet_state(r), 11);
    }
    append_tail(line, r, o);
    put_trimmed(out, line);
}

void unix_header(Writer& out, const RenderOptions& o) {
    Field line;
    auto it = std::back_inserter(line);
    fmt::format_to(it, "Active UNIX domain sockets {}\n", scope_words(o.netstat_scope));
    line.append(std::string_view("Proto RefCnt Flags       Type       State         I-Node  "));
    if (o.processes) fmt::format_to(it, " {:<20}", "PID/Program name");
    line.append(std::string_view(" Path"));
    put_trimmed(out, line);
}

// netstat's unix table speaks the socket layer's states (SS_* of
// include/uapi/linux/net.h), not TCP's: these words are not TCP state names.
std::string_view unix_state(TcpState s) {
    switch (display_state(s)) {
        case TcpState::listen:
            return "LISTENING";
        case TcpState::established:
            return "CONNECTED";
        case TcpState::syn_sent:
            return "CONNECTING";
        case TcpState::close:
            return "";
        default:
            return "DISCONNECTING";
    }
}

std::string_view unix_type_word(UnixType t) {
    switch (t) {
        case UnixType::dgram:
            return "DGRAM";
        case UnixType::seqpacket:
            return "SEQPACKET";
        case UnixType::stream:
            return "STREAM";
        case UnixType::none:
            break;
    }
    return "UNKNOWN";
}

void unix_row(Writer& out, const SocketRecord& r, const RenderOptions& o) {
    Field line;
    auto it = std::back_inserter(line);
    const bool listening = display_state(r.state) == TcpState::listen;
    // RefCnt comes from /proc/net/unix only; sock_diag has no reference count.
    fmt::format_to(it, "{:<5} {:<6} {:<11} {:<10} {:<13} {:<8}", "unix", "-",
                   listening ? "[ ACC ]" : "[ ]", unix_type_word(r.unix_type), unix_state(r.state),
                   r.inode);
    if (o.processes) {
        Field prog;
        append_program(prog, r);
        fmt::format_to(it, " {:<20}", view(prog));
    }
    line.push_back(' ');
    line.append(r.local.path);
    put_trimmed(out, line);
}

}  // namespace

void render_netstat(std::span<const SocketRecord> records, const RenderOptions& options,
                    Writer& out, NetstatHeaders& headers) {
    // netstat prints the internet table, then the unix table, each with its
    // header; callers send internet sockets first.
    for (const auto& r : records) {
        if (r.family == Family::unix_) continue;
        if (!headers.inet && options.header) inet_header(out, options);
        headers.inet = true;
        inet_row(out, r, options);
    }
    for (const auto& r : records) {
        if (r.family != Family::unix_) continue;
        if (!headers.unix_ && options.header) unix_header(out, options);
        headers.unix_ = true;
        unix_row(out, r, options);
    }
}

void finish_netstat(const RenderOptions& options, Writer& out, NetstatHeaders& headers) {
    if (!headers.inet && !headers.unix_ && options.header) inet_header(out, options);
    headers.inet = true;
}

namespace {

// Windows writes IPv6 endpoints as [addr]:port and a wildcard port as 0.
void append_windows_endpoint(Field& out, const Endpoint& ep, Family family, Netid netid,
                             const RenderOptions& o) {
    if (family == Family::inet6) out.push_back('[');
    append_host(out, ep.addr, o);
    if (family == Family::inet6) out.push_back(']');
    out.push_back(':');
    if (ep.port == 0)
        out.push_back('0');
    else
        append_port(out, ep.port, netid, o);
}

std::string_view windows_proto(const SocketRecord& r) {
    switch (r.netid) {
        case Netid::udp:
            return "UDP";
        case Netid::raw:
            return "RAW";
        case Netid::unix_:
            return "UNIX";
        case Netid::tcp:
            break;
    }
    return "TCP";
}

}  // namespace

void render_windows(std::span<const SocketRecord> records, const RenderOptions& options,
                    Writer& out) {
    // netstat -ano's PID column: with -o (the listing scans owners for it) or -p;
    // the lowest owning pid, 0 when none is known, as Windows writes for System.
    const bool pid = options.processes;
    if (options.header) {
        out.put("Active Connections\n\n");
        out.put(pid ? "  Proto  Local Address          Foreign Address        State           PID\n"
                    : "  Proto  Local Address          Foreign Address        State\n");
    }
    for (const auto& r : records) {
        Field local, peer, line;
        std::string_view state = state_info(r.state).windows;
        if (r.family == Family::unix_) {
            local.append(r.local.path.empty() ? std::string_view("*") : r.local.path);
            peer.push_back('*');
        } else {
            append_windows_endpoint(local, r.local, r.family, r.netid, options);
            if (r.netid == Netid::tcp) {
                append_windows_endpoint(peer, r.peer, r.family, r.netid, options);
            } else {
                // Windows shows UDP peers as *:* and no state.
                peer.append(std::string_view("*:*"));
                state = {};
            }
        }
        line.append(std::string_view("  "));
        append_left(line, windows_proto(r), 7);
        append_left(line, view(local), 21);
        line.append(std::string_view("  "));
        append_left(line, view(peer), 21);
        line.append(std::string_view("  "));
        if (!pid) {
            line.append(state);
        } else {
            append_left(line, state, 16);
            int lowest = 0;
            for (const auto& owner : r.owners)
                if (lowest == 0 || owner.pid < lowest) lowest = owner.pid;
            fmt::format_to(std::back_inserter(line), "{}", lowest);
        }
        put_trimmed(out, line);
    }
}

}  // namespace socklab::output::detail
