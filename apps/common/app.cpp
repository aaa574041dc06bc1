// app: safe std fds, the error line, stop signals and checked stdout writes.
#include "app.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
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
        const std::string line = error_line_text(tool, what, why);
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
    return color_wanted(flag, ::isatty(fd) == 1, std::getenv("NO_COLOR"));
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

int Output::finish(std::string_view tool, int rc) const noexcept {
    const auto e = error();
    if (!e) return rc;
    try {
        error_line(tool, "stdout", reason(*e));
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
