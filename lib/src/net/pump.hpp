// net (private): one direction of the relay: moves bytes src -> sink by splice, sendfile or copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "socklab/core.hpp"

namespace socklab::net::detail {

/// What one direction moves and how.
struct PumpSpec {
    int src = -1;   ///< borrowed; -1 = generate `generate` bytes of a pattern
    int sink = -1;  ///< borrowed; -1 = read and drop
    std::uint64_t generate = 0;
    std::optional<std::uint64_t> limit;  ///< stop after this many bytes (--close-after-bytes)
    bool zero_copy = true;
    bool crlf = false;
    bool line_mode = false;      ///< -i: hand out one line per step
    bool datagram_src = false;   ///< a zero-length read is an empty datagram, not EOF
    bool datagram_sink = false;  ///< each write is one datagram: reads are capped at 65507
    int hexdump_fd = -1;
    char hexdump_mark = '>';
    std::size_t buffer_size = 256 * 1024;
};

/// What the pump needs before step() can make progress again.
enum class Wait : std::uint8_t {
    nothing,  ///< call again soon (it stopped to be fair to the other direction)
    src_readable,
    sink_writable,
    interval,  ///< line mode: wait the line interval
    finished,  ///< source ended (or hit the limit) and every byte was written
    failed,    ///< see src_error / sink_error
};

struct StepResult {
    Wait wait = Wait::nothing;
    std::uint64_t moved = 0;     ///< bytes written to the sink during this step
    bool limit_reached = false;  ///< with finished: the limit, not EOF, ended the source
    std::error_code src_error;
    std::error_code sink_error;
};

/// How bytes move; chosen once from the fd types (see choose()).
enum class Method : std::uint8_t { splice_direct, splice_pipe, sendfile, copy };

/// One direction of the data pump.
///
/// Invariants: bytes leave the source only into `pending` (copy), the private pipe
/// (splice_pipe) or straight into the sink (splice_direct, sendfile); nothing is read
/// while earlier bytes still wait to be written, so memory stays bounded and no byte
/// is dropped; `finished` is reported only once the source ended and nothing is pending.
class Pump {
  public:
    explicit Pump(PumpSpec spec);
    Pump(Pump&&) noexcept = default;
    Pump& operator=(Pump&&) noexcept = default;
    Pump(const Pump&) = delete;
    Pump& operator=(const Pump&) = delete;
    ~Pump() = default;

    /// Moves what it can without blocking (at most a budget, for fairness).
    StepResult step();
    [[nodiscard]] Method method() const noexcept { return method_; }
    [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
    [[nodiscard]] const PumpSpec& spec() const noexcept { return spec_; }
    /// Why writing the hex dump failed (it stops then; the data goes on), if it did.
    [[nodiscard]] std::error_code dump_error() const noexcept { return dump_error_; }

  private:
    StepResult step_copy();
    StepResult step_direct();
    StepResult step_splice_pipe();
    std::size_t want_bytes(std::size_t cap) const;
    bool fill_pending();
    void dump(const char* data, std::size_t n);

    PumpSpec spec_;
    Method method_ = Method::copy;
    bool src_may_block_ = false;  ///< a blocking src gets one read per readiness
    bool src_socket_ = false;
    bool src_done_ = false;
    bool limit_hit_ = false;
    bool last_cr_ = false;      ///< crlf: the last byte read was CR (its LF needs no CR)
    std::uint64_t total_ = 0;   ///< bytes taken from the source
    std::uint64_t dumped_ = 0;  ///< hex dump offset
    std::error_code src_error_;
    std::error_code dump_error_;
    // copy: bytes read but not yet written are pending[pending_off, end)
    std::vector<char> buf_;
    std::vector<char> pending_;
    std::size_t pending_off_ = 0;
    // splice_pipe: the private pipe and how many bytes sit in it
    Fd pipe_r_;
    Fd pipe_w_;
    std::size_t in_pipe_ = 0;
    std::size_t pipe_size_ = 0;
};

/// The method the fd types allow (exposed for tests).
Method choose_method(const PumpSpec& spec);

}  // namespace socklab::net::detail
