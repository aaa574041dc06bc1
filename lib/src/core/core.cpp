// core: Error messages, Fd closing, time formatting and strict number parsing.
#include "socklab/core.hpp"
#include "socklab/detail/syscall.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>
#include <climits>

#include <algorithm>
#include <array>
#include <cctype>

#include <charconv>
#include <cmath>
#include <ctime>

namespace socklab {

std::string Error::message() const {
    std::string reason = code ? code.message() : std::string("unknown error");
    if (context.empty()) return reason;
    return context + ": " + reason;
}

std::string reason(const std::error_code& ec) {
    std::string why = ec ? ec.message() : "unknown error";
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    return why;
}

namespace {

/// Appends `s` with the characters that would break a line shown as escapes.
void append_one_line(std::string& out, std::string_view s) {
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

std::string error_line_text(std::string_view tool, std::string_view what, std::string_view why) {
    std::string line(tool);
    line += ": ";
    if (!what.empty()) {
        append_one_line(line, what);
        line += ": ";
    }
    append_one_line(line, why);
    line += '\n';
    return line;
}

bool color_wanted(std::string_view flag, bool is_tty, const char* no_color) noexcept {
    if (flag == "always") return true;
    if (flag == "never") return false;
    return is_tty && (no_color == nullptr || *no_color == '\0');
}

bool FdWriter::write(std::string_view s) noexcept {
    if (failed_) return false;
    while (!s.empty()) {
        const auto n = SOCKLAB_SYS(write)(fd_, s.data(), s.size());
        if (n >= 0) {
            s.remove_prefix(static_cast<std::size_t>(n));
            // A signal during a blocked write that had already copied some bytes
            // makes write(2) return that partial count, not EINTR (pipe(7)): without
            // this check the next call blocks on the full pipe for good.
            if (!s.empty() && stop_requested()) {
                interrupted_ = failed_ = true;
                return false;
            }
            continue;
        }
        if (errno == EINTR) {
            if (!stop_requested()) continue;
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

std::optional<std::error_code> FdWriter::error() const noexcept {
    if (!error_) return std::nullopt;
    return error_;
}

bool write_polled(FdWriter& out, std::string_view text, int stop_fd, bool pipe,
                  std::chrono::steady_clock::time_point deadline) noexcept {
    using Steady = std::chrono::steady_clock;
    if (!pipe) return out.write(text);
    while (!text.empty()) {
        if (out.stop_requested()) return false;
        const auto now = Steady::now();
        if (now >= deadline) return false;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        std::array<pollfd, 2> fds{{{out.fd(), POLLOUT, 0}, {stop_fd, POLLIN, 0}}};
        const int timeout = deadline == Steady::time_point::max()
                                ? -1
                                : static_cast<int>(std::min<long long>(left, 60'000));
        if (SOCKLAB_SYS(poll)(fds.data(), fds.size(), timeout) < 0) {
            if (errno == EINTR) continue;  // the stop is looked at above
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

Error errno_error(std::string context, int err) {
    return Error{std::error_code(err, std::system_category()), std::move(context)};
}

Error make_error(std::errc code, std::string context) {
    return Error{std::make_error_code(code), std::move(context)};
}

void Fd::reset(int fd) noexcept {
    if (fd_ >= 0) ::close(fd_);  // never retried: Linux frees the fd even on EINTR
    fd_ = fd;
}

Result<void> Fd::close() noexcept {
    if (fd_ < 0) return {};
    // close(2): the descriptor is gone even when an error is reported; never retry.
    if (::close(std::exchange(fd_, -1)) != 0) return errno_error("close");
    return {};
}

Result<std::string> read_all(int fd, std::size_t max_bytes) {
    std::string text;
    std::array<char, 65536> buf{};
    while (text.size() <= max_bytes) {
        const std::size_t want = std::min(buf.size(), max_bytes + 1 - text.size());
        const auto n = SOCKLAB_SYS(read)(fd, buf.data(), want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("read");
        if (n == 0) return text;
        text.append(buf.data(), static_cast<std::size_t>(n));
    }
    return make_error(std::errc::file_too_large, fmt::format("longer than {} bytes", max_bytes));
}

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return errno_error(path);
    auto text = read_all(fd.get(), max_bytes);
    if (!text) return Error{text.error().code, path};
    return text;
}

Result<std::size_t> read_exact(int fd, std::span<std::byte> into) {
    std::size_t got = 0;
    while (got < into.size()) {
        const auto n = SOCKLAB_SYS(read)(fd, into.data() + got, into.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("read");
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    return got;
}

Result<void> write_all(int fd, std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        const auto n = SOCKLAB_SYS(write)(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("write");
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

std::string format_time_us(std::chrono::system_clock::time_point t, bool with_offset) {
    using namespace std::chrono;
    const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(us / 1000000);
    const long frac = static_cast<long>(us % 1000000);
    std::tm tm{};
    ::localtime_r(&secs, &tm);
    std::string out =
        fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    if (with_offset) {
        const long off = tm.tm_gmtoff;
        if (off == 0) {
            out += 'Z';
        } else {
            const long a = off < 0 ? -off : off;
            out += fmt::format("{}{:02}:{:02}", off < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
        }
    }
    return out;
}

Result<unsigned long long> parse_uint(std::string_view text, unsigned long long lo,
                                      unsigned long long hi) {
    if (text.empty()) return make_error(std::errc::invalid_argument, "empty number");
    unsigned long long v = 0;
    const auto* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, v, 10);
    if (ec == std::errc::result_out_of_range)
        return make_error(std::errc::result_out_of_range,
                          fmt::format("'{}' is out of range", text));
    if (ec != std::errc() || p != end)
        return make_error(std::errc::invalid_argument, fmt::format("'{}' is not a number", text));
    if (v < lo || v > hi)
        return make_error(std::errc::result_out_of_range,
                          fmt::format("'{}' is outside {}-{}", text, lo, hi));
    return v;
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    std::string_view num = text;
    double scale = 1e9;  // seconds by default
    auto ends_with = [&](std::string_view s) {
        return num.size() > s.size() && num.substr(num.size() - s.size()) == s;
    };
    if (ends_with("ms")) {
        scale = 1e6;
        num.remove_suffix(2);
    } else if (ends_with("us")) {
        scale = 1e3;
        num.remove_suffix(2);
    } else if (ends_with("s")) {
        num.remove_suffix(1);
    } else if (ends_with("m")) {
        scale = 60e9;
        num.remove_suffix(1);
    } else if (ends_with("h")) {
        scale = 3600e9;
        num.remove_suffix(1);
    }
    double v = 0;
    const auto* end = num.data() + num.size();
    auto [p, ec] = std::from_chars(num.data(), end, v);
    if (num.empty() || ec != std::errc() || p != end || !std::isfinite(v) || v < 0)
        return make_error(std::errc::invalid_argument, fmt::format("'{}' is not a duration", text));
    const double ns = v * scale;
    if (ns > 9.0e18)
        return make_error(std::errc::result_out_of_range, fmt::format("'{}' is too long", text));
    return std::chrono::nanoseconds(static_cast<long long>(ns));
}

}  // namespace socklab
