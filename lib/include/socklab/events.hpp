// events: live socket event sources — sock_diag polling, destroy multicast, tracepoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
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
};

/// Parses one trace_pipe line of the tracepoint, in either the event's own print
/// format (`family=AF_INET protocol=IPPROTO_TCP sport=... saddrv6=...`) or the
/// `fields` trace option (`skaddr=0x... oldstate=0x7 (7) ...`). The timestamp
/// (seconds.micros of the instance's trace clock) is moved to the wall clock
/// by adding `clock_offset`. Returns nullopt for other lines and non-TCP
/// protocols (SCTP and MPTCP fire the same tracepoint).
[[nodiscard]] std::optional<StateTransition> parse_trace_line(
    std::string_view line, std::chrono::system_clock::duration clock_offset);

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
    /// Disables the event and removes the instance now (the destructor does it
    /// too); safe to call twice.
    [[nodiscard]] Result<void> close();

  private:
    TraceSession();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace socklab::diag
