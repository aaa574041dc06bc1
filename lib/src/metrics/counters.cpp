// metrics: the kernel's TCP counters from /proc/net/netstat, snmp and sockstat.
#include <fmt/format.h>
#include <array>

#include "socklab/metrics.hpp"

namespace socklab::metrics {
namespace {

constexpr std::size_t kMaxFile = 64 * 1024;  // netstat is ~3 KiB on Linux 6

/// Splits on single spaces (the kernel writes exactly one); empty words are kept so
/// that a doubled space is caught as a malformed line.
std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    while (at <= line.size()) {
        auto end = line.find(' ', at);
        if (end == std::string_view::npos) end = line.size();
        out.push_back(line.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

Error bad(std::string what) {
    return make_error(std::errc::invalid_argument, std::move(what));
}

Result<std::int64_t> number(std::string_view text) {
    const bool negative = !text.empty() && text.front() == '-';
    auto v = parse_uint(negative ? text.substr(1) : text, 0, INT64_MAX);
    if (!v) return bad(fmt::format("'{}' is not a number", text.substr(0, 32)));
    return negative ? -static_cast<std::int64_t>(*v) : static_cast<std::int64_t>(*v);
}

/// Calls `each(line)` for every non-empty line; stops at the first error.
template <class F>
Result<void> for_lines(std::string_view text, F each) {
    std::size_t at = 0;
    std::size_t n = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        const auto line = text.substr(at, end - at);
        ++n;
        if (!line.empty())
            if (auto r = each(line); !r)
                return bad("line " + std::to_string(n) + ": " + r.error().context);
        at = end + 1;
    }
    return {};
}

}  // namespace

Result<void> parse_paired(std::string_view text, Counters& out) {
    std::vector<std::string_view> header;
    return for_lines(text, [&](std::string_view line) -> Result<void> {
        auto w = words(line);
        if (w.size() < 2 || w.front().size() < 2 || w.front().back() != ':')
            return bad("no 'Prefix:' and values");
        if (header.empty()) {
            header = std::move(w);
            return {};
        }
        if (header.front() != w.front()) return bad("values without their header line");
        if (header.size() != w.size()) return bad("header and values differ in count");
        const auto prefix = header.front().substr(0, header.front().size() - 1);
        for (std::size_t i = 1; i < w.size(); ++i) {
            auto v = number(w[i]);
            if (!v) return v.error();
            if (header[i].empty()) return bad("empty counter name");
            out[std::string(prefix) + "." + std::string(header[i])] = *v;
        }
        header.clear();
        return {};
    });
}

Result<void> parse_sockstat(std::string_view text, Counters& out) {
    return for_lines(text, [&](std::string_view line) -> Result<void> {
        auto w = words(line);
        if (w.size() % 2 == 0 || w.front().size() < 2 || w.front().back() != ':')
            return bad("not 'PROTO: key value ...'");
        const auto proto = w.front().substr(0, w.front().size() - 1);
        for (std::size_t i = 1; i + 1 < w.size(); i += 2) {
            auto v = number(w[i + 1]);
            if (!v) return v.error();
            if (w[i].empty()) return bad("empty key");
            out["sockstat." + std::string(proto) + "." + std::string(w[i])] = *v;
        }
        return {};
    });
}

Result<Counters> read_counters(const std::string& proc_root) {
    Counters out;
    for (const char* name : {"netstat", "snmp", "sockstat"}) {
        const std::string path = proc_root + "/net/" + name;
        auto text = read_file(path, kMaxFile);
        if (!text) return text.error();
        auto parsed = std::string_view(name) == "sockstat" ? parse_sockstat(*text, out)
                                                           : parse_paired(*text, out);
        if (!parsed)
            return make_error(std::errc::invalid_argument, path + ": " + parsed.error().context);
    }
    return out;
}

std::span<const CounterDoc> kernel_counters() {
    static constexpr std::array<CounterDoc, 14> table{{
        {"socklab_tcp_listen_overflows_total", "TcpExt.ListenOverflows",
         "Times a listener's accept queue was full when a handshake completed (TcpExt "
         "ListenOverflows)."},
        {"socklab_tcp_listen_drops_total", "TcpExt.ListenDrops",
         "SYNs and handshakes dropped at listeners for any reason (TcpExt ListenDrops)."},
        {"socklab_tcp_syncookies_sent_total", "TcpExt.SyncookiesSent",
         "SYN cookies sent because a SYN queue was full (TcpExt SyncookiesSent)."},
        {"socklab_tcp_syncookies_recv_total", "TcpExt.SyncookiesRecv",
         "Valid SYN cookies received back (TcpExt SyncookiesRecv)."},
        {"socklab_tcp_syncookies_failed_total", "TcpExt.SyncookiesFailed",
         "Invalid SYN cookies received (TcpExt SyncookiesFailed)."},
        {"socklab_tcp_timewait_overflow_total", "TcpExt.TCPTimeWaitOverflow",
         "Closed connections that got no TIME_WAIT socket: tcp_max_tw_buckets was reached "
         "(TcpExt TCPTimeWaitOverflow)."},
        {"socklab_tcp_abort_on_close_total", "TcpExt.TCPAbortOnClose",
         "Connections reset because they were closed with unread data (TcpExt TCPAbortOnClose)."},
        {"socklab_tcp_abort_on_timeout_total", "TcpExt.TCPAbortOnTimeout",
         "Connections aborted after their retransmission or keepalive timers ran out "
         "(TcpExt TCPAbortOnTimeout)."},
        {"socklab_tcp_active_opens_total", "Tcp.ActiveOpens",
         "Connections opened by connect() (Tcp ActiveOpens)."},
        {"socklab_tcp_passive_opens_total", "Tcp.PassiveOpens",
         "Connections accepted from a listener's SYN (Tcp PassiveOpens)."},
        {"socklab_tcp_attempt_fails_total", "Tcp.AttemptFails",
         "Connection attempts that failed from SYN_SENT or SYN_RECV (Tcp AttemptFails)."},
        {"socklab_tcp_estab_resets_total", "Tcp.EstabResets",
         "Connections reset from ESTABLISHED or CLOSE_WAIT (Tcp EstabResets)."},
        {"socklab_tcp_retrans_segs_total", "Tcp.RetransSegs",
         "Segments retransmitted (Tcp RetransSegs)."},
        {"socklab_tcp_out_rsts_total", "Tcp.OutRsts", "Segments sent with RST (Tcp OutRsts)."},
    }};
    return table;
}

std::span<const std::string_view> exposed_sysctls() {
    static constexpr std::array<std::string_view, 10> names{
        "net.core.somaxconn",          "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_orphans",     "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_syn_retries",     "net.ipv4.tcp_tw_reuse",
        "net.ipv4.tcp_orphan_retries"};
    return names;
}

}  // namespace socklab::metrics
