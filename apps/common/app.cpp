// app: safe std fds, the error line, stop signals and checked stdout writes.
#include "app.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <utility>

namespace socklab::app {
namespace {

// Set by the signal handler only; read by the tool's loops. sig_atomic_t is the one
// type a handler may write (C11 7.14.1.1); the pipe fd is written once at install.
volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_wake_fd = -1;

extern "C" void on_stop_signal(int sig) {
    const int saved = errno;  // a handler must leave errno as it found it
    g_signal = sig;
    if (g_wake_fd >= 0) {
        const char c = 1;
        [[maybe_unused]] const auto n = ::write(g_wake_fd, &c, 1);
    }
    errno = saved;
}

void append_escaped(std::string& out, std::string_view s) {
    for (const char c : s) {
        if (c == '\n')
            out += "\\n";
        else if (c == '\0')
            out += "\\0";
        else if (c == '\r')
            out += "\\r";
        else
            out += c;
    }
}

}  // namespace

bool ensure_std_fds() noexcept {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        // open() returns the lowest free descriptor: this one.
        const int got = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got < 0) return false;
        if (got != fd) {  // cannot happen (lowest free fd), but never leave a stray
            ::close(got);
            return false;
        }
    }
    return true;
}

void error_line(std::string_view tool, std::string_view what, std::string_view why) noexcept {
    try {
        std::string line(tool);
        line += ": ";
        if (!what.empty()) {
            append_escaped(line, what);
            line += ": ";
        }
        append_escaped(line, why);
        line += '\n';
        std::fflush(stdout);  // keep the order of what was already printed
        std::string_view left = line;
        while (!left.empty()) {
            const auto n = ::write(STDERR_FILENO, left.data(), left.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            left.remove_prefix(static_cast<std::size_t>(n));
        }
    } catch (...) {  // out of memory while building one line: nothing better to do
    }
}

bool use_color(std::string_view flag, int fd) noexcept {
    if (flag == "always") return true;
    if (flag == "never") return false;
    const char* no_color = std::getenv("NO_COLOR");
    return ::isatty(fd) == 1 && (no_color == nullptr || *no_color == '\0');
}

std::string reason(const std::error_code& ec) {
    std::string why = ec ? ec.message() : "unknown error";
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    return why;
}

std::optional<StopSignals> StopSignals::install() {
    std::array<int, 2> p{};
    if (::pipe2(p.data(), O_CLOEXEC | O_NONBLOCK) != 0) return std::nullopt;
    g_wake_fd = p[1];
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked write returns EINTR
    for (const int s : {SIGINT, SIGTERM, SIGHUP})
        ::sigaction(s, &sa, nullptr);
    return StopSignals(p[0], p[1]);
}

StopSignals::StopSignals(StopSignals&& o) noexcept
    : read_fd_(std::exchange(o.read_fd_, -1)), write_fd_(std::exchange(o.write_fd_, -1)) {}

StopSignals::~StopSignals() {
    if (write_fd_ < 0) return;
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (const int s : {SIGINT, SIGTERM, SIGHUP})
        ::sigaction(s, &sa, nullptr);
    g_wake_fd = -1;
    ::close(write_fd_);
    ::close(read_fd_);
}

bool StopSignals::requested() noexcept {
    return g_signal != 0;
}

int StopSignals::signal_number() noexcept {
    return g_signal;
}

bool Output::write(std::string_view s) noexcept {
    if (failed_) return false;
    while (!s.empty()) {
        const auto n = ::write(fd_, s.data(), s.size());
        if (n >= 0) {
            s.remove_prefix(static_cast<std::size_t>(n));
            // A signal during a blocked write that had already copied some bytes
            // makes write(2) return that partial count, not EINTR (pipe(7)): without
            // this check the next call blocks on the full pipe for good.
            if (!s.empty() && StopSignals::requested()) {
                interrupted_ = true;
                failed_ = true;
                return false;
            }
            continue;
        }
        if (errno == EINTR) {
            if (!StopSignals::requested()) continue;
            interrupted_ = true;
        } else if (errno == EPIPE) {
            gone_ = true;
        } else {
            error_ = std::error_code(errno, std::system_category());
        }
        failed_ = true;
        return false;
    }
    return true;
}

bool write_polled(Output& out, std::string_view text, int stop_fd, bool pipe,
                  std::chrono::steady_clock::time_point deadline) noexcept {
    using Steady = std::chrono::steady_clock;
    if (!pipe) return out.write(text);
    while (!text.empty()) {
        if (StopSignals::requested()) return false;
        const auto now = Steady::now();
        if (now >= deadline) return false;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        std::array<pollfd, 2> fds{{{out.fd(), POLLOUT, 0}, {stop_fd, POLLIN, 0}}};
        const int timeout = deadline == Steady::time_point::max()
                                ? -1
                                : static_cast<int>(std::min<long long>(left, 60'000));
        if (::poll(fds.data(), fds.size(), timeout) < 0) {
            if (errno == EINTR) continue;  // the flag is looked at above
            return out.write(text);        // cannot wait: plain blocking write
        }
        if (fds[1].revents != 0) return false;
        if (fds[0].revents == 0) continue;  // time-out: the deadline is looked at above
        // POLLERR (the reader left) goes to write too: EPIPE ends output quietly.
        // A stop between two pieces never leaves half a line for the reader.
        auto n = std::min<std::size_t>(text.size(), PIPE_BUF);
        if (n < text.size()) {
            const auto nl = text.rfind('\n', n - 1);
            if (nl != std::string_view::npos) n = nl + 1;
        }
        if (!out.write(text.substr(0, n))) return false;
        text.remove_prefix(n);
    }
    return true;
}

std::optional<std::error_code> Output::error() const noexcept {
    if (!error_) return std::nullopt;
    return error_;
}

int Output::finish(std::string_view tool, int rc) const noexcept {
    if (!error_) return rc;
    try {
        error_line(tool, "stdout", reason(error_));
    } catch (...) {
    }
    return rc == exit_ok ? exit_runtime : rc;
}

int finish_stdio(std::string_view tool, int rc) noexcept {
    errno = 0;
    const bool flushed = std::fflush(stdout) == 0;
    const int err = errno;
    if (flushed && !std::ferror(stdout)) return rc;
    if (err == EPIPE) return rc;
    try {
        // When an earlier buffered write failed, stdio kept no errno: say so plainly.
        error_line(tool, "stdout",
                   err != 0 ? reason(std::error_code(err, std::system_category())) : "write error");
    } catch (...) {
    }
    return rc == exit_ok ? exit_runtime : rc;
}

int guarded(std::string_view tool, const std::function<int()>& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        error_line(tool, "", "out of memory");
    } catch (const std::exception& e) {
        error_line(tool, "", e.what());
    } catch (...) {
        error_line(tool, "", "unexpected internal error");
    }
    return exit_runtime;
}

}  // namespace socklab::app
