// lab (private): the waits scenarios are built with, on top of net's socket steps.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "socklab/core.hpp"
#include "socklab/model.hpp"
#include "socklab/net.hpp"

namespace socklab::lab::detail {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

/// 127.0.0.1:0 or [::1]:0: the kernel picks the port.
[[nodiscard]] net::SockAddr loopback(Family family);
/// getsockname as an Endpoint.
[[nodiscard]] Result<Endpoint> local_endpoint(const Fd& fd);
/// Waits for one connection on a listener and accepts it (non-blocking, CLOEXEC).
[[nodiscard]] Result<Fd> accept_before(const Fd& listener, Deadline deadline);
/// shutdown(2); how is SHUT_WR etc.
[[nodiscard]] Result<void> shut(const Fd& fd, int how);
/// Writes until the send buffer is full (EAGAIN), then checks that some bytes
/// stay unsent: the peer's receive window is closed. Returns the bytes written.
[[nodiscard]] Result<std::size_t> fill_until_stuck(const Fd& fd, Deadline deadline);
/// Reads and discards until EOF (the peer's FIN) or the deadline.
[[nodiscard]] Result<void> drain_to_eof(const Fd& fd, Deadline deadline);

/// Attaches a classic BPF socket filter that drops every segment arriving at `fd`
/// (SO_ATTACH_FILTER, no privilege needed): the answers to what it sends are lost.
[[nodiscard]] Result<void> drop_all_input(const Fd& fd);

/// Polls `ready` until it is true or the deadline passes; the pause between polls
/// grows from 1 ms to 20 ms. Returns whether it became true.
[[nodiscard]] bool wait_until(Deadline deadline, const std::function<bool()>& ready);
/// The socket's state per TCP_INFO (net::tcp_state), as a Result for the recipes.
[[nodiscard]] Result<TcpState> state_of(const Fd& fd);
/// Waits until TCP_INFO (net::tcp_state) reports `state` on the socket; the error
/// names `who`.
[[nodiscard]] Result<void> wait_state(const Fd& fd, TcpState state, Deadline deadline,
                                      const std::string& who);

}  // namespace socklab::lab::detail
