// sockcat: nc-style connect/listen with exact control of how each connection closes.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cstdio>

#include "app.hpp"
#include "options.hpp"

namespace sockcat {
namespace {

namespace app = socklab::app;

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

/// Prints a session's end: a reset or I/O error is one line; true when it failed.
bool session_failed(const socklab::Result<net::RelayOutcome>& r, const std::string& peer) {
    if (r) return false;
    socklab::Error e = r.error();
    if (e.context == "connection") e.context = peer;
    print_error(e);
    return true;
}

net::RelayConfig relay_config(const Options& o, int hexdump_fd) {
    net::RelayConfig c = o.relay;
    c.in_fd = o.read_stdin ? STDIN_FILENO : -1;
    c.out_fd = o.write_stdout ? STDOUT_FILENO : -1;
    c.hexdump_fd = hexdump_fd;
    return c;
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

/// nc -v's "Connection received on NAME PORT" (the peer's name unless -n).
void print_received(const Options& o, const std::optional<net::SockAddr>& peer) {
    if (!o.verbose) return;
    if (o.proto == net::Proto::unix_stream)
        fmt::print(stderr, "Connection received on {}\n", o.unix_path);
    else if (peer)
        fmt::print(stderr, "Connection received on {} {}\n", net::host_name(*peer, o.numeric),
                   peer->port());
}

/// One connection as sockcat narrates it; `failed` is set when it ends in an error.
/// `own_stdout`: the session gets stdout to itself and closes it at the peer's FIN.
net::Session session(const Options& o, const net::SessionStart& s, int hexdump_fd, bool own_stdout,
                     bool& failed) {
    if (s.kind == net::SessionKind::connected)
        print_connected(o, s.fd, o.port);
    else
        print_received(o, s.peer);
    auto n = std::make_shared<Narrator>(o, s.fd, s.before);
    n->state(s.now, s.why);
    net::Session out{relay_config(o, hexdump_fd), [n](const net::RelayEvent& ev) { n->event(ev); },
                     [n, &failed](const socklab::Result<net::RelayOutcome>& r) {
                         failed = session_failed(r, n->peer()) || failed;
                     }};
    if (own_stdout && out.config.out_fd >= 0) {
        if (const int own = detach_stdout(); own >= 0) {
            out.config.out_fd = own;
            out.config.own_out_fd = true;
        }
    }
    return out;
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
    const net::ScanSpec spec{
        *addrs, o.ranges, o.proto, o.sock, o.source, o.timeout, o.relay.line_interval};
    const bool any = net::scan_ports(
        spec,
        [&o](std::uint16_t port, const socklab::Result<socklab::Fd>& c) {
            if (c)
                print_connected(o, c->get(), port);
            else if (o.verbose)
                print_error(c.error());
        },
        stop_fd);
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
    bool failed = false;
    net::serve_connection(
        std::move(*sock), net::SessionKind::connected,
        [&](const net::SessionStart& s) { return session(o, s, hexdump_fd, true, failed); },
        stop_fd);
    return failed ? 1 : 0;
}

/// Opens the listener on the first address that binds; prints "Listening on".
socklab::Result<socklab::Fd> listen_on(const Options& o) {
    auto addrs = target(o, true);
    if (!addrs) return addrs.error();
    net::SocketOptions sock = o.sock;
    sock.v6only = o.want == net::Want::v6;  // -6 -l: IPv6 clients only, as sockcat(1) says
    auto fd = net::open_first_listener(*addrs, o.proto, sock);
    if (!fd) return fd;
    const auto bound = net::local_address(fd->get());
    if (o.verbose) {
        // nc's words: a UDP socket is "Bound on", a unix listener says both.
        if (o.proto == net::Proto::unix_stream)
            fmt::print(stderr, "Bound on {}\nListening on {}\n", o.unix_path, o.unix_path);
        else if (bound)
            fmt::print(stderr, "{} on {} {}\n", o.proto == net::Proto::udp ? "Bound" : "Listening",
                       net::host_name(*bound, o.numeric), bound->port());
    }
    if (o.show_state)
        fmt::print(stderr, "sockcat: {} CLOSED -> {} (listening)\n",
                   bound ? bound->to_string() : "?", state_label(net::tcp_state(fd->get())));
    return fd;
}

/// -k: one narrated session per client; the fd-limit line is said once.
int serve_many(const Options& o, socklab::Fd listener, int hexdump_fd, int stop_fd) {
    bool failed = false;
    bool said_fds = false;
    net::ClientsHooks hooks;
    hooks.on_session = [&](const net::SessionStart& s) {
        return session(o, s, hexdump_fd, false, failed);
    };
    hooks.on_accept_error = [&said_fds](const socklab::Error& e) {
        if (!net::out_of_fds(e.code))
            print_error(e);
        else if (!std::exchange(said_fds, true))
            fmt::print(stderr, "sockcat: accept: {}; new clients wait until a session ends\n",
                       app::reason(e.code));
    };
    // Whoever reads our stdout going away ends the server even while no client sends.
    struct stat st {};
    const bool pipe_out =
        ::fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    if (pipe_out && o.write_stdout && o.relay.service == net::Service::stdio)
        hooks.end_on_error_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    net::serve_clients(std::move(listener), hooks, stop_fd);
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
    if (o.no_accept) {
        // --no-accept: the listener stays, nobody is accepted; ends by --hold or a signal.
        (void)net::wait_for_stop(
            stop_fd, o.relay.hold.count() > 0 ? o.relay.hold : std::chrono::nanoseconds(-1));
        return 0;
    }
    if (o.keep) return serve_many(o, std::move(*listener), hexdump_fd, stop_fd);
    bool failed = false;
    auto r = net::serve_first(
        std::move(*listener), o.proto,
        [&](const net::SessionStart& s) { return session(o, s, hexdump_fd, true, failed); },
        stop_fd);
    if (!r) print_error(r.error());
    return !r || failed ? 1 : 0;
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
