// report: the text of list, run, tour, explain and doctor, rendered from values.
#include "socklab/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "report/wrap.hpp"
#include "socklab/model.hpp"
#include "socklab/output.hpp"

namespace socklab::report {

namespace detail {
/// Word-wraps `text` to the width: the first line starts with `indent`, the
/// others with `indent` and `hang` more spaces (for "- " items).
std::string wrap(std::string_view text, std::string_view indent, std::size_t hang) {
    constexpr std::size_t text_width = 78;
    std::string out;
    std::string line(indent);
    const std::string next = std::string(indent) + std::string(hang, ' ');
    std::size_t start = indent.size();
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto space = text.find(' ', pos);
        const auto word = text.substr(pos, space == std::string_view::npos ? space : space - pos);
        if (line.size() > start && line.size() + 1 + word.size() > text_width) {
            out += line + '\n';
            line = next;
            start = next.size();
        }
        if (line.size() > start) line += ' ';
        line += word;
        if (space == std::string_view::npos) break;
        pos = space + 1;
    }
    out += line + '\n';
    return out;
}

}  // namespace detail

namespace {

using detail::wrap;

std::string family_label(Family f) {
    return f == Family::inet6 ? "IPv6, ::1" : "IPv4, 127.0.0.1";
}

std::string endpoint_text(const Endpoint& e) {
    if (e.port == 0 && e.addr.is_any()) return "*";
    return host_port(e.addr, std::to_string(e.port));
}

std::string counts_text(const std::array<std::size_t, kernel_state_count>& by_state) {
    std::string out;
    for (std::size_t i = 0; i < by_state.size(); ++i) {
        if (by_state[i] == 0) continue;
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {}", state_info(static_cast<TcpState>(i)).label, by_state[i]);
    }
    return out;
}

/// The rows sockls -tan shows for the scenario's ports, without the netid column.
std::string sockls_rows(std::span<const SocketRecord> rows) {
    if (rows.empty()) return {};
    output::RenderOptions o;
    o.format = output::Format::ss;
    o.numeric_ports = true;
    o.show_netid = false;
    return output::render_to_string(rows, o);
}

}  // namespace

std::string Printer::bold(std::string_view text) const {
    return color_ ? fmt::format("\x1b[1m{}\x1b[0m", text) : std::string(text);
}

std::string Printer::green(std::string_view text) const {
    return color_ ? fmt::format("\x1b[1;32m{}\x1b[0m", text) : std::string(text);
}

std::string Printer::list() const {
    std::string out;
    out += fmt::format("{:<12} {:<12} {}\n", "SCENARIO", "STATE", "WHAT IT SHOWS");
    for (const auto& s : lab::scenarios())
        out += fmt::format("{:<12} {:<12} {}\n", s.name,
                           s.id == lab::ScenarioId::rst ? "(RST)" : state_info(s.state).label,
                           s.title);
    out += fmt::format("\nsocklab run STATE holds one; socklab explain STATE tells its story.\n");
    return out;
}

std::string Printer::diagram() const {
    std::string out;
    out += fmt::format("{}\n", lab::state_diagram());
    out += fmt::format("States: ");
    std::string names;
    for (const auto& e : lab::explanations())
        names += fmt::format("{}{}", names.empty() ? "" : " ", state_info(e.state).label);
    out += fmt::format("{}\nsocklab explain STATE tells one's story.\n", names);
    return out;
}

std::string Printer::explanation(const lab::Explanation& e,
                                 const lab::SysctlReader& sysctls) const {
    std::string out;
    const bool rst = &e == &lab::explain_rst();
    out +=
        fmt::format("{}: {}\n\n", bold(rst ? "RST close" : state_info(e.state).label), e.summary);
    const std::pair<const char*, std::string_view> parts[] = {{"who", e.who},
                                                              {"enters", e.enters},
                                                              {"leaves", e.leaves},
                                                              {"timers", e.timers},
                                                              {"many", e.many_means}};
    for (const auto& [name, text] : parts) {
        out += fmt::format("{}\n", bold(name));
        out += wrap(text, "    ");
    }
    if (const auto filter = lab::tcpdump_filter(e); !filter.empty()) {
        out += fmt::format("{}\n", bold("segments on a real host (as root; PORT: the service's)"));
        out += fmt::format("    tcpdump -n -i any '{}'\n", filter);
    }
    out += fmt::format("{}\n", bold("sysctls (this host's values)"));
    if (e.sysctls.empty()) out += fmt::format("    none\n");
    for (auto name : e.sysctls) {
        const auto value = sysctls.read(name);
        const auto* doc = lab::find_sysctl_doc(name);
        out += fmt::format("    {} = {}{}\n", name, value.value_or("(unreadable)"),
                           doc ? fmt::format(" (default {})", doc->linux_default) : "");
        if (doc) out += wrap(fmt::format("{}. {}.", doc->what, doc->advice), "        ");
    }
    return out;
}

std::string Printer::scenario(const ScenarioView& v, bool full) const {
    std::string out;
    const auto& info = *v.info;
    const std::string label =
        info.id == lab::ScenarioId::rst ? "RST close" : std::string(state_info(info.state).label);
    out += fmt::format("{} — {} ({})\n", bold(label), info.title, family_label(v.family));
    if (full) out += wrap(fmt::format("how: {}", v.recipe.empty() ? info.recipe : v.recipe), "");
    if (const auto rows = sockls_rows(v.rows); !rows.empty())
        out += fmt::format("\nas sockls -tan shows them:\n{}\n", rows);
    const bool observed = v.seen.size() == v.sides.size();
    for (std::size_t i = 0; i < v.sides.size(); ++i) {
        const auto& side = v.sides[i];
        std::string state;
        if (side.presence == lab::Presence::gone) {
            state = "gone";
        } else if (observed && v.seen[i].state) {
            state = fmt::format("{} ({})", state_info(*v.seen[i].state).label, v.seen[i].source);
        } else {
            state = fmt::format("{} (kernel only)", state_info(side.expected).label);
        }
        const std::string tuple =
            side.peer.port == 0
                ? endpoint_text(side.local)
                : fmt::format("{} -> {}", endpoint_text(side.local), endpoint_text(side.peer));
        // "*" marks the side in the scenario's state (scripts and tests look for it).
        out += fmt::format("{} {:<18} {:<40} {}\n", side.focus ? '*' : ' ', side.role, tuple,
                           side.focus ? green(state) : state);
        if (full || side.focus) out += wrap(side.doing, "      ");
    }
    return out;
}

std::string Printer::look(const lab::ScenarioInfo& info, std::span<const lab::Side> sides,
                          std::string_view via) const {
    std::string out;
    // The port every side shares (the listener's): one filter shows them all.
    std::map<std::uint32_t, int> seen;
    for (const auto& side : sides)
        for (const auto port : {side.local.port, side.peer.port})
            if (port != 0) ++seen[port];
    if (seen.empty()) return out;
    const auto port = std::max_element(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
                          return a.second < b.second;
                      })->first;
    const bool closed = info.id == lab::ScenarioId::closed;
    out += fmt::format("look: {}sockls -tan {}'( sport = :{} or dport = :{} )'   ({})\n", via,
                       closed ? "state closed " : "", port, port,
                       closed ? "ss lists no closed socket" : "ss takes the same filter");
    return out;
}

std::string Printer::holding(std::chrono::milliseconds hold) const {
    std::string out;
    if (hold.count() == 0)
        out += fmt::format("holding until Ctrl-C...\n");
    else
        out += fmt::format("holding for {} s (Ctrl-C releases)...\n",
                           static_cast<double>(hold.count()) / 1000.0);
    return out;
}

std::string Printer::released(const lab::ScenarioInfo& info, bool interrupted) const {
    std::string out;
    const bool tw = info.id == lab::ScenarioId::time_wait;
    out += fmt::format("{}released: every socket closed{}\n", interrupted ? "interrupted; " : "",
                       tw ? " (the TIME_WAIT stays for its 60 s: that is the point)" : "");
    return out;
}

std::string Printer::tour_step(std::size_t n, std::size_t total) const {
    std::string out;
    if (n == 1)
        out += fmt::format(
            "{}: every TCP state in turn, both ends in this process on loopback.\n"
            "The side in the state is marked *; (TCP_INFO) and (sock_diag) say who "
            "reported it.\n",
            bold("socklab tour"));
    out += fmt::format("\n[{}/{}] ", n, total);
    return out;
}

std::string Printer::tour_end() const {
    std::string out;
    out += fmt::format(
        "\nTour done: every state was held on loopback and released.\n"
        "socklab run STATE --hold 60 holds one while you look (sockls, ss, netstat);\n"
        "socklab explain STATE tells its story; socklab doctor looks at this host.\n");
    return out;
}

std::string Printer::doctor(const lab::DoctorReport& r) const {
    std::string out;
    out += fmt::format("{}: {} TCP sockets\n", bold("socklab doctor"), r.sockets);
    out += fmt::format("by state: {}\n", r.sockets == 0 ? "none" : counts_text(r.totals));
    constexpr std::size_t top = 10;
    if (!r.ports.empty()) out += fmt::format("\n{}\n", bold("by port (busiest first)"));
    for (std::size_t i = 0; i < std::min(top, r.ports.size()); ++i)
        out += fmt::format("  {:<8} {:>7}  {}\n", r.ports[i].key, r.ports[i].total,
                           counts_text(r.ports[i].by_state));
    if (!r.processes.empty())
        out += fmt::format("\n{}\n", bold("by process (pid/comm; - for none)"));
    for (std::size_t i = 0; i < std::min(top, r.processes.size()); ++i)
        out += fmt::format("  {:<24} {:>7}  {}\n", r.processes[i].key, r.processes[i].total,
                           counts_text(r.processes[i].by_state));
    out += fmt::format("\n{}\n", bold("findings"));
    if (r.owners_unknown > 0)
        out += wrap(fmt::format("owners unknown for {} sockets (run as root): the per-process "
                                "rules could not look at them",
                                r.owners_unknown),
                    "  ");
    if (r.findings.empty() && r.owners_unknown == 0)
        out += "  nothing is wrong: no anomaly crossed its threshold\n";
    else if (r.findings.empty())
        out += "  no anomaly crossed its threshold among the sockets that could be seen\n";
    for (const auto& f : r.findings) {
        out += fmt::format("  {} [{}] {}\n", color_ ? "\x1b[1;31m!\x1b[0m" : "!",
                           lab::finding_name(f.kind), f.title);
        out += wrap(f.detail, "      ");
        for (const auto& a : f.advice)
            out += wrap("- " + a, "      ", 2);
    }
    out += fmt::format("\n{}\n", bold("sysctls"));
    for (const auto& [name, value] : r.sysctls)
        out += fmt::format("  {} = {}\n", name, value.value_or("(unreadable)"));
    return out;
}

}  // namespace socklab::report
