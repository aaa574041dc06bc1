// app: what every socklab binary does the same way: safe fds 0-2, the error line,
// exit codes, stop signals and checked writes to stdout.
#pragma once

#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace socklab::app {

/// Exit codes of every tool (EXIT STATUS in each man page).
inline constexpr int exit_ok = 0;
inline constexpr int exit_runtime = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_threshold = 3;  ///< sockwatch --warn, socklab doctor

/// Opens /dev/null on each of fds 0, 1 and 2 that is closed, so that no socket,
/// netlink socket, signalfd or file we create later lands there (a socket on fd 1
/// would receive our own output). Call first thing in main(). Returns false when
/// /dev/null cannot be opened (then the caller should exit 1).
bool ensure_std_fds() noexcept;

/// Writes "tool: what: why\n" (or "tool: why\n" when `what` is empty) to stderr in
/// one write(2). Newlines and NULs inside `what`/`why` are shown as \n and \0 so the
/// message stays one line.
void error_line(std::string_view tool, std::string_view what, std::string_view why) noexcept;

/// An error_code's message with its first letter in lower case ("connection refused").
std::string reason(const std::error_code& ec);

/// The one colour rule of every tool: `flag` is --color's value ("always",
/// "never" or "auto"); auto colours only when `fd` is a terminal and NO_COLOR is
/// unset or empty (https://no-color.org: any non-empty value disables colour).
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

/// Checked writes to stdout (or another fd). Every byte is written or the failure is
/// remembered: EPIPE means the reader went away (`| head`), which ends output quietly;
/// any other errno is an error the tool reports with report(). A write blocked on a
/// full pipe gives up when a stop signal arrives (StopSignals).
class Output {
  public:
    explicit Output(int fd = 1) noexcept : fd_(fd) {}
    [[nodiscard]] int fd() const noexcept { return fd_; }

    /// Writes all of `s`; false once output failed or was abandoned (nothing more is written).
    bool write(std::string_view s) noexcept;
    /// True when no write has failed.
    [[nodiscard]] bool ok() const noexcept { return !failed_; }
    /// The reader went away (EPIPE): end quietly.
    [[nodiscard]] bool reader_gone() const noexcept { return gone_; }
    /// A stop signal interrupted a write.
    [[nodiscard]] bool interrupted() const noexcept { return interrupted_; }
    /// The failure that is not EPIPE or a stop signal, if any.
    [[nodiscard]] std::optional<std::error_code> error() const noexcept;
    /// Prints "tool: stdout: why" when error() is set and returns exit_runtime, unless
    /// rc already says something stronger (exit_threshold wins); otherwise returns rc.
    int finish(std::string_view tool, int rc) const noexcept;

  private:
    int fd_;
    bool failed_ = false;
    bool gone_ = false;
    bool interrupted_ = false;
    std::error_code error_;
};

/// Writes `text` to `out`. Into a pipe (`pipe` true) it goes in pieces of at most
/// PIPE_BUF, each after poll(2) says there is room: pipe(7) guarantees such a write
/// does not block, so the wait happens in poll, beside `stop_fd` (the StopSignals
/// pipe) and `deadline`, and no signal can slip in between a check and a blocking
/// write(2). Pieces end at a line end where one fits. Returns false when output
/// failed or a stop or the deadline came first.
bool write_polled(Output& out, std::string_view text, int stop_fd, bool pipe,
                  std::chrono::steady_clock::time_point deadline) noexcept;

/// Flushes stdio's stdout and checks it (for text written with fmt::print/printf):
/// same rules as Output::finish. Use at the end of main, before returning rc.
int finish_stdio(std::string_view tool, int rc) noexcept;

/// Runs `body` and turns any exception that escapes it into one error line and
/// exit_runtime: no exception of any kind leaves main().
int guarded(std::string_view tool, const std::function<int()>& body) noexcept;

}  // namespace socklab::app
