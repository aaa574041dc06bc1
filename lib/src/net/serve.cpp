// net: sockcat's serving loops: one connection, nc -l's first client, -k's many, -z's scan.
#include <poll.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "socklab/net.hpp"

namespace socklab::net {
namespace {

using Descriptor = asio::posix::stream_descriptor;

/// How long serve_clients() stops watching its listener after accept ran out of fds,
/// unless a session ends first (which frees fds).
constexpr std::chrono::milliseconds accept_backoff{250};

/// Watches the stop signals' self-pipe inside an event loop and calls `on_stop` once it is
/// readable, so the loop ends and cleans up instead of the process dying by the default
/// action. The pipe is never drained: a watch started after the signal fires at once.
/// cancel() lets io.run() return; the fd stays the caller's.
class StopWatch {
  public:
    StopWatch(asio::io_context& io, int fd, std::function<void()> on_stop)
        : d_(io), on_stop_(std::move(on_stop)) {
        std::error_code ec;
        d_.assign(fd, ec);
        if (ec) return;
        d_.async_wait(Descriptor::wait_read, [this](const std::error_code& e) {
            if (!e) on_stop_();
        });
    }
    StopWatch(const StopWatch&) = delete;
    StopWatch& operator=(const StopWatch&) = delete;
    ~StopWatch() { cancel(); }

    void cancel() {
        if (!d_.is_open()) return;
        std::error_code ignored;
        d_.cancel(ignored);
        (void)d_.release();  // borrowed: the caller closes it
    }

  private:
    Descriptor d_;
    std::function<void()> on_stop_;
};

std::optional<SockAddr> peer_of(int fd) {
    auto p = peer_address(fd);
    if (!p) return std::nullopt;
    return *p;
}

SessionStart start_of(int fd, SessionKind kind, std::optional<SockAddr> peer) {
    SessionStart s;
    s.fd = fd;
    s.kind = kind;
    s.peer = std::move(peer);
    s.now = tcp_state(fd);
    switch (kind) {
        case SessionKind::connected:
            s.before = TcpState::syn_sent;
            s.why = "connected";
            break;
        case SessionKind::accepted:
            s.before = TcpState::syn_recv;
            s.why = "accepted";
            break;
        case SessionKind::received:
            s.before = TcpState::close;
            s.why = "received";
            break;
    }
    return s;
}

/// The session's own event callback, or one that ignores events.
RelayEventFn events_of(const Session& s) {
    if (s.on_event) return s.on_event;
    return [](const RelayEvent&) {};
}

void run_session(Fd sock, SessionKind kind, std::optional<SockAddr> peer,
                 const SessionFn& on_session, int stop_fd) {
    const Session s = on_session(start_of(sock.get(), kind, std::move(peer)));
    asio::io_context io;
    RelayHandle relay;
    std::optional<Result<RelayOutcome>> result;
    StopWatch stop(io, stop_fd, [&relay] { relay.stop(); });
    relay = start_relay(io, std::move(sock), s.config, events_of(s),
                        [&result, &stop](Result<RelayOutcome> r) {
                            result.emplace(std::move(r));
                            stop.cancel();
                        });
    io.run();
    if (!result) result.emplace(make_error(std::errc::operation_canceled, "relay"));
    if (s.on_done) s.on_done(*result);
}

/// Waits for one accepted connection; nullopt when `stop_fd` ended the wait.
std::optional<Result<Fd>> accept_one(int listener, int stop_fd) {
    asio::io_context io;
    Descriptor watch(io, listener);
    std::optional<Result<Fd>> got;
    StopWatch stop(io, stop_fd, [&watch] {
        std::error_code ignored;
        watch.cancel(ignored);
    });
    std::function<void(const std::error_code&)> on_ready = [&](const std::error_code& ec) {
        if (ec) return;  // cancelled by a stop signal
        auto sock = accept_from(watch.native_handle());
        if (!sock && sock.error().code == std::errc::resource_unavailable_try_again) {
            watch.async_wait(Descriptor::wait_read, on_ready);
            return;
        }
        got.emplace(std::move(sock));
        stop.cancel();
    };
    watch.async_wait(Descriptor::wait_read, on_ready);
    io.run();
    (void)watch.release();  // the caller's Fd closes it
    return got;
}

/// serve_clients()'s state: the listener, its sessions and the fd-limit pause.
class Clients {
  public:
    Clients(Fd listener, const ClientsHooks& hooks, int stop_fd)
        : hooks_(hooks),
          watch_(io_, listener.release()),
          backoff_(io_),
          out_watch_(io_),
          stop_(io_, stop_fd, [this] { exit_all(); }) {
        if (hooks.end_on_error_fd >= 0) {
            Fd own(hooks.end_on_error_fd);
            std::error_code ec;
            out_watch_.assign(own.get(), ec);
            if (!ec) (void)own.release();  // out_watch_ closes it now
        }
    }

    void run() {
        wait_listener();
        if (out_watch_.is_open())
            out_watch_.async_wait(Descriptor::wait_error, [this](const std::error_code& ec) {
                if (!ec) exit_all();
            });
        io_.run();
    }

  private:
    void wait_listener() {
        watch_.async_wait(Descriptor::wait_read, [this](const std::error_code& ec) {
            if (!ec && !stopping_) on_ready();
        });
    }

    void exit_all() {
        if (stopping_) return;
        stopping_ = true;
        for (const auto& h : sessions_)
            h.stop();
        std::error_code ignored;
        watch_.close(ignored);
        out_watch_.close(ignored);
        backoff_.cancel();
        stop_.cancel();
    }

    void resume() {
        if (!paused_ || stopping_) return;
        paused_ = false;
        backoff_.cancel();
        wait_listener();
    }

    void on_ready() {
        for (;;) {
            auto sock = accept_from(watch_.native_handle());
            if (!sock && out_of_fds(sock.error().code)) {
                if (hooks_.on_accept_error) hooks_.on_accept_error(sock.error());
                paused_ = true;
                backoff_.expires_after(accept_backoff);
                backoff_.async_wait([this](const std::error_code& e) {
                    if (!e) resume();
                });
                return;
            }
            if (!sock) {
                if (sock.error().code != std::errc::resource_unavailable_try_again &&
                    hooks_.on_accept_error)
                    hooks_.on_accept_error(sock.error());
                break;
            }
            start(std::move(*sock));
        }
        wait_listener();
    }

    void start(Fd sock) {
        auto s = std::make_shared<const Session>(
            hooks_.on_session(start_of(sock.get(), SessionKind::accepted, peer_of(sock.get()))));
        std::erase_if(sessions_, [](const RelayHandle& h) { return !h.running(); });
        sessions_.push_back(start_relay(
            io_, std::move(sock), s->config,
            [this, s](const RelayEvent& ev) {
                if (s->on_event) s->on_event(ev);
                if (ev.kind == RelayEventKind::output_closed)
                    asio::post(io_, [this] { exit_all(); });
            },
            [this, s](Result<RelayOutcome> r) {
                if (s->on_done) s->on_done(r);
                if (r && r->exit_program) asio::post(io_, [this] { exit_all(); });
                asio::post(io_, [this] { resume(); });  // its fds are free now
            }));
    }

    const ClientsHooks& hooks_;
    asio::io_context io_;
    Descriptor watch_;
    asio::steady_timer backoff_;
    Descriptor out_watch_;
    StopWatch stop_;
    std::vector<RelayHandle> sessions_;
    bool stopping_ = false;
    bool paused_ = false;  ///< accept ran out of fds: the listener is not watched for now
};

}  // namespace

bool out_of_fds(const std::error_code& ec) {
    return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
           ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

bool wait_for_stop(int stop_fd, nanoseconds wait) {
    using std::chrono::milliseconds;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        int ms = -1;
        if (wait.count() >= 0) {
            // Rounded up: poll(2) returning 0 then means the deadline has passed.
            const auto left =
                std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
            ms = static_cast<int>(std::clamp<long long>(left.count(), 0, 1 << 30));
        }
        pollfd p{stop_fd, POLLIN, 0};
        const int n = ::poll(&p, 1, ms);
        if (n > 0) return true;
        if (n == 0 || errno != EINTR) return false;
    }
}

void serve_connection(Fd socket, SessionKind kind, const SessionFn& on_session, int stop_fd) {
    const int fd = socket.get();
    run_session(std::move(socket), kind, peer_of(fd), on_session, stop_fd);
}

Result<void> serve_first(Fd listener, Proto proto, const SessionFn& on_session, int stop_fd) {
    if (proto == Proto::udp) {
        auto peer = udp_accept(listener.get(), nanoseconds(0), stop_fd);
        if (!peer && peer.error().code == std::errc::operation_canceled) return {};
        if (!peer) return peer.error();
        run_session(std::move(listener), SessionKind::received, *peer, on_session, stop_fd);
        return {};
    }
    auto got = accept_one(listener.get(), stop_fd);
    if (!got) return {};  // a stop signal
    // nc closes the listener once it has its one client: later SYNs are refused.
    listener.reset();
    if (!*got) return got->error();
    serve_connection(std::move(**got), SessionKind::accepted, on_session, stop_fd);
    return {};
}

void serve_clients(Fd listener, const ClientsHooks& hooks, int stop_fd) {
    Clients(std::move(listener), hooks, stop_fd).run();
}

bool scan_ports(const ScanSpec& spec,
                const std::function<void(std::uint16_t, const Result<Fd>&)>& on_port, int stop_fd) {
    bool any = false;
    bool first = true;
    for (const auto& range : spec.ranges) {
        for (unsigned port = range.first; port <= range.last; ++port) {
            // -i: paced on purpose; a stop signal ends the scan at once.
            if (!first && spec.interval.count() > 0 && wait_for_stop(stop_fd, spec.interval))
                return any;
            if (wait_for_stop(stop_fd, nanoseconds(0))) return any;
            first = false;
            auto with_port = spec.addrs;
            for (auto& a : with_port)
                a.set_port(static_cast<std::uint16_t>(port));
            auto c =
                connect_to(with_port, spec.proto, spec.opts, spec.source, spec.timeout, stop_fd);
            if (!c && c.error().code == std::errc::operation_canceled) return any;
            any = any || c.ok();
            on_port(static_cast<std::uint16_t>(port), c);
        }
    }
    return any;
}

Result<Fd> open_first_listener(const std::vector<SockAddr>& addrs, Proto proto,
                               const SocketOptions& opts) {
    std::optional<Error> first_error;
    for (const auto& a : addrs) {
        auto fd = open_listener(a, proto, opts);
        if (fd) return fd;
        if (!first_error) first_error = fd.error();
    }
    if (!first_error) return make_error(std::errc::address_not_available, "listen");
    return *first_error;
}

}  // namespace socklab::net
