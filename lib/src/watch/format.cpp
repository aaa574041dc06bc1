// watch: event lines (text, JSON), per-state count lines and --warn rules.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "socklab/watch.hpp"

namespace socklab::watch {

namespace {

/// The states a socket can be seen in (kernel 1..11): the contract's names.
constexpr std::array<TcpState, 11> counted{
    TcpState::established, TcpState::syn_sent,  TcpState::syn_recv, TcpState::fin_wait1,
    TcpState::fin_wait2,   TcpState::time_wait, TcpState::close,    TcpState::close_wait,
    TcpState::last_ack,    TcpState::listen,    TcpState::closing,
};

std::string_view json_state(TcpState s) {
    return state_info(display_state(s)).json;
}

std::int64_t micros(Clock::duration d) {
    return std::max<std::int64_t>(0,
                                  std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

/// "1.234567s": a duration in the text line.
std::string seconds_text(Clock::duration d) {
    const std::int64_t us = micros(d);
    return fmt::format("{}.{:06}s", us / 1'000'000, us % 1'000'000);
}

/// A GONE of a socket never seen alive (its destroy message says CLOSE).
bool never_seen_alive(const Event& e) {
    return e.kind == EventKind::gone && display_state(e.old_state) == TcpState::close;
}

/// Whether the event tells the time spent in its old state (CHANGE and GONE of
/// a row seen alive).
bool has_state_duration(const Event& e) {
    return e.kind != EventKind::new_ && e.state_since != Clock::time_point{} &&
           !never_seen_alive(e);
}

}  // namespace

std::string_view event_kind_name(EventKind kind) {
    switch (kind) {
        case EventKind::new_:
            return "NEW";
        case EventKind::change:
            return "CHANGE";
        case EventKind::gone:
            return "GONE";
    }
    return "?";
}

std::string format_endpoint(const SocketRecord& record, const Endpoint& endpoint) {
    if (record.family == Family::unix_) return endpoint.path.empty() ? "*" : endpoint.path;
    const std::string port = endpoint.port == 0 ? "*" : std::to_string(endpoint.port);
    if (endpoint.addr.is_any()) return "*:" + port;
    return host_port(endpoint.addr, port);
}

std::string format_event_text(const Event& event) {
    std::string line = fmt::format("{} {} {} {} {} ", format_time_us(event.time, false),
                                   event_kind_name(event.kind), netid_name(event.socket.netid),
                                   format_endpoint(event.socket, event.socket.local),
                                   format_endpoint(event.socket, event.socket.peer));
    // NEW, and GONE of a socket never seen alive (its destroy message says CLOSE):
    // the state alone.
    if (event.kind == EventKind::new_ || never_seen_alive(event)) {
        line += json_state(event.state);
    } else {
        line += fmt::format("{} -> {}", json_state(event.old_state), json_state(event.state));
    }
    // Then, on CHANGE and GONE, key=value words, each when known: time in the old
    // state, lifetime (GONE), the tcp_info totals and their rates. A NEW line
    // ends with its state (`grep 'LISTEN$'`).
    if (event.kind == EventKind::new_) return line;
    if (has_state_duration(event)) line += " state=" + seconds_text(event.time - event.state_since);
    if (event.kind == EventKind::gone && event.created != Clock::time_point{} &&
        !never_seen_alive(event))
        line += " lifetime=" + seconds_text(event.time - event.created);
    if (const auto& ti = event.socket.tcp_info)
        line += fmt::format(" sent={} recv={}", ti->bytes_acked, ti->bytes_received);
    if (event.sent_per_s && event.received_per_s)
        line += fmt::format(" sent/s={} recv/s={}", *event.sent_per_s, *event.received_per_s);
    return line;
}

std::string format_event_json(const Event& event) {
    fmt::memory_buffer b;
    auto it = std::back_inserter(b);
    fmt::format_to(it, R"({{"time":"{}","event":"{}",)", format_time_us(event.time),
                   event_kind_name(event.kind));
    if (event.kind != EventKind::new_)
        fmt::format_to(it, R"("old_state":"{}",)", json_state(event.old_state));
    fmt::format_to(it, R"("state":"{}","source":"{}",)", json_state(event.state),
                   diag::origin_name(event.origin));
    // The socket's own members, written as sockls writes them (one writer).
    const std::size_t before = b.size();
    append_socket_json(b, event.socket, false);
    if (!event.identity_known) {
        // inode, uid and cookie are the writer's last keys: an unknown one is
        // left out, never written as 0.
        const std::string_view written(b.data() + before, b.size() - before);
        const auto at = written.rfind(R"(,"inode":)");
        if (at != std::string_view::npos) b.resize(before + at);
    }
    if (!event.socket.owners.empty()) {
        const Owner& o = event.socket.owners.front();
        fmt::format_to(it, R"(,"pid":{},"comm":)", o.pid);
        append_json_string(b, o.comm);
    }
    if (event.created != Clock::time_point{}) {
        fmt::format_to(it, R"(,"created":"{}")", format_time_us(event.created));
        if (event.kind == EventKind::gone)
            fmt::format_to(it, R"(,"lifetime_us":{})", micros(event.time - event.created));
    }
    if (has_state_duration(event))
        fmt::format_to(it, R"(,"state_us":{})", micros(event.time - event.state_since));
    // tcp_info's traffic (TCPView's sent/received bytes and packets), when known.
    if (const auto& ti = event.socket.tcp_info) {
        fmt::format_to(it, R"(,"bytes_sent":{},"bytes_received":{},"segs_out":{},"segs_in":{})",
                       ti->bytes_acked, ti->bytes_received, ti->segs_out, ti->segs_in);
    }
    if (event.sent_per_s && event.received_per_s)
        fmt::format_to(it, R"(,"bytes_sent_per_s":{},"bytes_received_per_s":{})", *event.sent_per_s,
                       *event.received_per_s);
    b.push_back('}');
    return fmt::to_string(b);
}

std::span<const TcpState> counted_states() {
    return counted;
}

std::string format_counts_text(Clock::time_point time, const StateCounts& counts) {
    std::string line = format_time_us(time, false);
    for (const TcpState s : counted)
        line += fmt::format(" {}={}", json_state(s), counts[static_cast<std::size_t>(s)]);
    return line;
}

std::string format_counts_json(Clock::time_point time, const StateCounts& counts) {
    std::string out = fmt::format(R"({{"time":"{}","counts":{{)", format_time_us(time));
    bool first = true;
    for (const TcpState s : counted) {
        out += fmt::format(R"({}"{}":{})", first ? "" : ",", json_state(s),
                           counts[static_cast<std::size_t>(s)]);
        first = false;
    }
    out += "}}";
    return out;
}

std::string format_counts_line(Clock::time_point time, const StateCounts& counts, bool json) {
    return (json ? format_counts_json(time, counts) : format_counts_text(time, counts)) + "\n";
}

std::uint64_t append_event_lines(std::string& text, std::span<const Event> events, bool json,
                                 std::uint64_t max) {
    std::uint64_t n = 0;
    for (const Event& e : events) {
        if (n == max) break;
        text += json ? format_event_json(e) : format_event_text(e);
        text += '\n';
        ++n;
    }
    return n;
}

Result<WarnRule> parse_warn(std::string_view text) {
    const auto gt = text.find('>');
    if (gt == std::string_view::npos)
        return make_error(std::errc::invalid_argument,
                          fmt::format("'{}': expected STATE>N, e.g. CLOSE_WAIT>100", text));
    auto trim = [](std::string_view v) {
        while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front())))
            v.remove_prefix(1);
        while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back())))
            v.remove_suffix(1);
        return v;
    };
    const std::string_view name = trim(text.substr(0, gt));
    const std::string_view number = trim(text.substr(gt + 1));
    const auto state = parse_state(name);
    if (!state)
        return make_error(std::errc::invalid_argument,
                          fmt::format("'{}': '{}' is not a state", text, name));
    auto limit = parse_uint(number, 0, UINT64_MAX);
    if (!limit)
        return make_error(std::errc::invalid_argument,
                          fmt::format("'{}': {}", text, limit.error().context));
    return WarnRule{display_state(*state), *limit};
}

std::optional<WarnRule> crossed(std::span<const WarnRule> rules, const StateCounts& counts) {
    for (const WarnRule& r : rules)
        if (counts[static_cast<std::size_t>(r.state)] > r.limit) return r;
    return std::nullopt;
}

std::string format_warn(const WarnRule& rule, const StateCounts& counts) {
    return fmt::format("{} count {} exceeds {}", json_state(rule.state),
                       counts[static_cast<std::size_t>(rule.state)], rule.limit);
}

std::string format_sources_line(const Monitor& monitor, std::chrono::nanoseconds interval) {
    std::string line = fmt::format("sources: {} every {}s", monitor.sources(),
                                   std::chrono::duration<double>(interval).count());
    for (const auto& note : monitor.notes())
        line += fmt::format(" ({})", note);
    return line;
}

std::string format_missing_sources(const Monitor& monitor) {
    std::string out;
    for (const auto& note : monitor.notes()) {
        const auto name = note.substr(0, note.find(':'));
        const auto why = note.rfind(": ");
        out += fmt::format("{}no {}: {}", out.empty() ? "" : "; ", name,
                           why == std::string::npos ? note : note.substr(why + 2));
    }
    return out;
}

MonitorOptions monitor_options(const Selection& sel, std::chrono::nanoseconds interval,
                               SourceChoice source) {
    MonitorOptions mo;
    mo.query.tcp = sel.tcp;
    mo.query.udp = sel.udp;
    mo.query.ipv4 = sel.ipv4;
    mo.query.ipv6 = sel.ipv6;
    mo.query.states = sel.filter.states;
    mo.query.want_info = sel.tcp;  // bytes and segments each way (tcp_info)
    mo.query.bytecode = filter::compile_bytecode(sel.filter);
    mo.interval = interval;
    mo.source = source;
    mo.accept = [sel](const SocketRecord& r) {
        const bool proto = r.netid == Netid::tcp ? sel.tcp : (r.netid == Netid::udp && sel.udp);
        const bool fam = r.family == Family::inet ? sel.ipv4 : sel.ipv6;
        return proto && fam && filter::matches(sel.filter, r);
    };
    return mo;
}

}  // namespace socklab::watch
