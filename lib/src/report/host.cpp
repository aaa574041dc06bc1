// report: where the host's sockets come from (sock_diag or /proc/net, and /proc owners).
#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "socklab/metrics.hpp"
#include "socklab/proc.hpp"
#include "socklab/report.hpp"

namespace socklab::report {

std::unique_ptr<diag::SocketSource> open_diag() {
    auto source = diag::open_source(diag::SourceKind::automatic);
    if (!source) return nullptr;
    return std::move(source.value());
}

Result<std::vector<SocketRecord>> read_host(bool procfs) {
    auto source =
        diag::open_source(procfs ? diag::SourceKind::procfs : diag::SourceKind::automatic);
    if (!source) return source.error();
    diag::Query q;  // every TCP socket, IPv4 and IPv6, every state ss can show
    auto records = (*source)->dump(q);
    if (!records) return records.error();
    std::unordered_set<std::uint64_t> wanted;
    wanted.reserve(records->size());
    for (const auto& r : *records)
        if (r.inode != 0) wanted.insert(r.inode);
    if (!wanted.empty()) proc::attach_owners(*records, proc::scan_owners(wanted, {}));
    return records;
}

namespace {

/// One sample of the host model: counters, listeners and counts (owners when given).
Result<metrics::HostSample> sample(std::span<const SocketRecord> records) {
    metrics::HostSample s;
    metrics::summarize(records, {}, s);
    auto counters = metrics::read_counters();
    if (!counters) return counters.error();
    s.counters = std::move(counters).value();
    return s;
}

void json_key(fmt::memory_buffer& b, std::string_view key) {
    append_json_string(b, key);
    b.push_back(':');
}

/// {"name":"value",...}, null for a sysctl that could not be read.
void sysctl_object(fmt::memory_buffer& b, std::span<const std::string_view> names,
                   const lab::DoctorReport& r) {
    b.push_back('{');
    for (std::size_t k = 0; k < names.size(); ++k) {
        if (k != 0) b.push_back(',');
        json_key(b, names[k]);
        const auto it = std::find_if(r.sysctls.begin(), r.sysctls.end(),
                                     [&](const auto& kv) { return kv.first == names[k]; });
        if (it != r.sysctls.end() && it->second)
            append_json_string(b, *it->second);
        else
            fmt::format_to(std::back_inserter(b), "null");
    }
    b.push_back('}');
}

}  // namespace

Result<lab::DoctorReport> doctor_host(bool procfs, std::chrono::milliseconds interval,
                                      const lab::SysctlReader& sysctls,
                                      const std::function<bool(std::chrono::milliseconds)>& wait) {
    auto source =
        diag::open_source(procfs ? diag::SourceKind::procfs : diag::SourceKind::automatic);
    if (!source) return source.error();
    auto before = (*source)->dump(diag::Query{});
    if (!before) return before.error();
    auto first = sample(*before);
    if (!first) return first.error();
    const auto t0 = std::chrono::steady_clock::now();
    if (wait(interval)) return make_error(std::errc::interrupted, "interval");
    auto records = read_host(procfs);
    if (!records) return records.error();
    auto second = sample(*records);
    if (!second) return second.error();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    auto report = lab::diagnose(*records, sysctls);
    lab::diagnose_rates(*first, *second, took.count(), sysctls, {}, report);
    // The knobs the findings name, with their values, in the sysctl list too.
    for (const auto& f : report.findings)
        for (auto name : f.sysctls)
            if (std::none_of(report.sysctls.begin(), report.sysctls.end(),
                             [&](const auto& kv) { return kv.first == name; }))
                report.sysctls.emplace_back(name, sysctls.read(name));
    return report;
}

std::string doctor_json(const lab::DoctorReport& r) {
    fmt::memory_buffer b;
    auto text = [&](std::string_view s) { append_json_string(b, s); };
    fmt::format_to(std::back_inserter(b), "{{\"sockets\":{},\"by_state\":{{", r.sockets);
    bool first = true;
    for (std::size_t i = 0; i < r.totals.size(); ++i) {
        if (r.totals[i] == 0) continue;
        if (!std::exchange(first, false)) b.push_back(',');
        json_key(b, state_info(static_cast<TcpState>(i)).json);
        fmt::format_to(std::back_inserter(b), "{}", r.totals[i]);
    }
    fmt::format_to(std::back_inserter(b), "}},\"owners_unknown\":{},\"interval_seconds\":{:.3f},",
                   r.owners_unknown, r.interval_seconds);
    json_key(b, "findings");
    b.push_back('[');
    for (std::size_t i = 0; i < r.findings.size(); ++i) {
        const auto& f = r.findings[i];
        if (i != 0) b.push_back(',');
        b.push_back('{');
        json_key(b, "kind");
        text(lab::finding_name(f.kind));
        b.push_back(',');
        json_key(b, "state");
        text(state_info(f.state).json);
        fmt::format_to(std::back_inserter(b), ",\"count\":{},", f.count);
        json_key(b, "title");
        text(f.title);
        b.push_back(',');
        json_key(b, "detail");
        text(f.detail);
        fmt::format_to(std::back_inserter(b), ",\"pid\":{},", f.pid);
        json_key(b, "comm");
        text(f.comm);
        fmt::format_to(std::back_inserter(b), ",\"ports\":[{}],", fmt::join(f.ports, ","));
        json_key(b, "advice");
        b.push_back('[');
        for (std::size_t k = 0; k < f.advice.size(); ++k) {
            if (k != 0) b.push_back(',');
            text(f.advice[k]);
        }
        b.push_back(']');
        b.push_back(',');
        json_key(b, "sysctls");
        sysctl_object(b, f.sysctls, r);
        b.push_back('}');
    }
    b.push_back(']');
    b.push_back(',');
    json_key(b, "rates");
    b.push_back('{');
    for (std::size_t i = 0; i < r.rates.size(); ++i) {
        if (i != 0) b.push_back(',');
        json_key(b, r.rates[i].metric);
        fmt::format_to(std::back_inserter(b), "{{\"delta\":{},\"per_second\":{:.3f}}}",
                       r.rates[i].delta, r.rates[i].per_second);
    }
    b.push_back('}');
    b.push_back(',');
    json_key(b, "sysctls");
    std::vector<std::string_view> names;
    for (const auto& kv : r.sysctls)
        names.push_back(kv.first);
    sysctl_object(b, names, r);
    b.push_back('}');
    b.push_back('\n');
    return fmt::to_string(b);
}

std::string Printer::doctor_rates(const lab::DoctorReport& r) const {
    if (r.rates.empty()) return {};
    std::string out = fmt::format(
        "\n{}\n", bold(fmt::format("kernel counters over {:.1f} s", r.interval_seconds)));
    for (const auto& c : r.rates)
        out += fmt::format("  {:<28} {:>+8}  {:>10.2f}/s\n", c.key, c.delta, c.per_second);
    return out;
}

namespace {

/// The sockets of the scenario's ports (bound-inactive included, as `sockls state
/// closed` asks for them), or empty when there is no source.
std::vector<SocketRecord> scenario_rows(const lab::Scenario& s, diag::SocketSource* source) {
    if (source == nullptr) return {};
    diag::Query q;
    q.ipv4 = s.family() == Family::inet;
    q.ipv6 = s.family() == Family::inet6;
    q.states = all_states_mask | state_bit(TcpState::bound_inactive);
    auto records = source->dump(q);
    if (!records) return {};
    const auto ports = s.ports();
    std::vector<SocketRecord> ours;
    for (auto& r : *records)
        if (std::find(ports.begin(), ports.end(), r.local.port) != ports.end())
            ours.push_back(std::move(r));
    return ours;
}

}  // namespace

ScenarioView snapshot(const lab::Scenario& s, diag::SocketSource* source) {
    ScenarioView v;
    v.info = &s.info();
    v.family = s.family();
    v.sides.assign(s.sides().begin(), s.sides().end());
    // The rows first, as before the move: the sides are observed after the dump.
    v.rows = scenario_rows(s, source);
    if (auto seen = s.observe(source)) v.seen = std::move(seen.value());
    return v;
}

}  // namespace socklab::report
