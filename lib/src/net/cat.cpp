// net: sockcat's run: connect, listen or scan, narrated in nc's words through the caller.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "socklab/net.hpp"

namespace socklab::net {
namespace {

std::string state_label(std::optional<TcpState> s) {
    if (!s) return "CLOSED";
    return std::string(state_info(display_state(*s)).label);
}

/// Narrates one connection for --show-state.
class Narrator {
  public:
    Narrator(const CatOptions& o, const CatHooks& h, int fd, TcpState before)
        : show_(o.show_state), say_(h.say), last_(before) {
        const auto local = local_address(fd);
        const auto peer = peer_address(fd);
        local_ = local ? local->to_string() : "?";
        peer_ = peer ? peer->to_string() : "*";
    }

    void state(std::optional<TcpState> now, std::string_view why) {
        if (!show_) return;
        say_(state_line(local_, peer_, last_, now, why));
        last_ = now;
    }

    [[nodiscard]] const std::string& peer() const { return peer_; }

  private:
    bool show_;
    std::function<void(std::string_view)> say_;
    std::string local_, peer_;
    std::optional<TcpState> last_;
};

/// One run's fixed parts: what was asked, where its words go, the -o file, the stop pipe.
struct Run {
    const CatOptions& o;
    const CatHooks& hooks;
    int hexdump_fd;
    int stop_fd;
    bool failed = false;

    void say_connected(int fd, std::uint16_t port) const {
        if (!o.verbose) return;
        const auto peer = peer_address(fd);
        hooks.say(connected_line(o, peer ? peer->host() : "", port, service_name(port, o.proto)));
    }

    void say_received(const std::optional<SockAddr>& peer) const {
        if (!o.verbose || (o.proto != Proto::unix_stream && !peer)) return;
        hooks.say(o.proto == Proto::unix_stream
                      ? received_line(o, "", 0)
                      : received_line(o, host_name(*peer, o.numeric), peer->port()));
    }

    [[nodiscard]] RelayConfig relay_config() const {
        RelayConfig c = o.relay;
        c.in_fd = o.read_stdin ? hooks.in_fd : -1;
        c.out_fd = o.write_stdout ? hooks.out_fd : -1;
        c.hexdump_fd = hexdump_fd;
        return c;
    }

    /// One connection as sockcat narrates it. `own_out`: the session gets the output to
    /// itself and closes it at the peer's FIN.
    Session session(const SessionStart& s, bool own_out) {
        if (s.kind == SessionKind::connected)
            say_connected(s.fd, o.port);
        else
            say_received(s.peer);
        auto n = std::make_shared<Narrator>(o, hooks, s.fd, s.before);
        n->state(s.now, s.why);
        Session out{relay_config(), [n](const RelayEvent& ev) { n->state(ev.state, ev.why); },
                    [this, n](const Result<RelayOutcome>& r) {
                        if (r) return;
                        Error e = r.error();
                        if (e.context == "connection") e.context = n->peer();
                        hooks.error(e);
                        failed = true;
                    }};
        if (own_out && out.config.out_fd >= 0) {
            if (const int own = detach_fd(out.config.out_fd); own >= 0) {
                out.config.out_fd = own;
                out.config.own_out_fd = true;
            }
        }
        return out;
    }

    [[nodiscard]] Result<std::vector<SockAddr>> target(bool passive) const {
        if (o.proto == Proto::unix_stream) {
            auto a = unix_address(o.unix_path);
            if (!a) return a.error();
            return std::vector<SockAddr>{*a};
        }
        auto r = resolve(o.host, o.port, o.want, o.numeric, passive, o.proto);
        if (!r) return Error{r.error().code, o.host};
        return r;
    }

    int fail(const Error& e) const {
        hooks.error(e);
        return exit_runtime;
    }

    int scan() const {
        auto addrs = resolve(o.host, 0, o.want, o.numeric, false, o.proto);
        if (!addrs) return fail(addrs.error());
        const ScanSpec spec{
            *addrs, o.ranges, o.proto, o.sock, o.source, o.timeout, o.relay.line_interval};
        const bool any = scan_ports(
            spec,
            [this](std::uint16_t port, const Result<Fd>& c) {
                if (c)
                    say_connected(c->get(), port);
                else if (o.verbose)
                    hooks.error(c.error());
            },
            stop_fd);
        return any ? exit_ok : exit_runtime;
    }

    int connect() {
        auto addrs = target(false);
        if (!addrs) return fail(addrs.error());
        auto sock = connect_to(*addrs, o.proto, o.sock, o.source, o.timeout, stop_fd);
        if (!sock && sock.error().code == std::errc::operation_canceled) return exit_ok;
        if (!sock) return fail(sock.error());
        serve_connection(
            std::move(*sock), SessionKind::connected,
            [this](const SessionStart& s) { return session(s, true); }, stop_fd);
        return failed ? exit_runtime : exit_ok;
    }

    /// Opens the listener on the first address that binds; says "Listening on".
    [[nodiscard]] Result<Fd> listener() const {
        auto addrs = target(true);
        if (!addrs) return addrs.error();
        SocketOptions sock = o.sock;
        sock.v6only = o.want == Want::v6;  // -6 -l: IPv6 clients only, as sockcat(1) says
        auto fd = open_first_listener(*addrs, o.proto, sock);
        if (!fd) return fd;
        const auto bound = local_address(fd->get());
        if (o.verbose && o.proto == Proto::unix_stream)
            hooks.say(listening_lines(o, "", 0));
        else if (o.verbose && bound)
            hooks.say(listening_lines(o, host_name(*bound, o.numeric), bound->port()));
        if (o.show_state)
            hooks.say(listening_state_line(bound ? bound->to_string() : "?", tcp_state(fd->get())));
        return fd;
    }

    /// -k: one narrated session per client; the fd-limit line is said once.
    int serve_many(Fd listen_fd) {
        bool said_fds = false;
        ClientsHooks h;
        h.on_session = [this](const SessionStart& s) { return session(s, false); };
        h.on_accept_error = [this, &said_fds](const Error& e) {
            if (!out_of_fds(e.code))
                hooks.error(e);
            else if (!std::exchange(said_fds, true))
                hooks.say(fd_limit_line(e.code));
        };
        // Whoever reads our output going away ends the server even while no client sends.
        struct stat st {};
        const bool pipe_out =
            ::fstat(hooks.out_fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
        if (pipe_out && o.write_stdout && o.relay.service == Service::stdio)
            h.end_on_error_fd = ::fcntl(hooks.out_fd, F_DUPFD_CLOEXEC, 3);
        serve_clients(std::move(listen_fd), h, stop_fd);
        return exit_ok;
    }

    int listen() {
        auto fd = listener();
        if (!fd) return fail(fd.error());
        struct Unlink {
            std::string path;
            ~Unlink() {
                if (!path.empty()) ::unlink(path.c_str());
            }
        } unlink_at_exit{o.proto == Proto::unix_stream ? o.unix_path : ""};
        if (o.no_accept) {
            // --no-accept: the listener stays, nobody is accepted; ends by --hold or a signal.
            (void)wait_for_stop(stop_fd, o.relay.hold.count() > 0 ? o.relay.hold : nanoseconds(-1));
            return exit_ok;
        }
        if (o.keep) return serve_many(std::move(*fd));
        auto r = serve_first(
            std::move(*fd), o.proto, [this](const SessionStart& s) { return session(s, true); },
            stop_fd);
        if (!r) hooks.error(r.error());
        return !r || failed ? exit_runtime : exit_ok;
    }
};

}  // namespace

std::string connected_line(const CatOptions& o, std::string_view peer_host, std::uint16_t port,
                           std::string_view service) {
    if (o.proto == Proto::unix_stream)
        return fmt::format("Connection to {} succeeded!\n", o.unix_path);
    const std::string also = !o.numeric && !peer_host.empty() && peer_host != o.host
                                 ? fmt::format(" ({})", peer_host)
                                 : "";
    return fmt::format("Connection to {}{} {} port [{}/{}] succeeded!\n", o.host, also, port,
                       o.proto == Proto::udp ? "udp" : "tcp", service);
}

std::string received_line(const CatOptions& o, std::string_view name, std::uint16_t port) {
    if (o.proto == Proto::unix_stream)
        return fmt::format("Connection received on {}\n", o.unix_path);
    return fmt::format("Connection received on {} {}\n", name, port);
}

std::string listening_lines(const CatOptions& o, std::string_view name, std::uint16_t port) {
    // nc's words: a UDP socket is "Bound on", a unix listener says both.
    if (o.proto == Proto::unix_stream)
        return fmt::format("Bound on {}\nListening on {}\n", o.unix_path, o.unix_path);
    return fmt::format("{} on {} {}\n", o.proto == Proto::udp ? "Bound" : "Listening", name, port);
}

std::string state_line(std::string_view local, std::string_view peer, std::optional<TcpState> from,
                       std::optional<TcpState> to, std::string_view why) {
    return fmt::format("sockcat: {} -> {} {} -> {} ({})\n", local, peer, state_label(from),
                       state_label(to), why);
}

std::string listening_state_line(std::string_view local, std::optional<TcpState> now) {
    return fmt::format("sockcat: {} CLOSED -> {} (listening)\n", local, state_label(now));
}

std::string fd_limit_line(const std::error_code& ec) {
    return fmt::format("sockcat: accept: {}; new clients wait until a session ends\n", reason(ec));
}

int detach_fd(int fd) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return -1;
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, fd) < 0) {
        if (null >= 0) ::close(null);
        ::close(copy);
        return -1;
    }
    ::close(null);
    return copy;
}

int run_cat(const CatOptions& o, const CatHooks& hooks, int stop_fd) {
    Fd hexdump;
    if (o.hexdump_path) {
        hexdump.reset(
            ::open(o.hexdump_path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!hexdump) {
            hooks.error(errno_error(*o.hexdump_path));
            return exit_runtime;
        }
    }
    Run run{o, hooks, hexdump.get(), stop_fd};
    if (o.scan) return run.scan();
    if (o.listen) return run.listen();
    return run.connect();
}

}  // namespace socklab::net
