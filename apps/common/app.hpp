// app: what every socklab binary does alike and the library may not (print, exit, signals):
// safe fds 0-2, the error line, stop signals, checked stdout. The rules behind them (exit
// codes, the line's text, the colour rule, checked writes) are core's.
#pragma once

#include <csignal>
#include <functional>
#include <optional>
#include <string_view>

#include "socklab/core.hpp"

namespace socklab::app {

using socklab::exit_ok;
using socklab::exit_runtime;
using socklab::exit_threshold;
using socklab::exit_usage;
using socklab::reason;
using socklab::write_polled;

/// Opens /dev/null on each of fds 0, 1 and 2 that is closed, so that no socket,
/// netlink socket, signalfd or file we create later lands there (a socket on fd 1
/// would receive our own output). Call first thing in main(). Returns false when
/// /dev/null cannot be opened (then the caller should exit 1).
bool ensure_std_fds() noexcept;

/// Writes core's error_line_text() ("tool: what: why\n", one line) to stderr in one
/// write(2), after flushing stdout so the order of what was printed stays.
void error_line(std::string_view tool, std::string_view what, std::string_view why) noexcept;

/// core's color_wanted() for --color's `flag`, whether `fd` is a terminal and NO_COLOR.
[[nodiscard]] bool use_color(std::string_view flag, int fd) noexcept;

/// SIGINT, SIGTERM and SIGHUP set a flag and wake a self-pipe. Installed without
/// SA_RESTART, so a write(2) blocked on a full pipe returns EINTR and the tool can
/// leave (and clean up) within a moment of the signal. One instance per process.
class StopSignals {
  public:
    /// Installs the handlers. Returns nullopt when the pipe cannot be made.
    static std::optional<StopSignals> install();
    StopSignals(StopSignals&&) noexcept;
    StopSignals& operator=(StopSignals&&) = delete;
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    ~StopSignals();

    /// True once a stop signal arrived.
    [[nodiscard]] static bool requested() noexcept;
    /// The signal that arrived (0 if none).
    [[nodiscard]] static int signal_number() noexcept;
    /// Readable once a stop signal arrived: poll it beside your other fds.
    [[nodiscard]] int fd() const noexcept { return read_fd_; }

  private:
    StopSignals(int r, int w) noexcept : read_fd_(r), write_fd_(w) {}
    int read_fd_ = -1;
    int write_fd_ = -1;
};

/// Checked writes to stdout (core's FdWriter) that give up when a stop signal arrives.
class Output : public FdWriter {
  public:
    explicit Output(int fd = 1) noexcept : FdWriter(fd, &StopSignals::requested) {}
    /// Prints "tool: stdout: why" when error() is set and returns exit_runtime, unless
    /// rc already says something stronger (exit_threshold wins); otherwise returns rc.
    int finish(std::string_view tool, int rc) const noexcept;
};

/// Flushes stdio's stdout and checks it (for text written with fmt::print/printf):
/// same rules as Output::finish. Use at the end of main, before returning rc.
int finish_stdio(std::string_view tool, int rc) noexcept;

/// Runs `body` and turns any exception that escapes it into one error line and
/// exit_runtime: no exception of any kind leaves main().
int guarded(std::string_view tool, const std::function<int()>& body) noexcept;

}  // namespace socklab::app
