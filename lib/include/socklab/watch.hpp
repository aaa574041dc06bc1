// watch: socket rows keyed by cookie, diffed and merged into NEW / CHANGE / GONE events.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/diag.hpp"
#include "socklab/events.hpp"
#include "socklab/filter.hpp"
#include "socklab/model.hpp"

namespace socklab::watch {

using Clock = std::chrono::system_clock;
using diag::EventOrigin;

enum class EventKind : std::uint8_t { new_, change, gone };
/// "NEW" "CHANGE" "GONE".
[[nodiscard]] std::string_view event_kind_name(EventKind kind);

/// One event of the stream (the JSON contract of sockwatch(1)).
struct Event {
    Clock::time_point time;
    EventKind kind = EventKind::new_;
    TcpState old_state = TcpState::unknown;  ///< meaningful on CHANGE and GONE
    TcpState state = TcpState::unknown;      ///< CLOSE on GONE
    EventOrigin origin = EventOrigin::poll;
    std::uint64_t row = 0;  ///< the Tracker's row id: stable for the row's life
    /// socket.cookie, inode and uid are known (from a dump, a destroy message or
    /// a sock_diag look-up); false for a tracepoint-only socket: then the JSON
    /// line leaves those keys out rather than print 0.
    bool identity_known = true;
    /// When the row was first seen (its NEW): TCPView's create time. On GONE,
    /// time - created is the lifetime (tcplife's), as far as the sources saw it.
    Clock::time_point created;
    SocketRecord socket;  ///< owners: the processes holding its inode, when found
    /// When the row entered old_state (CHANGE, GONE) or state (NEW): time -
    /// state_since is the time spent in old_state (bcc tcpstates' duration).
    Clock::time_point state_since;
    /// When socket.tcp_info was read: a dump, or the destroy message of a GONE
    /// (its final totals). The rates are the totals over counters_time - created.
    Clock::time_point counters_time;
    /// CHANGE and GONE: bytes sent (bytes_acked) and received per second, the
    /// average over what the sources watched: from the row's birth (a socket
    /// seen from its connect() or accept()) or from the first dump that told its
    /// counters, to counters_time. Absent when that span is empty.
    std::optional<std::uint64_t> sent_per_s, received_per_s;
};

/// A live row's traffic counters as a poll read them (tcp_info), told when they
/// moved while the state did not: the live table's Sent/Recv and rates follow it.
struct TrafficSample {
    std::uint64_t row = 0;  ///< Event::row of the socket
    Clock::time_point time;
    std::uint64_t bytes_sent = 0;      ///< tcp_info bytes_acked
    std::uint64_t bytes_received = 0;  ///< tcp_info bytes_received
    std::uint32_t segs_out = 0, segs_in = 0;
};

/// Per-state counts (model's one count type).
using socklab::StateCounts;

/// Where a Tracker row is in its life. A row is born
/// `live` (from a dump), `waiting_port` (a tracepoint connect() seen before the
/// kernel picked the source port) or `settling_unannounced` (a destroy message
/// for a TCP socket no dump showed yet). Allowed moves (row_life_allowed(),
/// checked on every move):
///   waiting_port -> live                the port arrives, the socket closes, or a dump shows it
///   live, waiting_port -> settling      left FIN_WAIT1/FIN_WAIT2/CLOSING: TIME_WAIT or gone,
///                                       the next dump decides (settling -> settling restarts it)
///   settling, settling_unannounced -> live   the next dump shows the TIME_WAIT minisocket
///   live, settling -> closed_unvouched  closed while its namespace is not confirmed
/// Every state may be removed (GONE, aged out, or vouched for after its close).
/// Invariants: only `live` and `waiting_port` rows of a confirmed namespace are
/// counted; a `closed_unvouched` row is unconfirmed and has no kernel address;
/// `settling_unannounced` rows have sent no NEW and are not counted.
enum class RowLife : std::uint8_t {
    live,
    waiting_port,
    settling,
    settling_unannounced,
    closed_unvouched
};
/// "live" "waiting_port" "settling" "settling_unannounced" "closed_unvouched".
[[nodiscard]] std::string_view row_life_name(RowLife life);
/// Whether a row may move from `from` to `to` (the table above). The Tracker
/// counts any other move (see Tracker::invariants_hold()).
[[nodiscard]] bool row_life_allowed(RowLife from, RowLife to);

/// The merged view of every source: rows keyed by socket cookie (tracepoint rows
/// by kernel address until a snapshot tells their cookie). Pure: no I/O, no
/// clock; every input carries its time. Memory is bounded by the live sockets:
/// GONE rows are removed, rows only the tracepoint knew are aged out when
/// snapshots taken after their last event do not contain them.
class Tracker {
  public:
    /// `accept` decides whether a socket the tracker does not know yet is
    /// tracked (the user's filter); null accepts everything.
    explicit Tracker(std::function<bool(const SocketRecord&)> accept = {});
    ~Tracker();
    Tracker(Tracker&&) noexcept;
    Tracker& operator=(Tracker&&) noexcept;
    Tracker(const Tracker&) = delete;
    Tracker& operator=(const Tracker&) = delete;

    /// Applies a full dump: NEW for unknown sockets, CHANGE for state changes,
    /// GONE (source poll) for rows missing from it. A row whose last event is
    /// newer than the snapshot keeps its state (the dump raced the event).
    /// A row the tracepoint or the destroy group saw leave FIN_WAIT1/FIN_WAIT2/
    /// CLOSING is settled here: the kernel gives the TIME_WAIT minisocket the
    /// full socket's cookie and 4-tuple, so it is either in this dump in
    /// TIME_WAIT (a CHANGE) or it is gone.
    [[nodiscard]] std::vector<Event> apply_snapshot(const diag::Snapshot& snapshot);
    /// The traffic samples the snapshots applied since the last call produced:
    /// one per announced live row whose tcp_info counters (bytes_acked,
    /// bytes_received, segs_out, segs_in) moved while its state did not.
    [[nodiscard]] std::vector<TrafficSample> take_traffic();
    /// Applies one destroy message (see diag::DestroyListener).
    [[nodiscard]] std::vector<Event> apply_destroyed(const diag::DestroyedSocket& destroyed);
    /// Applies one tracepoint transition.
    [[nodiscard]] std::vector<Event> apply_transition(const diag::StateTransition& transition);
    /// Applies a TIME_WAIT minisocket a sock_diag look-up found right after its
    /// full socket closed (a destroy message, a tracepoint CLOSE): the row moves
    /// to TIME_WAIT with a CHANGE at the close's time, rather than a GONE now and
    /// a NEW at the next dump. Nothing when no live or settling row matches.
    [[nodiscard]] std::vector<Event> apply_time_wait(const SocketRecord& minisocket,
                                                     Clock::time_point time);

    /// With the destroy groups running next to the tracepoint: hold the events
    /// of a tracepoint row until a dump or a destroy message (both of our own
    /// network namespace) shows the socket, because the tracepoint reports
    /// every namespace. Rows never vouched for are dropped with their events.
    void confirm_tracepoint_rows(bool on);

    /// Live rows (not the ones waiting for the next snapshot to settle).
    [[nodiscard]] StateCounts counts() const;
    /// Every row the tracker holds, settled or not (for the memory bound).
    [[nodiscard]] std::size_t size() const noexcept;
    /// How many rows are in `life` (for tests of the lifecycle).
    [[nodiscard]] std::size_t count_in(RowLife life) const;
    /// RowLife's invariants hold for every row and every move so far was one
    /// the table allows (others are counted): always true unless the Tracker
    /// has a bug. O(rows); for tests.
    [[nodiscard]] bool invariants_hold() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The text event line: `2026-11-23T12:00:01.123456 CHANGE tcp 127.0.0.1:6666
/// 127.0.0.1:54321 ESTABLISHED -> CLOSE_WAIT` (GONE: `OLD -> CLOSE`, NEW: the
/// state alone). IPv6 endpoints are bracketed: `[::1]:6666`.
[[nodiscard]] std::string format_event_text(const Event& event);
/// One JSON object: time, event, old_state (CHANGE, GONE), state, source, then
/// netid family local_addr local_port peer_addr peer_port recv_q send_q inode
/// uid cookie.
[[nodiscard]] std::string format_event_json(const Event& event);
/// "127.0.0.1:6666", "[::1]:6666", "*:22".
[[nodiscard]] std::string format_endpoint(const SocketRecord& record, const Endpoint& endpoint);

/// The states shown by --counts and the status line, in state-table order.
[[nodiscard]] std::span<const TcpState> counted_states();
/// `TIME ESTABLISHED=3 SYN_SENT=0 ...` (every counted state).
[[nodiscard]] std::string format_counts_text(Clock::time_point time, const StateCounts& counts);
/// `{"time":"...","counts":{"ESTABLISHED":3,...}}`.
[[nodiscard]] std::string format_counts_json(Clock::time_point time, const StateCounts& counts);
/// One --counts line with its newline: JSON when `json`, else text.
[[nodiscard]] std::string format_counts_line(Clock::time_point time, const StateCounts& counts,
                                             bool json);
/// Appends one line per event (JSON when `json`, else text), at most `max`;
/// returns how many it appended.
std::uint64_t append_event_lines(std::string& text, std::span<const Event> events, bool json,
                                 std::uint64_t max);

/// `--warn STATE>N`: crossed when the count of STATE exceeds N.
struct WarnRule {
    TcpState state = TcpState::unknown;
    std::uint64_t limit = 0;
};
/// Parses "CLOSE_WAIT>10" (any state spelling, spaces allowed around `>`).
[[nodiscard]] Result<WarnRule> parse_warn(std::string_view text);
/// The first rule the counts cross, if any.
[[nodiscard]] std::optional<WarnRule> crossed(std::span<const WarnRule> rules,
                                              const StateCounts& counts);
/// The --warn message of a crossed rule: "CLOSE_WAIT count 12 exceeds 10".
[[nodiscard]] std::string format_warn(const WarnRule& rule, const StateCounts& counts);

/// Which sources --source asks for.
enum class SourceChoice { automatic, poll, tracepoint };
/// "auto" "poll" "tracepoint".
[[nodiscard]] std::optional<SourceChoice> parse_source_choice(std::string_view name);

/// The sockets the user asked for: protocol and family switches and the filter.
struct Selection {
    bool tcp = true;
    bool udp = false;
    bool ipv4 = true;
    bool ipv6 = true;
    filter::Filter filter;
};

struct MonitorOptions {
    diag::Query query;
    std::chrono::nanoseconds interval = std::chrono::seconds(1);
    SourceChoice source = SourceChoice::automatic;
    /// The user's filter (see Tracker); null accepts everything.
    std::function<bool(const SocketRecord&)> accept;
    /// Attach each event's owners (pid, comm) through its inode (proc's
    /// OwnerIndex: one /proc scan for the baseline, then only unknown inodes).
    /// Off for --counts, which shows no sockets.
    bool owners = true;
};
/// Options for `selection`: the kernel query (protocols, families, the filter's
/// states and bytecode) and the same selection as the accept predicate, for
/// sockets the event sources report without a query.
[[nodiscard]] MonitorOptions monitor_options(const Selection& selection,
                                             std::chrono::nanoseconds interval,
                                             SourceChoice source);

/// What one Monitor::step() produced.
struct Step {
    std::vector<Event> events;
    /// Rows whose counters changed without a state change (no event for them).
    std::vector<TrafficSample> traffic;
    bool polled = false;  ///< a snapshot was applied: counts are fresh
    /// Tracepoint events the kernel overwrote since the last step (then this
    /// step also took a dump to resynchronise); also said in `warnings`.
    std::uint64_t lost = 0;
    /// For each of step()'s extra descriptors: it is readable.
    std::vector<bool> extra_ready;
    /// Trouble worth one line to the user ("destroy group overflowed...").
    std::vector<std::string> warnings;
};

class Monitor;
/// "sources: destroy+poll every 1s (tracepoint: ...: Permission denied)": said
/// once on stderr by the stream.
[[nodiscard]] std::string format_sources_line(const Monitor& monitor,
                                              std::chrono::nanoseconds interval);
/// What the live screen cannot see, for its status line: "no tracepoint:
/// permission denied" (each note is "SOURCE: what: why"); empty when nothing.
[[nodiscard]] std::string format_missing_sources(const Monitor& monitor);

/// Runs the sources and the Tracker: polls at the interval and reads the event
/// sources as they become readable. Owns the sources; close() (or the
/// destructor) removes the tracefs instance. Not thread-safe.
class Monitor {
  public:
    /// automatic: the tracepoint when a private tracefs instance can be made
    /// (root), else the destroy groups; polling always. tracepoint: fails when
    /// the instance cannot be made. poll: polling alone.
    [[nodiscard]] static Result<std::unique_ptr<Monitor>> open(
        std::unique_ptr<diag::SocketSource> source, MonitorOptions options);
    ~Monitor();
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    /// "tracepoint+poll", "destroy+poll" or "poll".
    [[nodiscard]] std::string sources() const;
    /// Why a richer source is not in use, one line each ("tracepoint: mkdir ...:
    /// Permission denied").
    [[nodiscard]] const std::vector<std::string>& notes() const;
    /// The tracefs instance directory, empty without the tracepoint.
    [[nodiscard]] std::string trace_instance() const;

    /// Takes the first snapshot: its rows come back as NEW events (the baseline).
    [[nodiscard]] Result<std::vector<Event>> start();
    /// Blocks until a poll is due, a source has data, one of `extra_fds` is
    /// readable (a stop-signal pipe, the terminal) or `until` has come, whichever
    /// is first, so a deadline is kept however long the interval is; then applies
    /// what arrived. A signal interrupting the wait (EINTR) is not an error.
    [[nodiscard]] Result<Step> step(
        std::span<const int> extra_fds,
        std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max());
    [[nodiscard]] const Tracker& tracker() const noexcept;
    /// Stops the tracepoint and removes its instance; safe to call twice.
    [[nodiscard]] Result<void> close();

  private:
    Monitor();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace socklab::watch
