// lab: the doctor — per-state counts by port and process, and the anomaly rules.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "socklab/lab.hpp"

namespace socklab::lab {
namespace {

constexpr std::array<std::string_view, 13> kConsulted{
    "net.ipv4.tcp_max_syn_backlog", "net.core.somaxconn",           "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_synack_retries",  "net.ipv4.tcp_syn_retries",     "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_tw_reuse",        "net.ipv4.tcp_max_tw_buckets",  "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_keepalive_time",  "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_orphan_retries"};

std::size_t index(TcpState s) {
    return static_cast<std::size_t>(display_state(s));
}

bool is(const SocketRecord& r, TcpState s) {
    return display_state(r.state) == s;
}

std::string value_or(const SysctlReader& sysctls, std::string_view name) {
    return sysctls.read(name).value_or("?");
}

std::string port_list(const std::set<std::uint32_t>& ports) {
    std::string out;
    std::size_t shown = 0;
    for (auto p : ports) {
        if (shown++ == 8) {
            out += fmt::format(" and {} more", ports.size() - 8);
            break;
        }
        out += fmt::format("{}{}", out.empty() ? "" : ",", p);
    }
    return out;
}

/// Counting is keyed by strings; the order of the result is busiest first.
std::vector<GroupCounts> sorted_groups(std::map<std::string, GroupCounts>& groups) {
    std::vector<GroupCounts> out;
    for (auto& [key, g] : groups)
        out.push_back(std::move(g));
    std::stable_sort(out.begin(), out.end(),
                     [](const GroupCounts& a, const GroupCounts& b) { return a.total > b.total; });
    return out;
}

void count(std::map<std::string, GroupCounts>& groups, const std::string& key, TcpState s) {
    auto& g = groups[key];
    g.key = key;
    ++g.by_state[index(s)];
    ++g.total;
}

Finding new_finding(FindingKind kind, TcpState state, std::size_t n) {
    Finding f{};
    f.kind = kind;
    f.state = state;
    f.count = n;
    return f;
}

struct Context {
    std::span<const SocketRecord> records;
    std::unordered_set<std::uint32_t> listening;
    const SysctlReader& sysctls;
    const Thresholds& t;

    EphemeralRange ephemeral;  ///< ip_local_port_range

    /// The port that names the service: a listener's, else the one outside the
    /// ephemeral range (a TIME_WAIT outlives its listener), else the peer's.
    std::uint32_t service_port(const SocketRecord& r) const {
        if (is(r, TcpState::listen) || listening.count(r.local.port) != 0) return r.local.port;
        if (listening.count(r.peer.port) != 0) return r.peer.port;
        if (!ephemeral.contains(r.local.port) && ephemeral.contains(r.peer.port))
            return r.local.port;
        return r.peer.port;
    }
};

void syn_recv_flood(const Context& c, std::vector<Finding>& out) {
    std::map<std::uint32_t, std::size_t> per_port;
    for (const auto& r : c.records)
        if (is(r, TcpState::syn_recv)) ++per_port[r.local.port];
    for (const auto& [port, n] : per_port) {
        if (n < c.t.syn_recv_per_port) continue;
        Finding f = new_finding(FindingKind::syn_recv_flood, TcpState::syn_recv, n);
        f.title = fmt::format("SYN_RECV flood on port {}: {} half-open connections", port, n);
        f.detail = fmt::format(
            "clients sent SYN and never answered the SYN-ACK: a SYN flood from spoofed "
            "sources, or ACKs lost on the way (tcp_syncookies={}, tcp_synack_retries={}, "
            "tcp_max_syn_backlog={})",
            value_or(c.sysctls, "net.ipv4.tcp_syncookies"),
            value_or(c.sysctls, "net.ipv4.tcp_synack_retries"),
            value_or(c.sysctls, "net.ipv4.tcp_max_syn_backlog"));
        f.advice = {
            "keep net.ipv4.tcp_syncookies=1 so an overflowing queue is answered with cookies",
            "net.ipv4.tcp_synack_retries=2 drops half-open requests after about 7 s",
            "for real load, raise net.ipv4.tcp_max_syn_backlog, net.core.somaxconn and "
            "the listen() backlog together"};
        f.sysctls = {"net.ipv4.tcp_syncookies", "net.ipv4.tcp_synack_retries",
                     "net.ipv4.tcp_max_syn_backlog", "net.core.somaxconn"};
        f.ports = {port};
        out.push_back(std::move(f));
    }
}

void close_wait_leak(const Context& c, std::vector<Finding>& out) {
    struct Leak {
        std::string comm;
        std::size_t n = 0;
        std::set<std::uint32_t> ports;
    };
    std::map<int, Leak> per_pid;
    for (const auto& r : c.records) {
        if (!is(r, TcpState::close_wait)) continue;
        std::set<int> seen;  // a socket shared by two fds of one process counts once
        for (const auto& o : r.owners) {
            if (!seen.insert(o.pid).second) continue;
            auto& l = per_pid[o.pid];
            l.comm = o.comm;
            ++l.n;
            l.ports.insert(c.service_port(r));
        }
    }
    // Sockets someone holds (an inode) whose owner we could not read: a leak there is
    // still a leak, reported without a name rather than hidden.
    Leak hidden;
    for (const auto& r : c.records)
        if (is(r, TcpState::close_wait) && r.inode != 0 && r.owners.empty()) {
            ++hidden.n;
            hidden.ports.insert(c.service_port(r));
        }
    if (hidden.n >= c.t.close_wait_per_process) {
        Finding f = new_finding(FindingKind::close_wait_leak, TcpState::close_wait, hidden.n);
        f.ports = {hidden.ports.begin(), hidden.ports.end()};
        f.title = fmt::format(
            "CLOSE_WAIT leak in a process this user cannot see, on port {}: {} "
            "sockets",
            port_list(hidden.ports), hidden.n);
        f.detail =
            "the peers closed these connections and their process never called close(); "
            "/proc does not let this user see which process holds them";
        f.advice = {"run socklab doctor as root to name the process",
                    fmt::format("see them: sockls -te state close-wait 'sport = :{}' (uid, inode)",
                                *hidden.ports.begin())};
        out.push_back(std::move(f));
    }
    for (const auto& [pid, l] : per_pid) {
        if (l.n < c.t.close_wait_per_process) continue;
        Finding f = new_finding(FindingKind::close_wait_leak, TcpState::close_wait, l.n);
        f.pid = pid;
        f.comm = l.comm;
        f.ports = {l.ports.begin(), l.ports.end()};
        f.title = fmt::format("CLOSE_WAIT leak in pid {} ({}) on port {}: {} sockets", pid, l.comm,
                              port_list(l.ports), l.n);
        f.detail =
            "the peers closed these connections and the process never called close(): an "
            "application bug (a descriptor leak); no kernel timer or sysctl ends CLOSE_WAIT";
        f.advice = {
            fmt::format("fix the close path of {} (pid {}): close the socket when recv() "
                        "returns 0",
                        l.comm, pid),
            fmt::format("see them: sockls -tp state close-wait 'sport = :{}'", *l.ports.begin()),
            "restarting the process frees them but the leak will come back"};
        out.push_back(std::move(f));
    }
}

void time_wait_pileup(const Context& c, const DoctorReport& report, std::vector<Finding>& out) {
    const std::size_t n = report.totals[index(TcpState::time_wait)];
    std::size_t limit = c.t.time_wait_total;
    std::string why = fmt::format("threshold {}", limit);
    if (const auto buckets = c.sysctls.read("net.ipv4.tcp_max_tw_buckets")) {
        auto parsed = parse_uint(*buckets, 0, ~0ULL);
        if (parsed && *parsed > 0) {
            const auto share =
                static_cast<std::size_t>(*parsed * c.t.time_wait_bucket_percent / 100);
            if (share < limit) {
                limit = share;
                why = fmt::format("{}% of tcp_max_tw_buckets={}", c.t.time_wait_bucket_percent,
                                  *parsed);
            }
        }
    }
    if (n == 0 || n < limit) return;
    Finding f = new_finding(FindingKind::time_wait_pileup, TcpState::time_wait, n);
    std::map<std::uint32_t, std::size_t> per_port;
    for (const auto& r : c.records)
        if (is(r, TcpState::time_wait)) ++per_port[c.service_port(r)];
    std::set<std::uint32_t> ports;
    for (const auto& [port, k] : per_port)
        if (k * 10 >= n) ports.insert(port);  // the ports holding at least a tenth
    f.ports = {ports.begin(), ports.end()};
    f.title =
        fmt::format("TIME_WAIT pile-up: {} sockets ({}), mostly port {}", n, why, port_list(ports));
    f.detail = fmt::format(
        "the active closer keeps each closed connection 60 s; it costs little, but ephemeral "
        "ports toward one destination can run out (ip_local_port_range={}, tcp_tw_reuse={})",
        value_or(c.sysctls, "net.ipv4.ip_local_port_range"),
        value_or(c.sysctls, "net.ipv4.tcp_tw_reuse"));
    f.advice = {"reuse connections (keep-alive, pools) instead of one connection per request",
                "net.ipv4.tcp_tw_reuse=1 lets outgoing connections reuse TIME_WAIT ports safely",
                "widen net.ipv4.ip_local_port_range if connect() fails with EADDRNOTAVAIL",
                "tcp_tw_recycle was removed in Linux 4.12: do not look for it"};
    f.sysctls = {"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_max_tw_buckets",
                 "net.ipv4.ip_local_port_range"};
    out.push_back(std::move(f));
}

void syn_sent_storm(const Context& c, const DoctorReport& report, std::vector<Finding>& out) {
    const std::size_t n = report.totals[index(TcpState::syn_sent)];
    if (n == 0 || n < c.t.syn_sent_total) return;
    std::set<std::uint32_t> ports;
    std::set<std::string> procs;
    for (const auto& r : c.records) {
        if (!is(r, TcpState::syn_sent)) continue;
        ports.insert(r.peer.port);
        for (const auto& o : r.owners)
            procs.insert(fmt::format("{}/{}", o.pid, o.comm));
    }
    Finding f = new_finding(FindingKind::syn_sent_storm, TcpState::syn_sent, n);
    f.ports = {ports.begin(), ports.end()};
    std::string who;
    for (const auto& p : procs)
        who += (who.empty() ? "" : ", ") + p;
    f.title = fmt::format("SYN_SENT storm: {} connection attempts unanswered, to port {}", n,
                          port_list(ports));
    f.detail = fmt::format(
        "connect() calls wait for a SYN-ACK that does not come: the destination is down, "
        "filtered, or its accept queue is full; or this host is scanning (by {}; "
        "tcp_syn_retries={})",
        who.empty() ? "an unknown process" : who, value_or(c.sysctls, "net.ipv4.tcp_syn_retries"));
    f.advice = {
        "check the destinations (sockls -tp state syn-sent) and whether you expect "
        "these connections at all",
        "net.ipv4.tcp_syn_retries=2 makes connect() give up after about 7 s"};
    f.sysctls = {"net.ipv4.tcp_syn_retries"};
    out.push_back(std::move(f));
}

void fin_wait2_orphans(const Context& c, std::vector<Finding>& out) {
    std::size_t n = 0;
    std::set<std::uint32_t> ports;
    for (const auto& r : c.records)
        if (is(r, TcpState::fin_wait2) && r.inode == 0 && r.owners.empty()) {
            ++n;
            ports.insert(c.service_port(r));
        }
    if (n == 0 || n < c.t.fin_wait2_orphans) return;
    Finding f = new_finding(FindingKind::fin_wait2_orphans, TcpState::fin_wait2, n);
    f.ports = {ports.begin(), ports.end()};
    f.title = fmt::format("FIN_WAIT2 orphans: {} closed sockets wait for their peers' FIN, port {}",
                          n, port_list(ports));
    f.detail = fmt::format(
        "this host closed these connections and the peers never closed theirs (a CLOSE_WAIT "
        "leak on the other side); each orphan lives tcp_fin_timeout={} s",
        value_or(c.sysctls, "net.ipv4.tcp_fin_timeout"));
    f.advice = {"find the peer application that never closes",
                "net.ipv4.tcp_fin_timeout=30 frees the orphans sooner"};
    f.sysctls = {"net.ipv4.tcp_fin_timeout"};
    out.push_back(std::move(f));
}

// ---------------------------------------------------------------------------
// The rate rules: two samples of the host model.

struct Rates {
    const metrics::HostSample& first;
    const metrics::HostSample& second;
    double seconds;
    const SysctlReader& sysctls;

    std::int64_t delta(std::string_view key) const {
        const auto a = first.counters.find(key);
        const auto b = second.counters.find(key);
        if (a == first.counters.end() || b == second.counters.end()) return 0;
        return std::max<std::int64_t>(0, b->second - a->second);  // a counter reset is no rate
    }
    double per_second(std::string_view key) const {
        return static_cast<double>(delta(key)) / seconds;
    }
    /// "net.core.somaxconn=4096": the knob with its value, as every finding names it.
    std::string knob(std::string_view name) const {
        return fmt::format("{}={}", name, value_or(sysctls, name));
    }
};

std::string rate_text(double r) {
    return r >= 10 ? fmt::format("{:.0f}/s", r) : fmt::format("{:.2g}/s", r);
}

void listen_overflow(const Rates& x, std::vector<Finding>& out) {
    const auto overflows = x.delta("TcpExt.ListenOverflows");
    const auto drops = x.delta("TcpExt.ListenDrops");
    if (overflows == 0 && drops == 0) return;
    // The listeners whose accept queue was full in either sample (the kernel takes
    // one more than the backlog before it refuses).
    std::map<std::pair<std::string, std::uint32_t>, metrics::Listener> full;
    for (const auto* s : {&x.first, &x.second})
        for (const auto& l : s->listeners)
            if (l.queue >= l.backlog) {
                auto& f = full[{l.addr, l.port}];
                if (l.queue >= f.queue) f = l;
            }
    const auto rates = fmt::format("{} listen overflows and {} drops",
                                   rate_text(x.per_second("TcpExt.ListenOverflows")),
                                   rate_text(x.per_second("TcpExt.ListenDrops")));
    auto finding = [&](std::string title) {
        Finding f = new_finding(FindingKind::listen_overflow, TcpState::listen,
                                static_cast<std::size_t>(std::max(overflows, drops)));
        f.title = std::move(title);
        f.detail = fmt::format(
            "handshakes completed while the accept queue was full, so the kernel dropped "
            "them and the clients retransmit (ListenOverflows +{}, ListenDrops +{} in {:.1f} s; "
            "{}, {})",
            overflows, drops, x.seconds, x.knob("net.core.somaxconn"),
            x.knob("net.ipv4.tcp_abort_on_overflow"));
        f.advice = {"accept() faster: more workers, or no blocking work before accept()",
                    fmt::format("raise the listen() backlog and net.core.somaxconn (now {})",
                                value_or(x.sysctls, "net.core.somaxconn"))};
        f.sysctls = {"net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow"};
        return f;
    };
    for (const auto& [k, l] : full) {
        auto f = finding(fmt::format("accept queue full on {}:{} ({} waiting, backlog {}): {}",
                                     l.addr, l.port, l.queue, l.backlog, rates));
        f.ports = {l.port};
        out.push_back(std::move(f));
    }
    if (full.empty())
        out.push_back(finding(fmt::format(
            "listen queues overflow: {} (no accept queue was full when sampled)", rates)));
}

void syn_cookies(const Rates& x, const Thresholds& t, std::vector<Finding>& out) {
    const auto sent = x.delta("TcpExt.SyncookiesSent");
    if (sent == 0) return;
    std::map<std::string, std::uint64_t> half_open;  // port -> SYN_RECV (second sample)
    for (const auto& [k, n] : x.second.by_port)
        if (std::get<0>(k) == Netid::tcp && std::get<1>(k) == TcpState::syn_recv)
            half_open[std::get<2>(k)] += n;
    std::string flooded;
    std::uint64_t most = 0;
    for (const auto& [port, n] : half_open)
        if (n >= t.syn_recv_per_port && n > most) {
            flooded = port;
            most = n;
        }
    Finding f =
        new_finding(FindingKind::syn_cookies, TcpState::syn_recv, static_cast<std::size_t>(sent));
    const auto rate = rate_text(x.per_second("TcpExt.SyncookiesSent"));
    if (!flooded.empty()) {
        f.title = fmt::format("SYN flood on port {}: {} SYN cookies sent, {} half-open", flooded,
                              rate, most);
        f.detail = fmt::format(
            "the SYN queue is full of requests whose ACK never comes; cookies keep real clients "
            "served ({}, {})",
            x.knob("net.ipv4.tcp_syncookies"), x.knob("net.ipv4.tcp_max_syn_backlog"));
        f.advice = {
            "keep net.ipv4.tcp_syncookies=1 while the flood lasts",
            "filter the sources upstream; net.ipv4.tcp_synack_retries=2 frees the queue sooner"};
        if (auto p = parse_uint(flooded, 0, 65535)) f.ports = {static_cast<std::uint32_t>(*p)};
    } else {
        f.title = fmt::format(
            "SYN queue too small: {} SYN cookies sent with few half-open "
            "connections",
            rate);
        f.detail = fmt::format(
            "real clients arrive faster than the SYN queue holds them: the kernel answers "
            "with cookies, which lose TCP options such as window scaling ({}, {}, {})",
            x.knob("net.ipv4.tcp_max_syn_backlog"), x.knob("net.core.somaxconn"),
            x.knob("net.ipv4.tcp_syncookies"));
        f.advice = {
            "raise net.ipv4.tcp_max_syn_backlog, net.core.somaxconn and the listen() "
            "backlog together"};
    }
    f.sysctls = {"net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog", "net.core.somaxconn"};
    out.push_back(std::move(f));
}

void time_wait_overflow(const Rates& x, std::vector<Finding>& out) {
    const auto n = x.delta("TcpExt.TCPTimeWaitOverflow");
    if (n == 0) return;
    Finding f = new_finding(FindingKind::time_wait_overflow, TcpState::time_wait,
                            static_cast<std::size_t>(n));
    const auto it = x.second.sockets.find({Netid::tcp, TcpState::time_wait});
    f.title = fmt::format("TIME_WAIT bucket overflow: {} closed connections got no TIME_WAIT ({})",
                          rate_text(x.per_second("TcpExt.TCPTimeWaitOverflow")),
                          x.knob("net.ipv4.tcp_max_tw_buckets"));
    f.detail = fmt::format(
        "{} sockets are in TIME_WAIT and the kernel drops the rest at once: late segments of "
        "old connections may then reach new ones",
        it == x.second.sockets.end() ? 0 : it->second);
    f.advice = {"reuse connections instead of one connection per request",
                fmt::format("raise net.ipv4.tcp_max_tw_buckets (now {}) if the memory is there",
                            value_or(x.sysctls, "net.ipv4.tcp_max_tw_buckets"))};
    f.sysctls = {"net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_tw_reuse"};
    out.push_back(std::move(f));
}

void orphans(const Rates& x, const Thresholds& t, std::vector<Finding>& out) {
    const auto it = x.second.counters.find("sockstat.TCP.orphan");
    const auto max = x.sysctls.read("net.ipv4.tcp_max_orphans");
    if (it == x.second.counters.end() || !max) return;
    const auto limit = parse_uint(*max, 1, ~0ULL);
    if (!limit || it->second <= 0) return;
    const auto n = static_cast<unsigned long long>(it->second);
    if (n * 100 < *limit * t.orphans_percent) return;
    Finding f = new_finding(FindingKind::orphans, TcpState::fin_wait1, static_cast<std::size_t>(n));
    f.title = fmt::format("orphans near the limit: {} sockets no process holds ({})", n,
                          x.knob("net.ipv4.tcp_max_orphans"));
    f.detail =
        "past the limit the kernel resets new orphans at once (\"too many orphaned "
        "sockets\"), so closed connections lose their last data";
    f.advice = {fmt::format("net.ipv4.tcp_orphan_retries and net.ipv4.tcp_fin_timeout (now {}) "
                            "end orphans sooner",
                            value_or(x.sysctls, "net.ipv4.tcp_fin_timeout")),
                "raise net.ipv4.tcp_max_orphans only with the memory for it (up to 64 KiB each)"};
    f.sysctls = {"net.ipv4.tcp_max_orphans", "net.ipv4.tcp_orphan_retries",
                 "net.ipv4.tcp_fin_timeout"};
    out.push_back(std::move(f));
}

void resets(const Rates& x, const Thresholds& t, std::vector<Finding>& out) {
    const double sent = x.per_second("Tcp.OutRsts");
    const double reset = x.per_second("Tcp.EstabResets");
    if (sent + reset < t.resets_per_second || sent + reset == 0) return;
    Finding f = new_finding(FindingKind::resets, TcpState::close,
                            static_cast<std::size_t>(x.delta("Tcp.OutRsts")));
    f.title = fmt::format("resets: {} RST segments sent, {} connections reset", rate_text(sent),
                          rate_text(reset));
    f.detail = fmt::format(
        "aborted on close with unread data +{}, on timeout +{}, failed attempts +{} in "
        "{:.1f} s ({})",
        x.delta("TcpExt.TCPAbortOnClose"), x.delta("TcpExt.TCPAbortOnTimeout"),
        x.delta("Tcp.AttemptFails"), x.seconds, x.knob("net.ipv4.tcp_abort_on_overflow"));
    f.advice = {
        "connections refused to closed ports and aborted closes both send RST: "
        "sockls -ti and sockwatch --events show which ones",
        "net.ipv4.tcp_abort_on_overflow=1 turns accept queue overflows into resets: keep 0"};
    f.sysctls = {"net.ipv4.tcp_abort_on_overflow"};
    out.push_back(std::move(f));
}

}  // namespace

void diagnose_rates(const metrics::HostSample& first, const metrics::HostSample& second,
                    double seconds, const SysctlReader& sysctls, const Thresholds& thresholds,
                    DoctorReport& report) {
    const Rates x{first, second, seconds > 0 ? seconds : 1, sysctls};
    report.interval_seconds = x.seconds;
    for (const auto& c : metrics::kernel_counters())
        report.rates.push_back({c.metric, c.key, x.delta(c.key), x.per_second(c.key)});
    listen_overflow(x, report.findings);
    syn_cookies(x, thresholds, report.findings);
    time_wait_overflow(x, report.findings);
    orphans(x, thresholds, report.findings);
    resets(x, thresholds, report.findings);
}

std::string_view finding_name(FindingKind kind) {
    switch (kind) {
        case FindingKind::syn_recv_flood:
            return "syn-recv-flood";
        case FindingKind::close_wait_leak:
            return "close-wait-leak";
        case FindingKind::time_wait_pileup:
            return "time-wait-pileup";
        case FindingKind::syn_sent_storm:
            return "syn-sent-storm";
        case FindingKind::fin_wait2_orphans:
            return "fin-wait2-orphans";
        case FindingKind::listen_overflow:
            return "listen-overflow";
        case FindingKind::syn_cookies:
            return "syn-cookies";
        case FindingKind::time_wait_overflow:
            return "time-wait-overflow";
        case FindingKind::orphans:
            return "orphans";
        case FindingKind::resets:
            return "resets";
    }
    return "?";
}

DoctorReport diagnose(std::span<const SocketRecord> records, const SysctlReader& sysctls,
                      const Thresholds& thresholds) {
    DoctorReport report;
    Context c{records, {}, sysctls, thresholds, {}};
    if (const auto text = sysctls.read("net.ipv4.ip_local_port_range"))
        if (const auto range = parse_ephemeral_range(*text)) c.ephemeral = *range;
    for (const auto& r : records)
        if (r.netid == Netid::tcp && is(r, TcpState::listen)) c.listening.insert(r.local.port);

    std::map<std::string, GroupCounts> ports, procs;
    for (const auto& r : records) {
        if (r.netid != Netid::tcp) continue;
        ++report.sockets;
        ++report.totals[index(r.state)];
        count(ports, fmt::format("{}", c.service_port(r)), r.state);
        std::set<int> seen;
        for (const auto& o : r.owners)
            if (seen.insert(o.pid).second)
                count(procs, fmt::format("{}/{}", o.pid, o.comm), r.state);
        if (r.owners.empty()) count(procs, "-", r.state);
        if (r.owners.empty() && r.inode != 0) ++report.owners_unknown;
    }
    report.ports = sorted_groups(ports);
    report.processes = sorted_groups(procs);

    syn_recv_flood(c, report.findings);
    close_wait_leak(c, report.findings);
    time_wait_pileup(c, report, report.findings);
    syn_sent_storm(c, report, report.findings);
    fin_wait2_orphans(c, report.findings);

    for (auto name : kConsulted)
        report.sysctls.emplace_back(name, sysctls.read(name));
    return report;
}

}  // namespace socklab::lab
