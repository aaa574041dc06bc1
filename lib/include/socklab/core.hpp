// core: Result/Error, the owning Fd, a copyable heap box, and clock helpers.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace socklab {

/// A failure: the system error and what we were doing ("connect 127.0.0.1:9").
struct Error {
    std::error_code code;
    std::string context;

    /// "context: Connection refused", or just the reason when context is empty.
    [[nodiscard]] std::string message() const;
};

/// An Error from errno (or the given value), with context.
[[nodiscard]] Error errno_error(std::string context, int err = errno);
/// An Error for a condition that has no errno: code is std::errc::invalid_argument etc.
[[nodiscard]] Error make_error(std::errc code, std::string context);

/// Exit codes of every tool (EXIT STATUS in each man page); the apps return them.
inline constexpr int exit_ok = 0;
inline constexpr int exit_runtime = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_threshold = 3;  ///< sockwatch --warn, socklab doctor

/// An error_code's message with its first letter in lower case ("connection refused"),
/// "unknown error" for none: the `why` of every error line.
[[nodiscard]] std::string reason(const std::error_code& ec);

/// The one error line of every tool: "tool: what: why\n", or "tool: why\n" when `what` is
/// empty. Newlines, CRs and NULs inside `what`/`why` are shown as \n, \r and \0, so the
/// message stays one line whatever a file name holds.
[[nodiscard]] std::string error_line_text(std::string_view tool, std::string_view what,
                                          std::string_view why);

/// The one colour rule: `flag` is --color's value ("always", "never" or "auto"); auto
/// colours only on a terminal when NO_COLOR is unset or empty (https://no-color.org: any
/// non-empty value disables colour). `no_color` is NO_COLOR's value, nullptr when unset:
/// the app reads the environment, the library does not.
[[nodiscard]] bool color_wanted(std::string_view flag, bool is_tty, const char* no_color) noexcept;

/// Value or Error: g++ 12 has no std::expected in C++20.
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }

    [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

    [[nodiscard]] bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    [[nodiscard]] const Error& error() const { return error_; }

  private:
    Error error_;
    bool failed_ = false;
};

/// Owns one file descriptor; closes it once. Never retries close() on EINTR
/// (Linux releases the descriptor even when close reports EINTR).
class Fd {
  public:
    Fd() noexcept = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    /// Gives up ownership without closing.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the current descriptor (if any) and owns `fd`. A close error is
    /// dropped: use close() where it matters (a file we wrote).
    void reset(int fd = -1) noexcept;
    /// Closes the descriptor and reports close(2)'s error (EIO, ENOSPC on NFS...).
    /// The descriptor is released either way; closing an empty Fd succeeds.
    Result<void> close() noexcept;

  private:
    int fd_ = -1;
};

/// Reads `fd` to its end, at most `max_bytes`: only max_bytes + 1 bytes are ever read,
/// so an endless source (/dev/zero, a growing pipe) cannot fill memory. EINTR is
/// retried here, once for every caller. Errors: the read's errno, or
/// std::errc::file_too_large when there is more than `max_bytes`. Blocks as read(2) does.
[[nodiscard]] Result<std::string> read_all(int fd, std::size_t max_bytes);
/// Opens `path` read-only (O_CLOEXEC, O_NOCTTY) and read_all()s it. The Error's
/// context is the path.
[[nodiscard]] Result<std::string> read_file(const std::string& path, std::size_t max_bytes);
/// Reads until `into` is full or the end: returns how many bytes arrived (short at EOF).
[[nodiscard]] Result<std::size_t> read_exact(int fd, std::span<std::byte> into);
/// Writes every byte, completing short writes and retrying EINTR. Blocks as write(2).
[[nodiscard]] Result<void> write_all(int fd, std::span<const std::byte> bytes);

/// Checked writes to one fd (stdout, mostly). Every byte is written or the failure is
/// remembered: EPIPE means the reader went away (`| head`), which ends output quietly;
/// any other errno is error(). `stop` (may be null) says a stop signal arrived: a write
/// blocked on a full pipe then gives up (interrupted()) instead of retrying.
class FdWriter {
  public:
    explicit FdWriter(int fd = 1, bool (*stop)() noexcept = nullptr) noexcept
        : fd_(fd), stop_(stop) {}
    [[nodiscard]] int fd() const noexcept { return fd_; }
    /// Writes all of `s` (blocks as write(2)); false once output failed or was abandoned,
    /// and nothing more is written after that.
    bool write(std::string_view s) noexcept;
    [[nodiscard]] bool ok() const noexcept { return !failed_; }
    [[nodiscard]] bool reader_gone() const noexcept { return gone_; }
    [[nodiscard]] bool interrupted() const noexcept { return interrupted_; }
    [[nodiscard]] bool stop_requested() const noexcept { return stop_ != nullptr && stop_(); }
    /// The failure that is not EPIPE or a stop, if any.
    [[nodiscard]] std::optional<std::error_code> error() const noexcept;

  private:
    int fd_;
    bool (*stop_)() noexcept;
    bool failed_ = false;
    bool gone_ = false;
    bool interrupted_ = false;
    std::error_code error_;
};

/// Writes `text` to `out`. Into a pipe (`pipe` true) it goes in pieces of at most
/// PIPE_BUF, each after poll(2) says there is room: pipe(7) guarantees such a write
/// does not block, so the wait happens in poll, beside `stop_fd` (a stop signal's
/// self-pipe) and `deadline`, and no signal can slip in between a check and a blocking
/// write(2). Pieces end at a line end where one fits. Returns false when output
/// failed or a stop or the deadline came first.
bool write_polled(FdWriter& out, std::string_view text, int stop_fd, bool pipe,
                  std::chrono::steady_clock::time_point deadline) noexcept;

/// A copyable, nullable heap box: keeps rarely-filled parts of a record out of line
/// so a vector of 100k records stays small, while records remain plain values.
template <class T>
class Box {
  public:
    Box() = default;
    Box(T value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit by design
    Box(const Box& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
    Box(Box&&) noexcept = default;
    Box& operator=(const Box& o) {
        if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
        return *this;
    }
    Box& operator=(Box&&) noexcept = default;
    ~Box() = default;

    [[nodiscard]] bool has_value() const noexcept { return p_ != nullptr; }
    explicit operator bool() const noexcept { return has_value(); }
    T& operator*() { return *p_; }
    const T& operator*() const { return *p_; }
    T* operator->() { return p_.get(); }
    const T* operator->() const { return p_.get(); }
    T& emplace() {
        p_ = std::make_unique<T>();
        return *p_;
    }
    void reset() { p_.reset(); }

  private:
    std::unique_ptr<T> p_;
};

/// RFC 3339 with microseconds in local time: "2026-11-23T12:00:01.123456+01:00"
/// when `with_offset`, else without the zone ("2026-11-23T12:00:01.123456").
[[nodiscard]] std::string format_time_us(std::chrono::system_clock::time_point t,
                                         bool with_offset = true);

/// Parses a whole decimal unsigned number in [lo, hi]; no sign, no spaces, no wrap.
[[nodiscard]] Result<unsigned long long> parse_uint(std::string_view text, unsigned long long lo,
                                                    unsigned long long hi);

/// Parses a duration: "1.5", "250ms", "2s", "1m", "1h" (bare numbers are seconds).
[[nodiscard]] Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace socklab
