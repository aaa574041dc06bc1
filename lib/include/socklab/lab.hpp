// lab: TCP state scenarios on loopback, the state explanations, and the host doctor.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/diag.hpp"
#include "socklab/metrics.hpp"
#include "socklab/model.hpp"
#include "socklab/packet.hpp"

namespace socklab::lab {

// ---------------------------------------------------------------------------
// Scenarios: every TCP state held on demand, both ends in this process.

enum class ScenarioId : std::uint8_t {
    listen,
    syn_sent,
    syn_recv,
    established,
    fin_wait1,
    fin_wait2,
    close_wait,
    closing,
    last_ack,
    time_wait,
    closed,
    rst,
};

/// What a scenario shows and how it is built (a row of the one scenario table).
struct ScenarioInfo {
    ScenarioId id;
    std::string_view name;    ///< command-line name: "listen" ... "time-wait", "closed", "rst"
    TcpState state;           ///< the state it demonstrates (rst: close)
    std::string_view title;   ///< one line for `socklab list`
    std::string_view recipe;  ///< how the sockets are driven into the state
};

/// Every scenario, in the order of a connection's life (the tour's order).
[[nodiscard]] std::span<const ScenarioInfo> scenarios();
[[nodiscard]] const ScenarioInfo& scenario_info(ScenarioId id);
/// A scenario by state name in any spelling (parse_state: "fin_wait_1", "FIN-WAIT-1",
/// "LISTENING", "closed"...) or "rst"/"reset"/"abort" for the abortive close.
[[nodiscard]] std::optional<ScenarioId> parse_scenario(std::string_view word);

/// Where one side of a scenario lives, which decides how its state is read.
enum class Presence : std::uint8_t {
    fd,           ///< we hold its descriptor: TCP_INFO reads the state
    kernel_only,  ///< no descriptor (request socket, TIME_WAIT, orphan): sock_diag
    gone,         ///< no socket at all any more (the RST sender): absent from sock_diag
};

/// One socket of a scenario: its 4-tuple, the state it must be in, and why.
struct Side {
    std::string role;  ///< "listener", "client", "server", "second client"...
    Endpoint local;
    Endpoint peer;                          ///< port 0 for a listener or an unconnected socket
    TcpState expected = TcpState::unknown;  ///< kernel state (display_state() for names)
    Presence presence = Presence::fd;
    bool focus = false;  ///< this side shows the scenario's state
    std::string doing;   ///< what the side did and what it waits for, in words
};

/// One side's state as observed now.
struct Observation {
    std::optional<TcpState> state;  ///< nullopt: not found (no socket)
    std::string source;             ///< "TCP_INFO" or "sock_diag"
};

struct StartOptions {
    Family family = Family::inet;  ///< inet: 127.0.0.1, inet6: ::1
    /// How long building may take before it fails (each handshake and transition
    /// is awaited with this deadline; on loopback they take microseconds).
    std::chrono::milliseconds timeout{5000};
    /// Capture the scenario's segments on lo (needs a private network namespace:
    /// PrivateNetwork). FIN_WAIT_1, CLOSING and LAST_ACK then send their FIN and a
    /// socket filter drops its answer; SYN_SENT waits for a SYN retransmission.
    bool segments = false;
    /// With `segments`: keep the FIN queued behind data (the default recipes), to show
    /// the kernel changing state while no FIN has left.
    bool queued_fin = false;
};

/// A captured segment of a scenario and what its receiver did with it.
struct WireSegment {
    packet::Segment segment;
    packet::Fate fate = packet::Fate::delivered;
    std::string why;  ///< for a dropped or ignored segment: by what, and why on purpose
};

/// A private network namespace for this process (and, without root, a private user
/// namespace first, where this user is root): a loopback of its own, up, that only
/// the scenario uses and that vanishes with the process. Needs a single-threaded
/// process. Each enter() makes a fresh network namespace.
class PrivateNetwork {
  public:
    [[nodiscard]] Result<void> enter();
    /// True once a user namespace was made (nsenter then needs -U as well).
    [[nodiscard]] bool user_namespace() const { return user_; }

  private:
    bool user_ = false;
};

/// A running scenario: owns every socket it made (RAII) and releases them in an
/// order that leaves no stray socket behind (except the TIME_WAIT it demonstrates).
/// Move-only. Not thread-safe.
class Scenario {
  public:
    /// Builds the scenario on loopback without root: blocks until every side has
    /// reached its expected state per TCP_INFO (fd sides), or `timeout` passes.
    /// Sides without a descriptor are checked by verify() with a SocketSource.
    /// Errors name the step ("connect [::1]:40000: Connection refused").
    [[nodiscard]] static Result<Scenario> start(ScenarioId id, const StartOptions& options = {});

    Scenario(Scenario&&) noexcept;
    Scenario& operator=(Scenario&&) noexcept;
    Scenario(const Scenario&) = delete;
    Scenario& operator=(const Scenario&) = delete;
    ~Scenario();

    [[nodiscard]] const ScenarioInfo& info() const;
    [[nodiscard]] Family family() const;
    [[nodiscard]] std::span<const Side> sides() const;
    /// Local ports this scenario uses (listener and clients): for filtering dumps.
    [[nodiscard]] std::vector<std::uint32_t> ports() const;
    /// The segments of the scenario's ports captured until now, in order, each with
    /// its fate (empty unless started with `segments`). Reads the capture.
    [[nodiscard]] Result<std::vector<WireSegment>> segments() const;

    /// The state of every side now: TCP_INFO for fd sides; `source` (may be null:
    /// then kernel-only sides are reported as not observed) for the others.
    [[nodiscard]] Result<std::vector<Observation>> observe(diag::SocketSource* source) const;
    /// Waits until every side is in its expected state (gone sides absent), or
    /// fails after `timeout` naming the side, the expected and the seen state.
    /// Without a source only fd sides are checked.
    [[nodiscard]] Result<void> verify(std::chrono::milliseconds timeout,
                                      diag::SocketSource* source) const;

    /// Releases every socket: connected sockets are aborted (RST, SO_LINGER 0) so no
    /// FIN_WAIT/LAST_ACK lingers; listeners close last. Idempotent; never fails.
    void release() noexcept;

    struct Impl;

  private:
    explicit Scenario(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// A --hold or --pause value in seconds ("0.5", "2s"...): 0 is "until stopped";
/// anything above 0 but below 1 ms is 1 ms (it must never turn into 0, forever).
/// Errors start with `option`.
[[nodiscard]] Result<std::chrono::milliseconds> parse_hold(std::string_view text,
                                                           std::string_view option);
/// Waits `d` (0: forever) or until `stopped()` says so, woken by `stop_fd` becoming
/// readable (a signal's self-pipe); true when stopped.
[[nodiscard]] bool hold(int stop_fd, std::chrono::milliseconds d, bool (*stopped)());

/// Finds the record whose local and peer endpoints match (addresses and ports).
[[nodiscard]] const SocketRecord* find_record(std::span<const SocketRecord> records,
                                              const Endpoint& local, const Endpoint& peer);

// ---------------------------------------------------------------------------
// Sysctls: read through an injectable reader so tests can fake the host.

/// The readers live in metrics (the host model reads them too); lab's names stay.
using metrics::make_fixed_sysctl_reader;
using metrics::make_proc_sysctl_reader;
using metrics::SysctlReader;

/// What a TCP sysctl does, its Linux default, and what to do with it.
struct SysctlDoc {
    std::string_view name;           ///< "net.ipv4.tcp_fin_timeout"
    std::string_view linux_default;  ///< "60"
    std::string_view what;           ///< what it governs
    std::string_view advice;         ///< when and how to change it
};
/// Every sysctl the explanations and the doctor mention.
[[nodiscard]] std::span<const SysctlDoc> sysctl_docs();
[[nodiscard]] const SysctlDoc* find_sysctl_doc(std::string_view name);

// ---------------------------------------------------------------------------
// Explanations: one per state, after RFC 9293 and the Linux source.

struct Explanation {
    TcpState state;
    std::string_view summary;                   ///< one line
    std::string_view who;                       ///< which end enters it
    std::string_view enters;                    ///< on which call or segment
    std::string_view leaves;                    ///< how it leaves, to which state
    std::string_view timers;                    ///< the timers that run in it
    std::span<const std::string_view> sysctls;  ///< dotted names, see sysctl_docs()
    std::string_view many_means;                ///< what many of it on a host usually means
};

/// The states explained, in the order of a connection's life (11 of them).
[[nodiscard]] std::span<const Explanation> explanations();
/// The explanation of a state (display_state() applied first); null for unknown.
[[nodiscard]] const Explanation* explain(TcpState state);
/// The abortive close (RST), which `socklab run rst` shows: not a state, a way out.
[[nodiscard]] const Explanation& explain_rst();
/// The explanation a word names: a state in any spelling, or rst; null for none.
[[nodiscard]] const Explanation* explain_word(std::string_view word);
/// The tcpdump filter that shows the segments of this state on a real host ("PORT":
/// the service's port), for IPv4 and IPv6 alike: "tcp port PORT and (tcp[tcpflags] &
/// (tcp-fin|tcp-rst) != 0 or ip6[53] & (tcp-fin|tcp-rst) != 0)"; empty for CLOSED.
[[nodiscard]] std::string tcpdump_filter(const Explanation& e);
/// How `run STATE --segments` builds a scenario whose FIN goes on the wire; empty when
/// it is built as without --segments.
[[nodiscard]] std::string_view wire_recipe(ScenarioId id);
/// A text state diagram (RFC 9293 section 3.3.2, as Linux implements it).
[[nodiscard]] std::string_view state_diagram();

// ---------------------------------------------------------------------------
// Doctor: pure rules over socket records and sysctl values.

/// When a count becomes a finding. The defaults are documented in socklab(1).
struct Thresholds {
    std::size_t syn_recv_per_port = 64;       ///< SYN_RECV on one listening port
    std::size_t close_wait_per_process = 10;  ///< CLOSE_WAIT held by one process
    std::size_t time_wait_total = 5000;       ///< TIME_WAIT on the host ...
    unsigned time_wait_bucket_percent = 50;   ///< ... or this % of tcp_max_tw_buckets
    std::size_t syn_sent_total = 20;          ///< SYN_SENT on the host
    std::size_t fin_wait2_orphans = 50;       ///< FIN_WAIT2 with no owning process
    double resets_per_second = 10;            ///< OutRsts + EstabResets over the interval
    unsigned orphans_percent = 80;            ///< orphans at this % of tcp_max_orphans
};

enum class FindingKind : std::uint8_t {
    syn_recv_flood,
    close_wait_leak,
    time_wait_pileup,
    syn_sent_storm,
    fin_wait2_orphans,
    listen_overflow,  ///< the rate rules (diagnose_rates): kernel counters
    syn_cookies,
    time_wait_overflow,
    orphans,
    resets,
};
[[nodiscard]] std::string_view finding_name(FindingKind kind);  ///< "syn-recv-flood"...

/// One anomaly: what, where, and what to do.
struct Finding {
    FindingKind kind;
    TcpState state;
    std::size_t count = 0;
    std::string title;   ///< "CLOSE_WAIT leak in pid 1234 (myserver) on port 8080"
    std::string detail;  ///< why it matters
    std::vector<std::string> advice;
    std::vector<std::string_view> sysctls;  ///< the knobs involved (dotted names)
    int pid = 0;                            ///< the process, when the finding names one
    std::string comm;
    std::vector<std::uint32_t> ports;  ///< the ports involved, ascending
};

/// Counts of one group (a port or a process) by kernel state number.
struct GroupCounts {
    std::string key;  ///< "8080" or "1234/myserver"
    std::array<std::size_t, kernel_state_count> by_state{};
    std::size_t total = 0;
};

/// A kernel counter's change over the doctor's interval.
struct CounterRate {
    std::string_view metric;  ///< socklab_tcp_listen_overflows_total (metrics::kernel_counters)
    std::string_view key;     ///< TcpExt.ListenOverflows
    std::int64_t delta = 0;
    double per_second = 0;
};

struct DoctorReport {
    std::array<std::size_t, kernel_state_count> totals{};  ///< by display state
    std::size_t sockets = 0;
    std::vector<GroupCounts> ports;      ///< busiest first
    std::vector<GroupCounts> processes;  ///< busiest first; "-" for no owner
    std::vector<Finding> findings;       ///< empty: nothing crossed a threshold
    /// TCP sockets held by some process (an inode) whose owner could not be read
    /// (/proc/PID/fd of another user, or the fd limit): the per-process rules could
    /// not look at them, so an empty `findings` does not mean all is well.
    std::size_t owners_unknown = 0;
    /// The sysctls the rules consult, with the host's values (nullopt: unreadable).
    std::vector<std::pair<std::string_view, std::optional<std::string>>> sysctls;
    /// The kernel counters over the interval (diagnose_rates); empty when not sampled.
    std::vector<CounterRate> rates;
    double interval_seconds = 0;
};

/// Applies the rules. Pure: records (with owners attached) and sysctls in, report
/// out. A connection is counted on its service port: a listener's port on this host
/// if either end has one; else the local port when only the peer's is ephemeral
/// (net.ipv4.ip_local_port_range: a TIME_WAIT outliving its listener); else the peer
/// port (an outgoing connection).
[[nodiscard]] DoctorReport diagnose(std::span<const SocketRecord> records,
                                    const SysctlReader& sysctls, const Thresholds& thresholds = {});
/// The rate rules, added to `report`: the host model sampled twice `seconds` apart
/// (counters, listeners, by-port counts). Listen overflows and drops name each
/// listener whose accept queue was full in either sample; SYN cookies sent are a
/// flood when a port holds syn_recv_per_port SYN_RECV, else a SYN queue too small;
/// TIME_WAIT bucket overflows; orphans near tcp_max_orphans; resets per second.
/// Each finding names its sysctls with their values. Pure.
void diagnose_rates(const metrics::HostSample& first, const metrics::HostSample& second,
                    double seconds, const SysctlReader& sysctls, const Thresholds& thresholds,
                    DoctorReport& report);

}  // namespace socklab::lab
