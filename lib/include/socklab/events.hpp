// events: live socket event sources — sock_diag polling, destroy multicast, tracepoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/diag.hpp"
#include "socklab/model.hpp"

namespace socklab::diag {

/// Where an event came from: the contract's `source` key (JSON in sockwatch(1)).
enum class EventOrigin : std::uint8_t { poll, destroy, tracepoint };
/// "poll" "destroy" "tracepoint".
[[nodiscard]] std::string_view origin_name(EventOrigin origin);

/// One full dump and the wall-clock time it started: everything the kernel
/// reported is at least as new as `time`.
struct Snapshot {
    std::chrono::system_clock::time_point time;
    std::vector<SocketRecord> records;
};

/// Dumps `query` from `source` once (blocks for the dump).
[[nodiscard]] Result<Snapshot> take_snapshot(SocketSource& source, const Query& query);

/// A socket the kernel announced as destroyed (sock_diag destroy groups). The
/// record carries the state at destruction (usually CLOSE) and the cookie.
struct DestroyedSocket {
    std::chrono::system_clock::time_point time;  ///< when we read the message
    SocketRecord socket;
};

/// Subscribes to the sock_diag destroy multicast groups (SKNLGRP_INET_TCP_DESTROY,
/// SKNLGRP_INET6_TCP_DESTROY and the UDP ones). On Linux the groups accept
/// unprivileged members (NETLINK_SOCK_DIAG sets NL_CFG_F_NONROOT_RECV), and they
/// only report sockets of the namespace the listener was opened in. The kernel
/// sends the message from a work queue when a full socket is freed, so a
/// TIME_WAIT minisocket never produces one.
class DestroyListener {
  public:
    /// Joins the groups selected by `query` (tcp/udp, ipv4/ipv6).
    [[nodiscard]] static Result<std::unique_ptr<DestroyListener>> open(const Query& query);
    ~DestroyListener();
    DestroyListener(const DestroyListener&) = delete;
    DestroyListener& operator=(const DestroyListener&) = delete;

    /// Non-blocking descriptor to poll for POLLIN.
    [[nodiscard]] int fd() const noexcept;
    /// Reads every queued message without blocking. ENOBUFS (we were too slow and
    /// the kernel dropped messages) is reported as an error with that code so the
    /// caller can say so; the listener stays usable. The kernel says ENOBUFS once:
    /// when it comes after messages, they are returned and the next read() reports it.
    [[nodiscard]] Result<std::vector<DestroyedSocket>> read();

  private:
    DestroyListener();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// One `sock:inet_sock_set_state` record.
struct StateTransition {
    std::chrono::system_clock::time_point time;  ///< kernel timestamp, on the wall clock
    std::uint64_t skaddr = 0;  ///< kernel socket address; 0 when the line had none
    TcpState old_state = TcpState::unknown;
    TcpState new_state = TcpState::unknown;
    /// tcp, family, local and peer endpoints; state = new_state.
    SocketRecord socket;
    /// False when the line carried no usable addresses (the `fields` output
    /// cannot print the 16-byte IPv6 arrays): only the ports are known then.
    bool addresses_known = true;
    /// socket.cookie, inode and uid are the kernel's (found by 4-tuple through
    /// sock_diag in our own namespace); false: the tracepoint lacks them.
    bool identity_known = false;
};

/// Parses one trace_pipe line of the tracepoint, in either the event's own print
/// format (`family=AF_INET protocol=IPPROTO_TCP sport=... saddrv6=...`) or the
/// `fields` trace option (`skaddr=0x... oldstate=0x7 (7) ...`). The timestamp
/// (seconds.micros of the instance's trace clock) is moved to the wall clock
/// by adding `clock_offset`. Returns nullopt for other lines and non-TCP
/// protocols (SCTP and MPTCP fire the same tracepoint).
[[nodiscard]] std::optional<StateTransition> parse_trace_line(
    std::string_view line, std::chrono::system_clock::duration clock_offset);

/// One `field:TYPE NAME; offset:N; size:N; signed:N;` line of a tracefs
/// format file (array fields are named without their `[N]`).
struct TraceField {
    std::string name;
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
};

/// An event's format file (events/GROUP/EVENT/format): its id and fields.
struct TraceFormat {
    std::uint32_t id = 0;
    std::vector<TraceField> fields;
    /// The field of that name, or nullptr.
    [[nodiscard]] const TraceField* field(std::string_view name) const;
};
/// Parses a format file; the error says which line is malformed or that the
/// ID is missing.
[[nodiscard]] Result<TraceFormat> parse_trace_format(std::string_view text);

/// Where inet_sock_set_state's fields lie in one raw record (from its format
/// file, so a kernel that moves them is read right).
struct SetStateLayout {
    std::uint32_t id = 0;
    TraceField skaddr, oldstate, newstate, sport, dport, family, protocol, saddr, daddr, saddr_v6,
        daddr_v6;
};
/// The layout from the event's format; an error names a missing field or a
/// size the decoder does not read (ports not 2 bytes, addresses not 4/16).
[[nodiscard]] Result<SetStateLayout> set_state_layout(const TraceFormat& format);

/// What one sub-buffer ("page") of per_cpu/cpuN/trace_pipe_raw held.
struct TracePage {
    std::vector<StateTransition> transitions;
    /// The kernel overwrote events before this page (the ring buffer was full).
    bool lost = false;
    /// How many, when the kernel stored the count at the end of the page (0 when
    /// it did not have room: then at least one).
    std::uint64_t lost_count = 0;
};
/// Decodes one raw page: its header (timestamp, commit with the missed-events
/// flags), then ring-buffer events (data, padding, time extends and absolute
/// stamps). Records of other event ids and non-TCP protocols are skipped; a
/// record cut short or a length past the page ends the decoding of that page.
/// Timestamps (trace clock nanoseconds) move to the wall clock by `clock_offset`.
[[nodiscard]] TracePage decode_trace_page(std::span<const std::byte> page,
                                          const SetStateLayout& layout,
                                          std::chrono::system_clock::duration clock_offset);

/// A private tracefs instance (instances/sockwatch-PID-START, START being the
/// process start time in clock ticks after boot) with the tracepoint on. Needs
/// root (CAP_SYS_ADMIN to mount tracefs and write the instance). The tracepoint
/// is global: it reports sockets of every network namespace. The owner holds a
/// flock(2) on the instance directory while it lives; that lock, not the PID in
/// the name, is what tells a live instance from a stale one.
class TraceSession {
  public:
    /// Mounts tracefs at /sys/kernel/tracing when nothing is mounted there,
    /// removes instances nobody holds the lock of (owners that died without
    /// cleaning up, in any PID namespace), creates and locks ours, sets
    /// the monotonic trace clock and the `fields` option (the only output that
    /// carries skaddr), enables the event and opens trace_pipe non-blocking.
    [[nodiscard]] static Result<std::unique_ptr<TraceSession>> open();
    /// Disables the event and removes the instance directory.
    ~TraceSession();
    TraceSession(const TraceSession&) = delete;
    TraceSession& operator=(const TraceSession&) = delete;

    [[nodiscard]] int fd() const noexcept;
    /// The instance directory ("/sys/kernel/tracing/instances/sockwatch-123").
    [[nodiscard]] const std::string& instance() const noexcept;
    /// Reads and parses everything available without blocking.
    [[nodiscard]] Result<std::vector<StateTransition>> read();
    /// Events the kernel overwrote before we read them (ring buffer full), as
    /// the raw pages count them; 0 with the text pipe, which cannot tell.
    [[nodiscard]] std::uint64_t lost() const noexcept;
    /// Disables the event and removes the instance now (the destructor does it
    /// too); safe to call twice.
    [[nodiscard]] Result<void> close();

    struct Impl;

  private:
    TraceSession();
    std::unique_ptr<Impl> impl_;
};

}  // namespace socklab::diag
