// sockcat: nc-style connect/listen with exact control of how each connection closes.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstdio>
#include <thread>

#include "app.hpp"
#include "options.hpp"

namespace sockcat {
namespace {

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

/// Runs one relay on an accepted or connected socket; returns the exit code.
int serve_one(const Options& o, socklab::Fd sock, socklab::TcpState before, std::string_view why,
              int hexdump_fd) {
    Narrator n(o, sock.get(), before);
    n.state(net::tcp_state(sock.get()), why);
    const auto r = net::run_relay(std::move(sock), relay_config(o, hexdump_fd),
                                  [&n](const net::RelayEvent& ev) { n.event(ev); });
    return relay_exit(r, n.peer());
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

int run_scan(const Options& o) {
    auto addrs = net::resolve(o.host, 0, o.want, o.numeric, false, o.proto);
    if (!addrs) {
        print_error(addrs.error());
        return 1;
    }
    bool any = false;
    bool first = true;
    for (const auto& range : o.ranges) {
        for (unsigned port = range.first; port <= range.last; ++port) {
            if (!first && o.relay.line_interval.count() > 0)
                std::this_thread::sleep_for(o.relay.line_interval);  // -i: paced on purpose
            first = false;
            auto with_port = *addrs;
            for (auto& a : with_port)
                a.set_port(static_cast<std::uint16_t>(port));
            auto c = net::connect_to(with_port, o.proto, o.sock, o.source, o.timeout);
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

int run_connect(const Options& o, int hexdump_fd) {
    auto addrs = target(o, false);
    if (!addrs) {
        print_error(addrs.error());
        return 1;
    }
    auto sock = net::connect_to(*addrs, o.proto, o.sock, o.source, o.timeout);
    if (!sock) {
        print_error(sock.error());
        return 1;
    }
    print_connected(o, sock->get(), o.port);
    return serve_one(o, std::move(*sock), socklab::TcpState::syn_sent, "connected", hexdump_fd);
}

/// Opens the listener on the first address that binds; prints "Listening on".
socklab::Result<socklab::Fd> listen_on(const Options& o) {
    auto addrs = target(o, true);
    if (!addrs) return addrs.error();
    std::optional<socklab::Error> first_error;
    for (const auto& a : *addrs) {
        auto fd = net::open_listener(a, o.proto, o.sock);
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
int hold_listener(const Options& o) {
    if (o.relay.hold.count() > 0) {
        std::this_thread::sleep_for(o.relay.hold);
        return 0;
    }
    for (;;)
        ::pause();
}

/// -k: accept forever, one relay per client, all in one io_context.
int serve_many(const Options& o, socklab::Fd listener, int hexdump_fd) {
    asio::io_context io;
    asio::posix::stream_descriptor watch(io, listener.release());
    std::vector<net::RelayHandle> sessions;
    // --on-peer-close=exit: end every session and stop listening; io.run() then returns.
    auto exit_all = [&] {
        for (const auto& h : sessions)
            h.stop();
        std::error_code ignored;
        watch.close(ignored);
    };
    std::function<void(const std::error_code&)> on_ready;
    on_ready = [&](const std::error_code& ec) {
        if (ec) return;
        for (;;) {
            auto sock = net::accept_from(watch.native_handle());
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
                [n](const net::RelayEvent& ev) { n->event(ev); },
                [n, &io, &exit_all](socklab::Result<net::RelayOutcome> r) {
                    relay_exit(r, n->peer());
                    if (r && r->exit_program) asio::post(io, exit_all);
                }));
        }
        watch.async_wait(asio::posix::stream_descriptor::wait_read, on_ready);
    };
    watch.async_wait(asio::posix::stream_descriptor::wait_read, on_ready);
    io.run();
    return 0;
}

int run_listen(const Options& o, int hexdump_fd) {
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
    if (o.no_accept) return hold_listener(o);
    if (o.keep) return serve_many(o, std::move(*listener), hexdump_fd);
    if (o.proto == net::Proto::udp) {
        auto peer = net::udp_accept(listener->get(), std::chrono::nanoseconds(0));
        if (!peer) {
            print_error(peer.error());
            return 1;
        }
        print_received(o, peer);
        return serve_one(o, std::move(*listener), socklab::TcpState::close, "received", hexdump_fd);
    }
    asio::io_context io;
    asio::posix::stream_descriptor watch(io, listener->release());
    std::optional<socklab::Result<socklab::Fd>> got;
    std::function<void(const std::error_code&)> on_ready = [&](const std::error_code& ec) {
        auto sock = net::accept_from(watch.native_handle());
        if (!ec && !sock && sock.error().code == std::errc::resource_unavailable_try_again) {
            watch.async_wait(asio::posix::stream_descriptor::wait_read, on_ready);
            return;
        }
        got.emplace(std::move(sock));
    };
    watch.async_wait(asio::posix::stream_descriptor::wait_read, on_ready);
    io.run();
    // nc closes the listener once it has its one client: later SYNs are refused.
    std::error_code ignored;
    watch.close(ignored);
    if (!got || !*got) {
        print_error(got ? got->error() : socklab::make_error(std::errc::io_error, "accept"));
        return 1;
    }
    print_received(o, (*got)->get());
    return serve_one(o, std::move(**got), socklab::TcpState::syn_recv, "accepted", hexdump_fd);
}

int run(const Options& o) {
    socklab::Fd hexdump;
    if (o.hexdump_path) {
        hexdump.reset(
            ::open(o.hexdump_path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!hexdump) {
            print_error(socklab::errno_error(*o.hexdump_path));
            return 1;
        }
    }
    if (o.scan) return run_scan(o);
    if (o.listen) return run_listen(o, hexdump.get());
    return run_connect(o, hexdump.get());
}

}  // namespace
}  // namespace sockcat

int main(int argc, char** argv) {
    // A peer or stdout going away must be an error code we handle, not a signal death.
    ::signal(SIGPIPE, SIG_IGN);
    auto parsed = sockcat::parse_command_line(argc, argv, ::isatty(STDIN_FILENO) == 1);
    if (auto* exit = std::get_if<sockcat::Exit>(&parsed)) return sockcat::report(*exit);
    try {
        return sockcat::run(std::get<sockcat::Options>(parsed));
    } catch (const std::exception& e) {
        fmt::print(stderr, "sockcat: {}\n", e.what());
        return 1;
    }
}
