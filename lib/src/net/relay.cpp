// net: the relay: two pumps (input -> socket, socket -> output) and the half-close rules.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <map>

#include "net/pump.hpp"
#include "socklab/net.hpp"

namespace socklab::net {
namespace {

using detail::Pump;
using detail::PumpSpec;
using detail::StepResult;
using detail::Wait;
using Descriptor = asio::posix::stream_descriptor;

/// One direction: its pump, the timer of -i, and whether it is over.
struct Direction {
    std::optional<Pump> pump;
    std::unique_ptr<asio::steady_timer> interval;
    bool over = false;  ///< finished, failed or stopped: never driven again
};

enum class Dir : std::uint8_t { up, down };

/// The state close() leaves the (now orphaned) socket in, which we can no longer ask
/// for: tcp_close_state() in net/ipv4/tcp.c moves ESTABLISHED and SYN_RECV to
/// FIN_WAIT_1 and CLOSE_WAIT to LAST_ACK; an abort (SO_LINGER 0, or unread data,
/// RFC 2525 2.17) ends in CLOSED at once.
std::optional<TcpState> state_after_close(std::optional<TcpState> now, bool abort) {
    if (!now || abort) return std::nullopt;
    switch (*now) {
        case TcpState::established:
        case TcpState::syn_recv:
            return TcpState::fin_wait1;
        case TcpState::close_wait:
            return TcpState::last_ack;
        case TcpState::fin_wait1:
        case TcpState::fin_wait2:
        case TcpState::closing:
        case TcpState::last_ack:
            return now;
        default:
            return std::nullopt;
    }
}

}  // namespace

namespace detail {

/// The relay's state machine.
///
/// States are the pair (up, down) of directions plus fin_sent_/peer_fin_/ended_:
///  - up moves input -> socket; it ends at input EOF (or --close-after-bytes), then
///    OnEof decides: shutdown (FIN, keep reading), close, rst, or wait.
///  - down moves socket -> output; it ends when the peer's FIN has been read and
///    every byte before it written out; then OnPeerClose decides.
/// Invariants:
///  - the socket is closed exactly once, in finish(), after every duplicate fd
///    we gave the reactor is closed (otherwise close() would not end the connection)
///    and the socket's own registration is released;
///  - FIN is sent only after every input byte reached the socket (up is over);
///  - the session ends when both directions are over, or earlier by a policy
///    (close/rst/exit/timeouts), by a reset (error), or by the output going away;
///  - once ended_, no handler touches the pumps or the socket again.
class Relay : public std::enable_shared_from_this<Relay> {
  public:
    Relay(asio::io_context& io, Fd sock, const RelayConfig& cfg, RelayEventFn on_event,
          RelayDoneFn on_done)
        : io_(io),
          sock_(std::move(sock)),
          cfg_(cfg),
          on_event_(std::move(on_event)),
          on_done_(std::move(on_done)),
          idle_(io),
          close_after_(io),
          quit_(io),
          hold_(io),
          work_(asio::make_work_guard(io)) {}

    void start();
    /// Ends at once (RelayHandle::stop).
    void stop() {
        end(cfg_.close_mode, false);
        finish(cfg_.close_mode);  // when end() had already started a --hold
    }

  private:
    void drive(Dir d);
    void schedule(Dir d, Wait wait);
    void on_step(Dir d, const StepResult& r);
    void up_finished(bool limit_reached);
    void down_finished();
    void failed(Dir d, const StepResult& r);
    void end(CloseMode mode, bool hold_first);
    void close_output();
    void finish(CloseMode mode);
    void emit(RelayEventKind kind, std::string why);
    void emit_state(RelayEventKind kind, std::optional<TcpState> state, std::string why);
    void arm_idle();
    void arm(asio::steady_timer& t, nanoseconds after, RelayEventKind kind, std::string why,
             bool hold_first);
    Descriptor* watch(int fd);
    Direction& dir(Dir d) { return d == Dir::up ? up_ : down_; }
    [[nodiscard]] CloseMode eof_mode() const {
        return cfg_.on_eof == OnEof::rst ? CloseMode::rst : cfg_.close_mode;
    }

    asio::io_context& io_;
    Fd sock_;
    RelayConfig cfg_;
    RelayEventFn on_event_;
    RelayDoneFn on_done_;
    Direction up_;
    Direction down_;
    std::map<int, std::unique_ptr<Descriptor>> watches_;
    asio::steady_timer idle_, close_after_, quit_, hold_;
    /// Keeps io.run() going while we hold a socket with nothing outstanding (hold, --no-read).
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    /// Keeps this object alive in the same situation; released in finish().
    std::shared_ptr<Relay> self_;
    bool fin_sent_ = false;
    bool peer_fin_ = false;
    bool fin_first_ = false;   ///< our FIN left before the peer's: we are the active closer
    bool ended_ = false;       ///< end() ran: pumps stopped
    bool closed_ = false;      ///< finish() ran: socket closed, on_done_ called
    bool out_closed_ = false;  ///< own_out_fd: out_fd is closed
    RelayOutcome outcome_;
    std::optional<Error> error_;
    std::error_code watch_error_;  ///< why the last watch() could not register its fd
};

void Relay::start() {
    self_ = shared_from_this();
    const int s = sock_.get();
    PumpSpec base;
    base.zero_copy = cfg_.zero_copy;
    base.buffer_size = cfg_.buffer_size;
    base.hexdump_fd = cfg_.hexdump_fd;
    if (cfg_.service == Service::source || (cfg_.service == Service::stdio && cfg_.in_fd >= 0)) {
        PumpSpec up = base;
        up.src = cfg_.service == Service::source ? -1 : cfg_.in_fd;
        up.generate = cfg_.source_bytes;
        up.sink = s;
        up.limit = cfg_.close_after_bytes;
        up.crlf = cfg_.crlf;
        up.line_mode = cfg_.line_interval.count() > 0;
        up.datagram_sink = cfg_.datagram;
        up.hexdump_mark = '>';
        up_.pump.emplace(up);
        if (up.line_mode) up_.interval = std::make_unique<asio::steady_timer>(io_);
    } else {
        up_.over = true;  // -d, --recv-only, --echo, --discard: nothing to send, no EOF to act on
    }
    if (!cfg_.no_read) {
        PumpSpec down = base;
        down.src = s;
        down.sink = cfg_.service == Service::echo      ? s
                    : cfg_.service == Service::discard ? -1
                                                       : cfg_.out_fd;
        down.datagram_src = cfg_.datagram;
        down.hexdump_mark = '<';
        down_.pump.emplace(down);
    } else {
        down_.over = true;  // --no-read: the peer's FIN is never seen; timers or signals end us
    }
    if (cfg_.close_after.count() > 0)
        arm(close_after_, cfg_.close_after, RelayEventKind::timeout, "--close-after expired",
            false);
    arm_idle();
    if (!up_.over) drive(Dir::up);
    if (!down_.over) drive(Dir::down);
}

Descriptor* Relay::watch(int fd) {
    auto it = watches_.find(fd);
    if (it != watches_.end()) return it->second.get();
    if (fd == sock_.get()) {
        // The socket is ours alone: the reactor watches it as it is and gives it back in
        // finish() (release), so a session costs one fd and a -k server at the fd limit
        // never accepts a client it then cannot watch.
        auto d = std::make_unique<Descriptor>(io_);
        d->assign(fd, watch_error_);
        return watches_.emplace(fd, std::move(d)).first->second.get();
    }
    // Other fds get a duplicate: epoll refuses the same fd twice (EEXIST), and several
    // sessions (-k) share stdout. Regular files and /dev/null cannot be polled (EPERM):
    // asio then completes waits at once with operation_not_supported, meaning "ready".
    auto d = std::make_unique<Descriptor>(io_);
    const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup < 0) watch_error_ = std::error_code(errno, std::system_category());
    if (dup >= 0) {
        d->assign(dup, watch_error_);
        if (watch_error_) ::close(dup);
    }
    return watches_.emplace(fd, std::move(d)).first->second.get();
}

void Relay::drive(Dir d) {
    Direction& x = dir(d);
    if (ended_ || x.over) return;
    const StepResult r = x.pump->step();
    on_step(d, r);
}

void Relay::on_step(Dir d, const StepResult& r) {
    if (r.moved > 0) {
        (d == Dir::up ? outcome_.bytes_sent : outcome_.bytes_received) += r.moved;
        arm_idle();
    }
    switch (r.wait) {
        case Wait::finished:
            dir(d).over = true;
            if (d == Dir::up)
                up_finished(r.limit_reached);
            else
                down_finished();
            return;
        case Wait::failed:
            failed(d, r);
            return;
        default:
            schedule(d, r.wait);
    }
}

void Relay::schedule(Dir d, Wait wait) {
    Direction& x = dir(d);
    auto self = shared_from_this();
    auto again = [self, d](const std::error_code&) { self->drive(d); };
    if (wait == Wait::nothing) {
        asio::post(io_, [self, d] { self->drive(d); });
        return;
    }
    if (wait == Wait::interval) {
        x.interval->expires_after(cfg_.line_interval);
        x.interval->async_wait(again);
        return;
    }
    const PumpSpec& spec = x.pump->spec();
    const int fd = wait == Wait::src_readable ? spec.src : spec.sink;
    Descriptor* w = watch(fd);
    if (!w->is_open()) {  // no fd left for the duplicate (EMFILE): fail, do not spin
        error_ = Error{watch_error_, "poll"};
        end(cfg_.close_mode, false);
        return;
    }
    w->async_wait(wait == Wait::src_readable ? Descriptor::wait_read : Descriptor::wait_write,
                  again);
}

void Relay::up_finished(bool limit_reached) {
    if (limit_reached) {
        emit(RelayEventKind::input_eof, "sent --close-after-bytes bytes");
        end(cfg_.close_mode, true);
        return;
    }
    emit(RelayEventKind::input_eof,
         cfg_.service == Service::source ? "--source bytes sent" : "stdin EOF");
    if (cfg_.quit_after_eof.count() >= 0)
        arm(quit_, cfg_.quit_after_eof, RelayEventKind::timeout, "-q expired after stdin EOF",
            false);
    if (peer_fin_) {  // --on-peer-close=finish: the answer is complete, now close
        end(eof_mode(), true);
        return;
    }
    switch (cfg_.on_eof) {
        case OnEof::shutdown:
            // shutdown(SHUT_WR) queues our FIN behind the data: RFC 9293 3.10.4 CLOSE, half-close.
            if (::shutdown(sock_.get(), SHUT_WR) == 0) {
                fin_sent_ = true;
                fin_first_ = !peer_fin_;
                emit(RelayEventKind::fin_sent, "sent FIN after stdin EOF");
            }
            if (down_.over && !cfg_.no_read) end(cfg_.close_mode, true);
            return;
        case OnEof::close:
            end(cfg_.close_mode, true);
            return;
        case OnEof::rst:
            end(CloseMode::rst, false);
            return;
        case OnEof::wait:
            return;
    }
}

void Relay::down_finished() {
    peer_fin_ = true;
    close_output();
    emit(RelayEventKind::peer_fin, "received FIN");
    switch (cfg_.on_peer_close) {
        case OnPeerClose::hold:
            // Keep the socket, send nothing more: we stay in CLOSE_WAIT, the peer in FIN_WAIT_2.
            up_.over = true;
            emit(RelayEventKind::holding, "holding after peer FIN (--on-peer-close=hold)");
            if (cfg_.hold.count() > 0)
                arm(hold_, cfg_.hold, RelayEventKind::timeout, "--hold expired", false);
            return;
        case OnPeerClose::exit:
            outcome_.exit_program = true;
            end(cfg_.close_mode, false);
            return;
        case OnPeerClose::close:
            end(cfg_.close_mode, true);
            return;
        case OnPeerClose::finish:
            // Nothing left to send (or our FIN already left): close now; otherwise
            // up_finished() closes once the rest of the input is sent.
            if (cfg_.service == Service::echo || fin_sent_ || up_.over) end(cfg_.close_mode, true);
            return;
    }
}

void Relay::failed(Dir d, const StepResult& r) {
    const bool socket_side =
        (d == Dir::up) ? static_cast<bool>(r.sink_error) : static_cast<bool>(r.src_error);
    const std::error_code ec = r.src_error ? r.src_error : r.sink_error;
    if (d == Dir::down && r.sink_error == std::errc::broken_pipe && cfg_.service != Service::echo) {
        // stdout went away (`| head -c1`): not an error of ours; end cleanly.
        emit(RelayEventKind::output_closed, "stdout closed");
        end(cfg_.close_mode, false);
        return;
    }
    if (socket_side || cfg_.service == Service::echo) {
        error_ = Error{ec, "connection"};
        if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe) {
            error_ = Error{std::make_error_code(std::errc::connection_reset), "connection"};
            emit(RelayEventKind::peer_reset, "received RST");
        }
    } else {
        error_ = Error{ec, d == Dir::up ? "stdin" : "stdout"};
    }
    end(cfg_.close_mode, false);
}

void Relay::end(CloseMode mode, bool hold_first) {
    if (ended_) return;
    ended_ = true;
    for (auto& [fd, w] : watches_) {
        // The error_code overload: a watch whose fd could not be duplicated (EMFILE) is not
        // open, and the throwing cancel() would end every session of a -k server.
        std::error_code ignored;
        w->cancel(ignored);
    }
    if (up_.interval) up_.interval->cancel();
    idle_.cancel();
    quit_.cancel();
    close_after_.cancel();
    if (hold_first && !error_ && cfg_.hold.count() > 0) {
        emit(RelayEventKind::holding, "holding (--hold)");
        auto self = shared_from_this();
        hold_.expires_after(cfg_.hold);
        hold_.async_wait([self, mode](const std::error_code&) { self->finish(mode); });
        return;
    }
    finish(mode);
}

void Relay::close_output() {
    if (!cfg_.own_out_fd || cfg_.out_fd < 0 || out_closed_) return;
    out_closed_ = true;
    // Our duplicate in the reactor keeps the file open too: close both, so whoever reads
    // our stdout (`sockcat -l P | tar x`) sees EOF now.
    if (auto it = watches_.find(cfg_.out_fd); it != watches_.end()) {
        std::error_code ignored;
        it->second->close(ignored);
        watches_.erase(it);
    }
    ::close(cfg_.out_fd);
}

void Relay::finish(CloseMode mode) {
    if (closed_) return;
    ended_ = closed_ = true;
    hold_.cancel();
    work_.reset();
    for (auto& [fd, w] : watches_) {
        std::error_code ignored;
        if (fd == sock_.get() && w->is_open()) {
            w->cancel(ignored);
            (void)w->release();  // deregistered; sock_ closes it below
        } else {
            w->close(ignored);
        }
    }
    watches_.clear();
    close_output();
    const bool reset = static_cast<bool>(error_) && error_->code == std::errc::connection_reset;
    if (!reset) {
        if (!set_close_mode(sock_.get(), mode, cfg_.linger_s)) mode = CloseMode::fin;
        const bool rst = mode == CloseMode::rst;
        int unread = 0;
        if (::ioctl(sock_.get(), FIONREAD, &unread) != 0) unread = 0;
        const auto after = state_after_close(tcp_state(sock_.get()), rst || unread > 0);
        sock_.reset();
        const char* why = rst          ? "sent RST (SO_LINGER 0)"
                          : unread > 0 ? "closed with unread data: the kernel sent RST"
                          : fin_sent_ || cfg_.datagram ? "closed"
                                                       : "closed, sent FIN";
        emit_state(rst ? RelayEventKind::rst_sent : RelayEventKind::closed, after, why);
    } else {
        sock_.reset();
    }
    for (const Direction* x : {&up_, &down_})
        if (!error_ && x->pump && x->pump->dump_error())
            error_ = Error{x->pump->dump_error(), "hex dump"};
    auto done = std::move(on_done_);
    const auto keep = std::move(self_);  // may be the last reference: lives to the end of finish()
    if (error_)
        done(*error_);
    else
        done(outcome_);
}

void Relay::emit(RelayEventKind kind, std::string why) {
    emit_state(kind, sock_ ? tcp_state(sock_.get()) : std::nullopt, std::move(why));
}

void Relay::emit_state(RelayEventKind kind, std::optional<TcpState> state, std::string why) {
    if (!on_event_) return;
    RelayEvent ev{kind, state, std::move(why)};
    // The active closer's socket is swapped for a timewait minisocket when the peer's FIN
    // arrives (tcp_time_wait(), net/ipv4/tcp_minisocks.c); the full socket then reads CLOSE.
    const bool after_fins = kind == RelayEventKind::peer_fin || kind == RelayEventKind::closed;
    if (after_fins && fin_first_ && peer_fin_ && (!ev.state || *ev.state == TcpState::close)) {
        ev.state = TcpState::time_wait;
        ev.why += "; the kernel keeps TIME_WAIT";
    }
    on_event_(ev);
}

void Relay::arm_idle() {
    if (cfg_.idle_timeout.count() <= 0 || ended_) return;
    arm(idle_, cfg_.idle_timeout, RelayEventKind::timeout, "idle timeout (-w)", false);
}

void Relay::arm(asio::steady_timer& t, nanoseconds after, RelayEventKind kind, std::string why,
                bool hold_first) {
    auto self = shared_from_this();
    t.expires_after(after);
    t.async_wait([self, kind, why = std::move(why), hold_first](const std::error_code& ec) {
        if (ec || self->ended_) return;
        self->emit(kind, why);
        self->end(self->cfg_.close_mode, hold_first);
    });
}

}  // namespace detail

void RelayHandle::stop() const {
    if (auto r = relay_.lock()) r->stop();
}

RelayHandle start_relay(asio::io_context& io, Fd socket, const RelayConfig& config,
                        RelayEventFn on_event, RelayDoneFn on_done) {
    auto relay = std::make_shared<detail::Relay>(io, std::move(socket), config, std::move(on_event),
                                                 std::move(on_done));
    relay->start();
    return RelayHandle(relay);
}

Result<RelayOutcome> run_relay(Fd socket, const RelayConfig& config, const RelayEventFn& on_event) {
    asio::io_context io;
    std::optional<Result<RelayOutcome>> result;
    (void)start_relay(io, std::move(socket), config, on_event,
                      [&result](Result<RelayOutcome> r) { result.emplace(std::move(r)); });
    io.run();
    if (!result) return make_error(std::errc::operation_canceled, "relay");
    return std::move(*result);
}

}  // namespace socklab::net
