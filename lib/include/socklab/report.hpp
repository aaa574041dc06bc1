// report: the text of socklab's commands (list, run, tour, explain, doctor) as pure renderers.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/diag.hpp"
#include "socklab/lab.hpp"
#include "socklab/model.hpp"

namespace socklab::report {

// ---------------------------------------------------------------------------
// Where the host's sockets come from.

/// The sock_diag source (falls back to /proc/net), or null when none can be opened:
/// scenarios then show only what TCP_INFO sees. Never fails otherwise.
[[nodiscard]] std::unique_ptr<diag::SocketSource> open_diag();

/// Every TCP socket of this host (IPv4 and IPv6, every state ss can show), from
/// sock_diag or, with `procfs`, /proc/net, with owners attached from /proc. A socket
/// whose owner could not be read keeps no owners and its inode: diagnose() counts
/// those as owners_unknown. Blocks while it dumps and scans /proc. Errors: the source
/// could not be opened or dumped.
[[nodiscard]] Result<std::vector<SocketRecord>> read_host(bool procfs);

/// `socklab doctor`: the host model sampled twice, `interval` apart (counters and
/// listeners, then every TCP socket with owners as read_host()), diagnose() and
/// diagnose_rates() applied. `wait(d)` waits the interval and returns true when it
/// was interrupted (then the error is std::errc::interrupted). Errors: the source,
/// the dump or the counter files could not be read.
[[nodiscard]] Result<lab::DoctorReport> doctor_host(
    bool procfs, std::chrono::milliseconds interval, const lab::SysctlReader& sysctls,
    const std::function<bool(std::chrono::milliseconds)>& wait);
/// `socklab doctor --json`: one object (DOCTOR JSON in socklab(1)).
[[nodiscard]] std::string doctor_json(const lab::DoctorReport& report);

// ---------------------------------------------------------------------------
// A scenario as values, so that its rendering is a pure function.

/// What `socklab run` and `tour` show of a running scenario.
struct ScenarioView {
    const lab::ScenarioInfo* info = nullptr;  ///< never null in a view from snapshot()
    Family family = Family::inet;
    std::vector<lab::Side> sides;
    /// The state of each side (same index as sides), or empty when it could not be
    /// observed: then every side shows its expected state as "(kernel only)".
    std::vector<lab::Observation> seen;
    /// The sockets of the scenario's ports as sock_diag lists them (bound-inactive
    /// included); empty: no source, or nothing found.
    std::vector<SocketRecord> rows;
    /// The scenario's captured segments (socklab run --segments), in capture order.
    std::vector<lab::WireSegment> segments;
    /// How it was built when not as info->recipe says (the FIN on the wire).
    std::string_view recipe;
};

/// Observes `s` now: TCP_INFO for its fd sides, `source` (may be null) for the rest and
/// for the rows. Blocks for one dump; errors of the source leave seen or rows empty.
[[nodiscard]] ScenarioView snapshot(const lab::Scenario& s, diag::SocketSource* source);

/// A started scenario and its view, as `socklab run` and `tour` show it.
struct Shown {
    lab::Scenario scenario;
    ScenarioView view;
};
/// Starts `id` (first in a fresh private network namespace from `net` when
/// `options.segments`), verifies it within `verify` against sock_diag (open_diag(),
/// opened in the scenario's namespace), and observes it with its captured segments.
/// Errors name the step; nothing is printed.
[[nodiscard]] Result<Shown> start_shown(lab::ScenarioId id, const lab::StartOptions& options,
                                        lab::PrivateNetwork& net, std::chrono::milliseconds verify);

/// Writes the view's segments (the ladder's, in its order) to a pcap file at `path`.
[[nodiscard]] Result<void> write_pcap(const std::string& path, const ScenarioView& v);

// ---------------------------------------------------------------------------
// The renderers: values in, text out. Colour (ANSI bold and green) only when asked.

class Printer {
  public:
    explicit Printer(bool color) : color_(color) {}

    /// `socklab list`: every scenario with its state and title.
    [[nodiscard]] std::string list() const;
    /// `socklab explain` with no state: the state diagram and the state names.
    [[nodiscard]] std::string diagram() const;
    /// One explanation with the host's values of its sysctls (read through `sysctls`).
    [[nodiscard]] std::string explanation(const lab::Explanation& e,
                                          const lab::SysctlReader& sysctls) const;
    /// The scenario's heading, the sockls rows of its ports and each side; `full`
    /// prints what every side does (run), else only the side in the state (tour).
    [[nodiscard]] std::string scenario(const ScenarioView& v, bool full) const;
    /// The sockls command that shows the scenario's sockets while it holds; `via`
    /// goes before it (nsenter_prefix() when they live in a private namespace).
    [[nodiscard]] std::string look(const lab::ScenarioInfo& info, std::span<const lab::Side> sides,
                                   std::string_view via = {}) const;
    /// The segments as a ladder between the ends (time, direction, flags, seq and ack
    /// relative to each side's ISN, window, length, fate) with the state each end moves
    /// to per our state machine, then its final states beside the kernel's, every
    /// disagreement explained.
    [[nodiscard]] std::string ladder(const ScenarioView& v) const;
    /// How to see the private namespace's sockets with ss while the scenario holds.
    [[nodiscard]] std::string nsenter(int pid, bool user_namespace) const;
    /// "nsenter -t PID [-U] -n ": what runs a command in socklab's private namespace.
    [[nodiscard]] static std::string nsenter_prefix(int pid, bool user_namespace);
    /// "holding for N s" (0: until Ctrl-C).
    [[nodiscard]] std::string holding(std::chrono::milliseconds hold) const;
    [[nodiscard]] std::string released(const lab::ScenarioInfo& info, bool interrupted) const;
    /// The tour's step heading `n` of `total` (the first one introduces the tour).
    [[nodiscard]] std::string tour_step(std::size_t n, std::size_t total) const;
    [[nodiscard]] std::string tour_end() const;
    /// `socklab doctor`: counts, the busiest ports and processes, findings, sysctls.
    [[nodiscard]] std::string doctor(const lab::DoctorReport& report) const;
    /// The kernel counters over the doctor's interval (empty when not sampled).
    [[nodiscard]] std::string doctor_rates(const lab::DoctorReport& report) const;

  private:
    [[nodiscard]] std::string bold(std::string_view text) const;
    [[nodiscard]] std::string green(std::string_view text) const;
    bool color_;
};

}  // namespace socklab::report
