// report: where the host's sockets come from (sock_diag or /proc/net, and /proc owners).
#include <algorithm>
#include <unordered_set>

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
