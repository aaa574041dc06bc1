// lab (private): the POSIX socket steps scenarios are built from, with deadlines.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "socklab/core.hpp"
#include "socklab/model.hpp"

namespace socklab::lab::detail {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

/// A non-blocking TCP socket of the family (SOCK_CLOEXEC).
[[nodiscard]] Result<Fd> tcp_socket(Family family);
/// setsockopt with an int value; `what` names the option in the error.
[[nodiscard]] Result<void> set_int(const Fd& fd, int level, int option, int value,
                                   const char* what);
/// SO_LINGER {1, 0}: the next close() sends RST and skips FIN_WAIT/TIME_WAIT.
[[nodiscard]] Result<void> set_abortive(const Fd& fd);
/// Binds to 127.0.0.1:0 or [::1]:0 and returns the endpoint the kernel chose.
[[nodiscard]] Result<Endpoint> bind_loopback(const Fd& fd, Family family);
/// listen(2) with this backlog.
[[nodiscard]] Result<void> listen_on(const Fd& fd, int backlog);
/// Starts a non-blocking connect; EINPROGRESS is success.
[[nodiscard]] Result<void> start_connect(const Fd& fd, const Endpoint& to);
/// Waits for one connection on a listener and accepts it (non-blocking, CLOEXEC).
[[nodiscard]] Result<Fd> accept_before(const Fd& listener, Deadline deadline);
/// getsockname / getpeername as an Endpoint.
[[nodiscard]] Result<Endpoint> local_endpoint(const Fd& fd);
[[nodiscard]] Result<Endpoint> peer_endpoint(const Fd& fd);
/// Connections waiting in a listener's accept queue (TCP_INFO tcpi_unacked, which
/// the kernel fills with sk_ack_backlog for a listener).
[[nodiscard]] Result<std::uint32_t> accept_queue_length(const Fd& listener);
/// shutdown(2); how is SHUT_WR etc.
[[nodiscard]] Result<void> shut(const Fd& fd, int how);
/// Writes until the send buffer is full (EAGAIN), then checks that some bytes
/// stay unsent: the peer's receive window is closed. Returns the bytes written.
[[nodiscard]] Result<std::size_t> fill_until_stuck(const Fd& fd, Deadline deadline);
/// Reads and discards until EOF (the peer's FIN) or the deadline.
[[nodiscard]] Result<void> drain_to_eof(const Fd& fd, Deadline deadline);

/// Polls `ready` until it is true or the deadline passes; the pause between polls
/// grows from 1 ms to 20 ms. Returns whether it became true.
[[nodiscard]] bool wait_until(Deadline deadline, const std::function<bool()>& ready);
/// Waits until TCP_INFO reports `state` on the socket; the error names `who`.
[[nodiscard]] Result<void> wait_state(const Fd& fd, TcpState state, Deadline deadline,
                                      const std::string& who);

/// "127.0.0.1:41000" or "[::1]:41000".
[[nodiscard]] std::string endpoint_text(const Endpoint& e);

}  // namespace socklab::lab::detail
