// core: Error messages, Fd closing, time formatting and strict number parsing.
#include "socklab/core.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <ctime>

namespace socklab {

std::string Error::message() const {
    std::string reason = code ? code.message() : std::string("unknown error");
    if (context.empty()) return reason;
    return context + ": " + reason;
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
