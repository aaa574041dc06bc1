// net (private): the byte movers of one relay direction: splice(2), sendfile(2), read/write.
#include "net/pump.hpp"
#include "socklab/detail/syscall.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <array>

namespace socklab::net::detail {
namespace {

/// Largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP header).
constexpr std::size_t max_datagram = 65507;
/// Per step, move at most this much before yielding to the other direction.
constexpr std::uint64_t step_budget = 16u << 20;
/// The private pipe of splice_pipe; pipe(7): F_SETPIPE_SZ may be refused, then 64 KiB.
constexpr int wanted_pipe_size = 1 << 20;

struct FdKind {
    bool fifo = false;
    bool regular = false;
    bool socket = false;
    bool dev_null = false;
    bool append = false;
    bool nonblocking = false;
};

FdKind kind_of(int fd) {
    FdKind k;
    if (fd < 0) return k;
    struct stat st {};
    if (::fstat(fd, &st) == 0) {
        k.fifo = S_ISFIFO(st.st_mode);
        k.regular = S_ISREG(st.st_mode);
        k.socket = S_ISSOCK(st.st_mode);
        k.dev_null = S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
    }
    const int fl = ::fcntl(fd, F_GETFL);
    k.nonblocking = fl >= 0 && (fl & O_NONBLOCK) != 0;
    k.append = fl >= 0 && (fl & O_APPEND) != 0;
    return k;
}

bool would_block(int err) {
    return err == EAGAIN || err == EWOULDBLOCK;
}

/// True when fd can take a write now (poll with zero timeout); used to tell which
/// side of a splice said EAGAIN, since splice(2) reports both the same way.
bool writable_now(int fd) {
    pollfd p{fd, POLLOUT, 0};
    return SOCKLAB_SYS(poll)(&p, 1, 0) > 0 && (p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0;
}

/// True when a read of fd would not block (data, EOF or an error waits). A terminal in
/// canonical mode polls readable only once a whole line (or ^D) is there (n_tty's
/// input_available_p), so a read after this returns at once.
bool readable_now(int fd) {
    pollfd p{fd, POLLIN, 0};
    return SOCKLAB_SYS(poll)(&p, 1, 0) > 0 &&
           (p.revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0;
}

std::error_code errno_code(int err) {
    return {err, std::system_category()};
}

}  // namespace

Method choose_method(const PumpSpec& spec) {
    if (!spec.zero_copy || spec.src < 0 || spec.sink < 0 || spec.crlf || spec.line_mode ||
        spec.hexdump_fd >= 0 || spec.datagram_src || spec.datagram_sink)
        return Method::copy;
    const FdKind src = kind_of(spec.src);
    const FdKind sink = kind_of(spec.sink);
    // A blocking non-pipe source would block inside splice: SPLICE_F_NONBLOCK only
    // governs the pipe ends (splice(2)). Pipes and regular files are always safe.
    const bool src_safe = src.fifo || src.regular || src.nonblocking;
    if (!src_safe) return Method::copy;
    // Only some files take splice writes: pipes, sockets, regular files not opened with
    // O_APPEND (splice(2): EINVAL), /dev/null. Terminals and other devices do not.
    const bool sink_spliceable =
        sink.fifo || sink.socket || sink.dev_null || (sink.regular && !sink.append);
    const bool src_spliceable = src.fifo || src.socket || src.regular;
    if (!sink_spliceable || !src_spliceable) return Method::copy;
    if (src.regular && sink.socket) return Method::sendfile;
    if (src.fifo || sink.fifo) return Method::splice_direct;
    if (src.socket) return Method::splice_pipe;
    return Method::copy;
}

Pump::Pump(PumpSpec spec) : spec_(std::move(spec)) {
    method_ = choose_method(spec_);
    const FdKind src = kind_of(spec_.src);
    src_may_block_ = spec_.src >= 0 && !src.regular && !src.nonblocking;
    src_socket_ = src.socket;
    // A user's pipe (stdin/stdout) gets the same 1 MiB: 16x fewer wake-ups than the
    // 64 KiB default per splice (pipe(7) F_SETPIPE_SZ; refused sizes are simply kept).
    if (method_ == Method::splice_direct) {
        if (src.fifo && ::fcntl(spec_.src, F_GETPIPE_SZ) < wanted_pipe_size)
            ::fcntl(spec_.src, F_SETPIPE_SZ, wanted_pipe_size);
        if (kind_of(spec_.sink).fifo && ::fcntl(spec_.sink, F_GETPIPE_SZ) < wanted_pipe_size)
            ::fcntl(spec_.sink, F_SETPIPE_SZ, wanted_pipe_size);
    }
    if (method_ == Method::splice_pipe) {
        std::array<int, 2> p{};
        if (::pipe2(p.data(), O_CLOEXEC | O_NONBLOCK) == 0) {
            pipe_r_.reset(p[0]);
            pipe_w_.reset(p[1]);
            ::fcntl(pipe_w_.get(), F_SETPIPE_SZ, wanted_pipe_size);
            const int size = ::fcntl(pipe_w_.get(), F_GETPIPE_SZ);
            pipe_size_ = size > 0 ? static_cast<std::size_t>(size) : 65536;
        } else {
            method_ = Method::copy;
        }
    }
    if (method_ == Method::copy) buf_.resize(std::max<std::size_t>(spec_.buffer_size, 4096));
}

std::size_t Pump::want_bytes(std::size_t cap) const {
    std::uint64_t n = cap;
    if (spec_.limit) n = std::min(n, *spec_.limit - total_);
    if (spec_.src < 0) n = std::min(n, spec_.generate - total_);
    return static_cast<std::size_t>(n);
}

StepResult Pump::step() {
    switch (method_) {
        case Method::splice_direct:
        case Method::sendfile:
            return step_direct();
        case Method::splice_pipe:
            return step_splice_pipe();
        case Method::copy:
            break;
    }
    return step_copy();
}

void Pump::dump(const char* data, std::size_t n) {
    if (spec_.hexdump_fd < 0 || dump_error_) return;
    std::string out;
    for (std::size_t i = 0; i < n; i += 16) {
        const std::size_t len = std::min<std::size_t>(16, n - i);
        out += fmt::format("{} {:08x} ", spec_.hexdump_mark, dumped_ + i);
        for (std::size_t j = 0; j < 16; ++j)
            out +=
                j < len ? fmt::format("{:02x} ", static_cast<unsigned char>(data[i + j])) : "   ";
        out += "# ";
        for (std::size_t j = 0; j < len; ++j) {
            const auto c = static_cast<unsigned char>(data[i + j]);
            out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
        }
        out += '\n';
    }
    dumped_ += n;
    // The dump is a file of our own; a failed write there must not stall the data: the
    // dump stops and the error is reported at the end of the session (dump_error()).
    std::size_t off = 0;
    while (off < out.size()) {
        const auto w = SOCKLAB_SYS(write)(spec_.hexdump_fd, out.data() + off, out.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            dump_error_ = errno_code(w < 0 ? errno : EIO);
            break;
        }
        off += static_cast<std::size_t>(w);
    }
}

/// Reads one chunk into pending_ (transformed). False when nothing was read
/// (EOF, limit, would-block, error: see src_done_/src_error_).
bool Pump::fill_pending() {
    std::size_t cap = spec_.datagram_sink ? std::min(buf_.size(), max_datagram) : buf_.size();
    // CRLF doubles at most every byte: read half so pending stays within one buffer.
    if (spec_.crlf) cap = std::max<std::size_t>(cap / 2, 1);
    const std::size_t want = want_bytes(cap);
    if (want == 0) {
        limit_hit_ = spec_.limit && total_ >= *spec_.limit;
        src_done_ = true;
        return false;
    }
    std::size_t got = 0;
    if (spec_.src < 0) {
        // --source: a printable repeating pattern, so a hex dump or terminal shows it sanely.
        for (std::size_t i = 0; i < want; ++i)
            buf_[i] = static_cast<char>('A' + static_cast<int>((total_ + i) % 26));
        got = want;
    } else {
        // A blocking source (a terminal, a pipe we did not make non-blocking) is read only
        // when it is readable: a read(2) that blocks here would stop the whole relay, and
        // nothing the peer sends would be shown until the user typed a line.
        if (src_may_block_ && !readable_now(spec_.src)) return false;
        const auto r = SOCKLAB_SYS(read)(spec_.src, buf_.data(), want);
        if (r < 0) {
            if (errno == EINTR || would_block(errno)) return false;
            src_error_ = errno_code(errno);
            return false;
        }
        // A zero-length datagram is not an EOF; there is nothing to forward.
        if (r == 0 && spec_.datagram_src) return false;
        if (r == 0) {
            src_done_ = true;
            return false;
        }
        got = static_cast<std::size_t>(r);
    }
    total_ += got;
    pending_.clear();
    pending_off_ = 0;
    if (spec_.crlf) {
        // Only a bare LF becomes CR LF: an existing CR LF is left alone (as nc -C and
        // ncat -C do), also when the CR ended the previous read.
        for (std::size_t i = 0; i < got; ++i) {
            if (buf_[i] == '\n' && !last_cr_) pending_.push_back('\r');
            pending_.push_back(buf_[i]);
            last_cr_ = buf_[i] == '\r';
        }
    } else {
        pending_.assign(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(got));
    }
    dump(pending_.data(), pending_.size());  // the log shows what goes out, after -c
    return true;
}

StepResult Pump::step_copy() {
    StepResult res;
    bool read_once = false;
    while (res.moved < step_budget) {
        if (pending_off_ == pending_.size()) {
            if (src_done_) {
                res.wait = Wait::finished;
                res.limit_reached = limit_hit_;
                return res;
            }
            // A blocking source gets exactly one read per readiness report.
            if (read_once && src_may_block_) {
                res.wait = Wait::src_readable;
                return res;
            }
            read_once = true;
            if (!fill_pending()) {
                if (src_error_) {
                    res.wait = Wait::failed;
                    res.src_error = src_error_;
                    return res;
                }
                if (!src_done_) res.wait = Wait::src_readable;
                if (!src_done_) return res;
                continue;
            }
        }
        if (spec_.sink < 0) {  // discard
            res.moved += pending_.size() - pending_off_;
            pending_off_ = pending_.size();
            continue;
        }
        std::size_t len = pending_.size() - pending_off_;
        const auto from = pending_.begin() + static_cast<std::ptrdiff_t>(pending_off_);
        if (spec_.line_mode) {
            const auto nl = std::find(from, pending_.end(), '\n');
            if (nl != pending_.end()) len = static_cast<std::size_t>(nl - from) + 1;
        }
        const auto w = SOCKLAB_SYS(write)(spec_.sink, pending_.data() + pending_off_, len);
        if (w < 0) {
            // A blocking sink (a terminal, a full pipe) interrupted by a signal: go back to
            // the event loop, which sees the stop signal, instead of blocking again.
            if (errno == EINTR) {
                res.wait = Wait::sink_writable;
                return res;
            }
            if (would_block(errno)) {
                res.wait = Wait::sink_writable;
                return res;
            }
            res.wait = Wait::failed;
            res.sink_error = errno_code(errno);
            return res;
        }
        const auto wrote = static_cast<std::size_t>(w);
        const bool line_end =
            spec_.line_mode && wrote == len && pending_[pending_off_ + len - 1] == '\n';
        pending_off_ += wrote;
        res.moved += wrote;
        if (line_end) {
            res.wait = Wait::interval;
            return res;
        }
        // A short write: the sink is full, or a signal interrupted a blocking write after
        // some bytes (pipe(7), signal(7): no EINTR then). Either way wait in the event
        // loop, where a stop signal is seen, rather than block again for the rest.
        if (wrote < len) {
            res.wait = Wait::sink_writable;
            return res;
        }
    }
    return res;
}

StepResult Pump::step_direct() {
    // One system call moves src -> sink: splice(2) when one end is a pipe, else sendfile(2)
    // from a regular file (which needs no pipe at all).
    const bool use_sendfile = method_ == Method::sendfile;
    StepResult res;
    while (res.moved < step_budget) {
        const std::size_t want = want_bytes(use_sendfile ? 1u << 24 : 1u << 20);
        if (want == 0) {
            res.wait = Wait::finished;
            res.limit_reached = limit_hit_ = true;
            return res;
        }
        const auto n = use_sendfile ? SOCKLAB_SYS(sendfile)(spec_.sink, spec_.src, nullptr, want)
                                    : SOCKLAB_SYS(splice)(spec_.src, nullptr, spec_.sink, nullptr,
                                                          want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            total_ += static_cast<std::uint64_t>(n);
            res.moved += static_cast<std::uint64_t>(n);
            continue;
        }
        if (n == 0) {
            res.wait = Wait::finished;
            return res;
        }
        if (errno == EINTR) continue;
        if (would_block(errno)) {
            // A regular file never blocks; splice(2) says EAGAIN for either end.
            res.wait = use_sendfile || !writable_now(spec_.sink) ? Wait::sink_writable
                                                                 : Wait::src_readable;
            return res;
        }
        // Neither call says which end failed: EPIPE is the sink's, the rest the socket's.
        res.wait = Wait::failed;
        if (errno != EPIPE && src_socket_)
            res.src_error = errno_code(errno);
        else
            res.sink_error = errno_code(errno);
        return res;
    }
    return res;
}

StepResult Pump::step_splice_pipe() {
    StepResult res;
    while (res.moved < step_budget) {
        bool src_dry = src_done_;
        if (!src_done_ && in_pipe_ < pipe_size_) {
            const std::size_t want = want_bytes(pipe_size_ - in_pipe_);
            if (want == 0) {
                src_done_ = true;
                limit_hit_ = true;
            } else {
                const auto n = SOCKLAB_SYS(splice)(spec_.src, nullptr, pipe_w_.get(), nullptr, want,
                                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n > 0) {
                    in_pipe_ += static_cast<std::size_t>(n);
                    total_ += static_cast<std::uint64_t>(n);
                } else if (n == 0) {
                    src_done_ = true;
                } else if (errno == EINTR) {
                    continue;
                } else if (would_block(errno)) {
                    src_dry = true;
                } else {
                    res.wait = Wait::failed;
                    res.src_error = errno_code(errno);
                    return res;
                }
            }
        }
        if (in_pipe_ == 0) {
            if (src_done_) {
                res.wait = Wait::finished;
                res.limit_reached = limit_hit_;
                return res;
            }
            if (src_dry) {
                res.wait = Wait::src_readable;
                return res;
            }
            continue;
        }
        const auto m = SOCKLAB_SYS(splice)(pipe_r_.get(), nullptr, spec_.sink, nullptr, in_pipe_,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (m > 0) {
            in_pipe_ -= static_cast<std::size_t>(m);
            res.moved += static_cast<std::uint64_t>(m);
            continue;
        }
        if (m < 0 && errno == EINTR) continue;
        if (m < 0 && would_block(errno)) {
            res.wait = Wait::sink_writable;
            return res;
        }
        res.wait = Wait::failed;
        res.sink_error = errno_code(m < 0 ? errno : EPIPE);
        return res;
    }
    return res;
}

}  // namespace socklab::net::detail
