// metrics: the host model from records, and its Prometheus text exposition (0.0.4).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

#include "socklab/metrics.hpp"

namespace socklab::metrics {
namespace {

/// The states every scrape reports for TCP, zeros included, so a query for one
/// state always finds its series (display states, kernel order).
constexpr std::array<TcpState, 11> kTcpStates{
    TcpState::established, TcpState::syn_sent,  TcpState::syn_recv, TcpState::fin_wait1,
    TcpState::fin_wait2,   TcpState::time_wait, TcpState::close,    TcpState::close_wait,
    TcpState::last_ack,    TcpState::listen,    TcpState::closing};

/// Our own families; the kernel counters go between the first six and the rest.
constexpr std::array<std::string_view, 11> kOwnFamilies{
    "socklab_sockets",
    "socklab_sockets_by_port",
    "socklab_sockets_by_process",
    "socklab_tcp_transitions_total",
    "socklab_listen_queue",
    "socklab_listen_backlog",
    "socklab_tcp_orphans",
    "socklab_tcp_timewait_buckets_max",
    "socklab_sysctl",
    "socklab_scrape_duration_seconds",
    "socklab_watch_events_lost_total",
};

bool listening(const SocketRecord& r) {
    const auto s = display_state(r.state);
    return (r.netid == Netid::tcp && s == TcpState::listen) ||
           (r.netid == Netid::udp && s == TcpState::close);
}

std::string_view state_name(TcpState s) {
    return state_info(s).json;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    for (char c : help) {  // HELP escapes backslash and newline only
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

/// One sample line: name{k="v",...} value. `labels` alternate key, value.
void sample_line(std::string& out, std::string_view name,
                 std::initializer_list<std::string_view> labels, std::string_view value) {
    out += name;
    if (labels.size() != 0) {
        out += '{';
        bool first = true;
        for (auto it = labels.begin(); it != labels.end(); it += 2) {
            if (!first) out += ',';
            first = false;
            out += *it;
            out += "=\"";
            append_label_value(out, *(it + 1));
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

void label_counts(std::string& out, std::string_view name, std::string_view key,
                  const LabelCounts& counts) {
    for (const auto& [k, n] : counts) {
        const auto& [netid, state, label] = k;
        sample_line(out, name, {"netid", netid_name(netid), "state", state_name(state), key, label},
                    fmt::format("{}", n));
    }
}

}  // namespace

void append_label_value(std::string& out, std::string_view s) {
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

std::span<const std::string_view> family_names() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> v(kOwnFamilies.begin(), kOwnFamilies.begin() + 6);
        for (const auto& c : kernel_counters())
            v.push_back(c.metric);
        v.insert(v.end(), kOwnFamilies.begin() + 6, kOwnFamilies.end());
        return v;
    }();
    return names;
}

void summarize(std::span<const SocketRecord> records, const SummaryOptions& options,
               HostSample& sample) {
    for (auto s : kTcpStates)
        sample.sockets[{Netid::tcp, s}];
    std::set<std::pair<Netid, std::uint32_t>> ports;
    std::map<std::string, std::uint64_t> per_comm;
    std::map<std::pair<std::string, std::uint32_t>, Listener> listeners;
    for (const auto& r : records) {
        if (listening(r)) ports.insert({r.netid, r.local.port});
        if (!r.owners.empty()) ++per_comm[r.owners.front().comm];
        if (r.netid == Netid::tcp && display_state(r.state) == TcpState::listen) {
            HostText buf;
            const std::string addr(numeric_host(r.local.addr, buf));
            auto& l = listeners[{addr, r.local.port}];
            l.addr = addr;
            l.port = r.local.port;
            l.queue += r.recv_q;
            l.backlog += r.send_q;
        }
    }
    // The busiest names keep their series; ties go to the name that sorts first.
    std::vector<std::pair<std::string, std::uint64_t>> busiest(per_comm.begin(), per_comm.end());
    std::stable_sort(busiest.begin(), busiest.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::set<std::string, std::less<>> kept;
    for (std::size_t i = 0; i < busiest.size() && i < options.max_processes; ++i)
        kept.insert(busiest[i].first);
    for (const auto& r : records) {
        const auto s = display_state(r.state);
        ++sample.sockets[{r.netid, s}];
        const auto p = r.local.port;
        const bool named =
            ports.count({r.netid, p}) != 0 || (p != 0 && p < options.well_known_below);
        ++sample.by_port[{r.netid, s, named ? fmt::format("{}", p) : std::string("other")}];
        std::string process = "-";
        if (!r.owners.empty())
            process = kept.count(r.owners.front().comm) != 0 ? r.owners.front().comm : "other";
        ++sample.by_process[{r.netid, s, std::move(process)}];
    }
    for (auto& [k, l] : listeners)
        sample.listeners.push_back(std::move(l));
}

void read_sysctls(const SysctlReader& sysctls, HostSample& sample) {
    for (auto name : exposed_sysctls()) {
        const auto text = sysctls.read(name);
        if (!text) continue;
        const bool negative = !text->empty() && text->front() == '-';
        auto v = parse_uint(negative ? std::string_view(*text).substr(1) : std::string_view(*text),
                            0, INT64_MAX);
        if (!v) continue;
        const auto value = static_cast<std::int64_t>(*v);
        sample.sysctls[std::string(name)] = negative ? -value : value;
    }
}

std::string render(const HostSample& sample) {
    std::string out;
    out.reserve(8192);
    family(out, "socklab_sockets", "gauge",
           "Sockets by protocol and state (states as in the JSON contract).");
    for (const auto& [k, n] : sample.sockets)
        sample_line(out, "socklab_sockets",
                    {"netid", netid_name(k.first), "state", state_name(k.second)},
                    fmt::format("{}", n));
    family(out, "socklab_sockets_by_port", "gauge",
           "Sockets by local port: listening and well-known ports, the rest as port=\"other\".");
    label_counts(out, "socklab_sockets_by_port", "port", sample.by_port);
    family(out, "socklab_sockets_by_process", "gauge",
           "Sockets by the comm of their first owner: the busiest --metrics-max-processes, the "
           "rest as process=\"other\", none as process=\"-\".");
    label_counts(out, "socklab_sockets_by_process", "process", sample.by_process);
    family(out, "socklab_tcp_transitions_total", "counter",
           "TCP state transitions seen by sockwatch (NEW from CLOSE, GONE to CLOSE).");
    for (const auto& [k, n] : sample.transitions)
        sample_line(out, "socklab_tcp_transitions_total",
                    {"from", state_name(k.first), "to", state_name(k.second)},
                    fmt::format("{}", n));
    const auto listener_lines = [&](std::string_view name, std::string_view help, auto field) {
        family(out, name, "gauge", help);
        for (const auto& l : sample.listeners)
            sample_line(out, name, {"addr", l.addr, "port", fmt::format("{}", l.port)},
                        fmt::format("{}", l.*field));
    };
    listener_lines("socklab_listen_queue", "Connections waiting in a listener's accept queue.",
                   &Listener::queue);
    listener_lines("socklab_listen_backlog",
                   "A listener's accept queue limit (its listen() backlog, capped by "
                   "net.core.somaxconn).",
                   &Listener::backlog);
    for (const auto& c : kernel_counters()) {
        family(out, c.metric, "counter", c.help);
        if (const auto it = sample.counters.find(c.key); it != sample.counters.end())
            sample_line(out, c.metric, {}, fmt::format("{}", it->second));
    }
    family(
        out, "socklab_tcp_orphans", "gauge",
        "TCP sockets no process holds any more (sockstat orphan; see net.ipv4.tcp_max_orphans).");
    if (const auto it = sample.counters.find("sockstat.TCP.orphan"); it != sample.counters.end())
        sample_line(out, "socklab_tcp_orphans", {}, fmt::format("{}", it->second));
    family(out, "socklab_tcp_timewait_buckets_max", "gauge",
           "net.ipv4.tcp_max_tw_buckets: TIME_WAIT sockets beyond it are not kept.");
    if (const auto it = sample.sysctls.find("net.ipv4.tcp_max_tw_buckets");
        it != sample.sysctls.end())
        sample_line(out, "socklab_tcp_timewait_buckets_max", {}, fmt::format("{}", it->second));
    family(out, "socklab_sysctl", "gauge", "TCP sysctls the doctor explains, by dotted name.");
    for (const auto& [name, v] : sample.sysctls)
        sample_line(out, "socklab_sysctl", {"name", name}, fmt::format("{}", v));
    family(out, "socklab_scrape_duration_seconds", "gauge",
           "How long this scrape took to collect (dump, owners, counters, sysctls).");
    sample_line(out, "socklab_scrape_duration_seconds", {},
                fmt::format("{:.6f}", sample.scrape_seconds));
    family(out, "socklab_watch_events_lost_total", "counter",
           "Times an event source of sockwatch reported lost events (destroy group overflow).");
    sample_line(out, "socklab_watch_events_lost_total", {}, fmt::format("{}", sample.events_lost));
    return out;
}

}  // namespace socklab::metrics
