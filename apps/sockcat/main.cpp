// sockcat: nc-style connect/listen with exact control of how each connection closes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstdio>

#include "app.hpp"
#include "options.hpp"

namespace sockcat {
namespace {

namespace app = socklab::app;
using Descriptor = asio::posix::stream_descriptor;

/// "sockcat: what: why", one line (app::error_line), the reason in lower case.
void print_error(const socklab::Error& e) {
    socklab::app::error_line("sockcat", e.context,
                             e.code ? socklab::app::reason(e.code) : "unknown error");
}

/// nc -v's "Connection to HOST (ADDR) PORT port [tcp/SERVICE] succeeded!": the address
/// in parentheses only when a name was typed and -n is off, as netcat-openbsd prints it.
void print_connected(const Options& o, int fd, std::uint16_t port) {
    if (!o.verbose) return;
    if (o.proto == net::Proto::unix_stream) {
        fmt::print(stderr, "Connection to {} succeeded!\n", o.unix_path);
        return;
    }
    const auto peer = net::peer_address(fd);
    const std::string addr = peer ? peer->host() : "";
    const std::string also =
        !o.numeric && !addr.empty() && addr != o.host ? fmt::format(" ({})", addr) : "";
    fmt::print(stderr, "Connection to {}{} {} port [{}/{}] succeeded!\n", o.host, also, port,
               o.proto == net::Proto::udp ? "udp" : "tcp", net::service_name(port, o.proto));
}

std::string state_label(std::optional<socklab::TcpState> s) {
    if (!s) return "CLOSED";
    return std::string(socklab::state_info(socklab::display_state(*s)).label);
}

/// Narrates one connection for -v and --show-state (stderr, flushed per line).
class Narrator {
  public:
    Narrator(const Options& o, int fd, socklab::TcpState before) : show_(o.show_state) {
        const auto local = net::local_address(fd);
        const auto peer = net::peer_address(fd);
        local_ = local ? local->to_string() : "?";
        peer_ = peer ? peer->to_string() : "*";
        last_ = before;
    }

    void state(std::optional<socklab::TcpState> now, std::string_view why) {
        if (!show_) return;
        fmt::print(stderr, "sockcat: {} -> {} {} -> {} ({})\n", local_, peer_, state_label(last_),
                   state_label(now), why);
        last_ = now;
    }

    void event(const net::RelayEvent& ev) { state(ev.state, ev.why); }
    [[nodiscard]] const std::string& peer() const { return peer_; }

  private:
    bool show_;
    std::string local_, peer_;
    std::optional<socklab::TcpState> last_;
};

/// Prints the relay's end: a reset or I/O error is one line and exit 1.
int relay_exit(const socklab::Result<net::RelayOutcome>& r, const std::string& peer) {
    if (r) return 0;
    socklab::Error e = r.error();
    if (e.context == "connection") e.context = peer;
    print_error(e);
    return 1;
}

net::RelayConfig relay_config(const Options& o, int hexdump_fd) {
    net::RelayConfig c = o.relay;
    c.in_fd = o.read_stdin ? STDIN_FILENO : -1;
    c.out_fd = o.write_stdout ? STDOUT_FILENO : -1;
    c.hexdump_fd = hexdump_fd;
    return c;
}

/// Watches the stop signals' self-pipe inside an event loop and calls `on_stop` once a
/// SIGINT, SIGTERM or SIGHUP arrived, so the loop ends and cleans up instead of the
/// process dying by the default action. The pipe is never drained: a watch started
/// after the signal fires at once. cancel() lets io.run() return; no fd is spent.
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
        (void)d_.release();  // the fd belongs to app::StopSignals
    }

  private:
    Descriptor d_;
    std::function<void()> on_stop_;
};

/// Waits up to `wait` (negative: forever) for a stop signal; true when one came.
bool stop_within(int stop_fd, std::chrono::nanoseconds wait) {
    using std::chrono::milliseconds;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        int ms = -1;
        if (wait.count() >= 0) {
            const auto left =
                std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return app::StopSignals::requested();
            ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
        }
        pollfd p{stop_fd, POLLIN, 0};
        const int n = ::poll(&p, 1, ms);
        if (n > 0 || app::StopSignals::requested()) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

/// Moves stdout to a descriptor of its own that the relay closes at the peer's FIN (nc
/// and ncat do: `sockcat -l P | tar x` must see EOF then, not when our stdin ends), and
/// puts /dev/null on fd 1 so that closing the copy really closes the reader's pipe and
/// nothing of ours lands on fd 1 afterwards. -1 when there is no fd for it.
int detach_stdout() {
    const int copy = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return -1;
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) {
        if (null >= 0) ::close(null);
        ::close(copy);
        return -1;
    }
    ::close(null);
    return copy;
}

/// Runs one relay on an accepted or connected socket; returns the exit code.
int serve_one(const Options& o, socklab::Fd sock, socklab::TcpState before, std::string_view why,
              int hexdump_fd, int stop_fd) {
    Narrator n(o, sock.get(), before);
    n.state(net::tcp_state(sock.get()), why);
    net::RelayConfig cfg = relay_config(o, hexdump_fd);
    if (cfg.out_fd >= 0) {
        if (const int own = detach_stdout(); own >= 0) {
            cfg.out_fd = own;
            cfg.own_out_fd = true;
        }
    }
    asio::io_context io;
    net::RelayHandle relay;
    std::optional<socklab::Result<net::RelayOutcome>> result;
    StopWatch stop(io, stop_fd, [&relay] { relay.stop(); });
    relay = net::start_relay(
        io, std::move(sock), cfg, [&n](const net::RelayEvent& ev) { n.event(ev); },
        [&result, &stop](socklab::Result<net::RelayOutcome> r) {
            result.emplace(std::move(r));
            stop.cancel();
        });
    io.run();
    if (!result)
        return relay_exit(socklab::make_error(std::errc::operation_canceled, "relay"), n.peer());
    return relay_exit(*result, n.peer());
}

socklab::Result<std::vector<net::SockAddr>> target(const Options& o, bool passive) {
    if (o.proto == net::Proto::unix_stream) {
        auto a = net::unix_address(o.unix_path);
        if (!a) return a.error();
        return std::vector<net::SockAddr>{*a};
    }
    auto r = net::resolve(o.host, o.port, o.want, o.numeric, passive, o.proto);
    if (!r) return socklab::Error{r.error().code, fmt::format("{}", o.host)};
    return r;
}

int run_scan(const Options& o, int stop_fd) {
    auto addrs = net::resolve(o.host, 0, o.want, o.numeric, false, o.proto);
    if (!addrs) {
        print_error(addrs.error());
        return 1;
    }
    bool any = false;
    bool first = true;
    for (const auto& range : o.ranges) {
        for (unsigned port = range.first; port <= range.last; ++port) {
            // -i: paced on purpose; a stop signal ends the scan at once.
            if (!first && o.relay.line_interval.count() > 0 &&
                stop_within(stop_fd, o.relay.line_interval))
                return any ? 0 : 1;
            if (app::StopSignals::requested()) return any ? 0 : 1;
            first = false;
            auto with_port = *addrs;
            for (auto& a : with_port)
                a.set_port(static_cast<std::uint16_t>(port));
            auto c = net::connect_to(with_port, o.proto, o.sock, o.source, o.timeout, stop_fd);
            if (!c && c.error().code == std::errc::operation_canceled) return any ? 0 : 1;
            if (c) {
                any = true;
                print_connected(o, c->get(), static_cast<std::uint16_t>(port));
            } else if (o.verbose) {
                print_error(c.error());
            }
        }
    }
    return any ? 0 : 1;
}

int run_connect(const Options& o, int hexdump_fd, int stop_fd) {
    auto addrs = target(o, false);
    if (!addrs) {
        print_error(addrs.error());
        return 1;
    }
    auto sock = net::connect_to(*addrs, o.proto, o.sock, o.source, o.timeout, stop_fd);
    if (!sock && sock.error().code == std::errc::operation_canceled) return 0;  // a stop signal
    if (!sock) {
        print_error(sock.error());
        return 1;
    }
    print_connected(o, sock->get(), o.port);
    return serve_one(o, std::move(*sock), socklab::TcpState::syn_sent, "connected", hexdump_fd,
                     stop_fd);
}

/// Opens the listener on the first address that binds; prints "Listening on".
socklab::Result<socklab::Fd> listen_on(const Options& o) {
    auto addrs = target(o, true);
    if (!addrs) return addrs.error();
    std::optional<socklab::Error> first_error;
    net::SocketOptions sock = o.sock;
    sock.v6only = o.want == net::Want::v6;  // -6 -l: IPv6 clients only, as sockcat(1) says
    for (const auto& a : *addrs) {
        auto fd = net::open_listener(a, o.proto, sock);
        if (!fd) {
            if (!first_error) first_error = fd.error();
            continue;
        }
        if (o.verbose) {
            // nc's words: a UDP socket is "Bound on", a unix listener says both.
            const auto bound = net::local_address(fd->get());
            if (o.proto == net::Proto::unix_stream)
                fmt::print(stderr, "Bound on {}\nListening on {}\n", o.unix_path, o.unix_path);
            else if (bound)
                fmt::print(stderr, "{} on {} {}\n",
                           o.proto == net::Proto::udp ? "Bound" : "Listening",
                           net::host_name(*bound, o.numeric), bound->port());
        }
        if (o.show_state) {
            const auto bound = net::local_address(fd->get());
            fmt::print(stderr, "sockcat: {} CLOSED -> {} (listening)\n",
                       bound ? bound->to_string() : "?", state_label(net::tcp_state(fd->get())));
        }
        return fd;
    }
    return *first_error;
}

/// nc -v's "Connection received on NAME PORT" (the peer's name unless -n).
void print_received(const Options& o, const socklab::Result<net::SockAddr>& peer) {
    if (!o.verbose) return;
    if (o.proto == net::Proto::unix_stream)
        fmt::print(stderr, "Connection received on {}\n", o.unix_path);
    else if (peer)
        fmt::print(stderr, "Connection received on {} {}\n", net::host_name(*peer, o.numeric),
                   peer->port());
}

void print_received(const Options& o, int fd) {
    if (o.verbose) print_received(o, net::peer_address(fd));
}

/// --no-accept: the listener stays, nobody is accepted; ends by --hold or a signal.
int hold_listener(const Options& o, int stop_fd) {
    (void)stop_within(stop_fd,
                      o.relay.hold.count() > 0 ? o.relay.hold : std::chrono::nanoseconds(-1));
    return 0;
}

/// accept(2) errors that mean "no fd or memory for the new socket now": the client stays
/// queued and the listener stays readable, so retrying at once would spin.
bool out_of_fds(const std::error_code& ec) {
    return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
           ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

/// How long a -k server stops watching its listener after accept ran out of fds, unless a
/// session ends first (which frees fds).
constexpr std::chrono::milliseconds accept_backoff{250};

/// -k: accept forever, one relay per client, all in one io_context. Ends on a stop
/// signal, on --on-peer-close=exit, or when stdout goes away (`sockcat -lk | head -c 10`:
/// later clients' data would have nowhere to go).
int serve_many(const Options& o, socklab::Fd listener, int hexdump_fd, int stop_fd) {
    asio::io_context io;
    Descriptor watch(io, listener.release());
    asio::steady_timer backoff(io);
    std::vector<net::RelayHandle> sessions;
    bool stopping = false;
    bool paused = false;    // accept ran out of fds: the listener is not watched for now
    bool said_fds = false;  // the fd-limit line is said once
    std::function<void()> exit_all;
    StopWatch stop(io, stop_fd, [&exit_all] { exit_all(); });
    // Whoever reads our stdout going away ends the server even while no client sends:
    // pipe_poll() reports EPOLLERR on a write end without readers (fs/pipe.c).
    Descriptor out_watch(io);
    struct stat st {};
    const bool pipe_out =
        ::fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    if (pipe_out && o.write_stdout && o.relay.service == net::Service::stdio) {
        std::error_code ec;
        if (const int dup = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3); dup >= 0) {
            out_watch.assign(dup, ec);
            if (ec) ::close(dup);
        }
    }
    exit_all = [&] {
        if (stopping) return;
        stopping = true;
        for (const auto& h : sessions)
            h.stop();
        std::error_code ignored;
        watch.close(ignored);
        out_watch.close(ignored);
        backoff.cancel();
        stop.cancel();
    };
    std::function<void(const std::error_code&)> on_ready;
    auto resume = [&] {
        if (!paused || stopping) return;
        paused = false;
        backoff.cancel();
        watch.async_wait(Descriptor::wait_read, on_ready);
    };
    on_ready = [&](const std::error_code& ec) {
        if (ec || stopping) return;
        for (;;) {
            auto sock = net::accept_from(watch.native_handle());
            if (!sock && out_of_fds(sock.error().code)) {
                if (!said_fds)
                    fmt::print(stderr,
                               "sockcat: accept: {}; new clients wait until a session ends\n",
                               app::reason(sock.error().code));
                said_fds = true;
                paused = true;
                backoff.expires_after(accept_backoff);
                backoff.async_wait([&resume](const std::error_code& e) {
                    if (!e) resume();
                });
                return;
            }
            if (!sock) {
                if (sock.error().code != std::errc::resource_unavailable_try_again)
                    print_error(sock.error());
                break;
            }
            print_received(o, sock->get());
            auto n = std::make_shared<Narrator>(o, sock->get(), socklab::TcpState::syn_recv);
            n->state(net::tcp_state(sock->get()), "accepted");
            std::erase_if(sessions, [](const net::RelayHandle& h) { return !h.running(); });
            sessions.push_back(net::start_relay(
                io, std::move(*sock), relay_config(o, hexdump_fd),
                [n, &io, &exit_all](const net::RelayEvent& ev) {
                    n->event(ev);
                    if (ev.kind == net::RelayEventKind::output_closed)
                        asio::post(io, [&exit_all] { exit_all(); });
                },
                [n, &io, &exit_all, &resume](socklab::Result<net::RelayOutcome> r) {
                    relay_exit(r, n->peer());
                    if (r && r->exit_program) asio::post(io, [&exit_all] { exit_all(); });
                    asio::post(io, resume);  // its fds are free now
                }));
        }
        watch.async_wait(Descriptor::wait_read, on_ready);
    };
    watch.async_wait(Descriptor::wait_read, on_ready);
    if (out_watch.is_open())
        out_watch.async_wait(Descriptor::wait_error, [&exit_all](const std::error_code& ec) {
            if (!ec) exit_all();
        });
    io.run();
    return 0;
}

int run_listen(const Options& o, int hexdump_fd, int stop_fd) {
    auto listener = listen_on(o);
    if (!listener) {
        print_error(listener.error());
        return 1;
    }
    const std::string unix_path = o.proto == net::Proto::unix_stream ? o.unix_path : "";
    struct Unlink {
        std::string path;
        ~Unlink() {
            if (!path.empty()) ::unlink(path.c_str());
        }
    } unlink_at_exit{unix_path};
    if (o.no_accept) return hold_listener(o, stop_fd);
    if (o.keep) return serve_many(o, std::move(*listener), hexdump_fd, stop_fd);
    if (o.proto == net::Proto::udp) {
        auto peer = net::udp_accept(listener->get(), std::chrono::nanoseconds(0), stop_fd);
        if (!peer && peer.error().code == std::errc::operation_canceled) return 0;
        if (!peer) {
            print_error(peer.error());
            return 1;
        }
        print_received(o, peer);
        return serve_one(o, std::move(*listener), socklab::TcpState::close, "received", hexdump_fd,
                         stop_fd);
    }
    asio::io_context io;
    Descriptor watch(io, listener->release());
    std::optional<socklab::Result<socklab::Fd>> got;
    StopWatch stop(io, stop_fd, [&watch] {
        std::error_code ignored;
        watch.close(ignored);
    });
    std::function<void(const std::error_code&)> on_ready = [&](const std::error_code& ec) {
        if (ec) return;  // closed by a stop signal
        auto sock = net::accept_from(watch.native_handle());
        if (!sock && sock.error().code == std::errc::resource_unavailable_try_again) {
            watch.async_wait(Descriptor::wait_read, on_ready);
            return;
        }
        got.emplace(std::move(sock));
        stop.cancel();
    };
    watch.async_wait(Descriptor::wait_read, on_ready);
    io.run();
    if (!got) return 0;  // a stop signal: main() dies by it after this cleanup
    // nc closes the listener once it has its one client: later SYNs are refused.
    std::error_code ignored;
    watch.close(ignored);
    if (!got || !*got) {
        print_error(got ? got->error() : socklab::make_error(std::errc::io_error, "accept"));
        return 1;
    }
    print_received(o, (*got)->get());
    return serve_one(o, std::move(**got), socklab::TcpState::syn_recv, "accepted", hexdump_fd,
                     stop_fd);
}

int run(const Options& o, int stop_fd) {
    socklab::Fd hexdump;
    if (o.hexdump_path) {
        hexdump.reset(
            ::open(o.hexdump_path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!hexdump) {
            print_error(socklab::errno_error(*o.hexdump_path));
            return 1;
        }
    }
    if (o.scan) return run_scan(o, stop_fd);
    if (o.listen) return run_listen(o, hexdump.get(), stop_fd);
    return run_connect(o, hexdump.get(), stop_fd);
}

int main_body(int argc, char** argv) {
    auto parsed = parse_command_line(argc, argv, ::isatty(STDIN_FILENO) == 1);
    if (auto* exit = std::get_if<Exit>(&parsed)) return report(*exit);
    auto signals = app::StopSignals::install();
    if (!signals) {
        app::error_line("sockcat", "signals",
                        app::reason(std::error_code(errno, std::system_category())));
        return app::exit_runtime;
    }
    return run(std::get<Options>(parsed), signals->fd());
}

/// After a stop signal and our cleanup (sockets closed, the unix socket file removed),
/// die by that signal as nc does: a shell shows 128+N (130 after ^C, 143 after SIGTERM)
/// and a `while sockcat ...` loop stops at ^C. StopSignals has restored SIG_DFL by now.
void die_by_stop_signal() {
    const int sig = app::StopSignals::signal_number();
    if (sig == 0) return;
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

}  // namespace
}  // namespace sockcat

int main(int argc, char** argv) {
    // First of all: fds 0-2 open (/dev/null where closed), or the connected socket would
    // become our stdout and the peer's data would go straight back to the peer.
    if (!socklab::app::ensure_std_fds()) return socklab::app::exit_runtime;
    // A peer or stdout going away must be an error code we handle, not a signal death.
    ::signal(SIGPIPE, SIG_IGN);
    const int rc = socklab::app::guarded("sockcat", [&] { return sockcat::main_body(argc, argv); });
    sockcat::die_by_stop_signal();
    return rc;
}
