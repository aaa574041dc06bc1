// lab: the recipes — how plain POSIX sockets are driven into each TCP state.
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>

#include "lab/scenario_impl.hpp"

namespace socklab::lab::detail {
namespace {

// A receive buffer this small (the kernel doubles it to 8 KB) is the window a
// reader that never reads will advertise; it must be set before listen() or
// connect(), because the window scale is fixed in the SYN (RFC 7323 section 2.2).
constexpr int small_rcvbuf = 4096;
// A large fixed send buffer (no autotuning) so that far more is queued than the
// small window takes: the FIN queued after it cannot leave.
constexpr int large_sndbuf = 262144;
// Longer than any hold: TCP_DEFER_ACCEPT keeps the request socket this long.
constexpr int defer_accept_secs = 3600;

struct Listener {
    Fd fd;
    Endpoint at;
};

struct Connection {
    Fd client;
    Fd server;
    Endpoint client_at;
    Endpoint server_at;
};

struct ListenOptions {
    int backlog = 128;
    int rcvbuf = 0;  ///< 0: the default
    int defer_accept = 0;
};

Result<Listener> open_listener(Family family, const ListenOptions& o) {
    net::SocketOptions opts;
    opts.reuseaddr = true;
    if (o.rcvbuf > 0) opts.rcvbuf = o.rcvbuf;
    if (o.defer_accept > 0) opts.defer_accept_s = static_cast<unsigned>(o.defer_accept);
    opts.backlog = o.backlog;
    auto fd = net::open_listener(loopback(family), net::Proto::tcp, opts);
    if (!fd) return fd.error();
    auto at = local_endpoint(*fd);
    if (!at) return at.error();
    return Listener{std::move(fd.value()), *at};
}

/// A client socket (SO_RCVBUF first when `rcvbuf` > 0) whose connect has started.
Result<Fd> start_client(const Listener& l, Family family, int rcvbuf = 0) {
    net::SocketOptions opts;
    if (rcvbuf > 0) opts.rcvbuf = rcvbuf;
    auto fd = net::open_socket(family == Family::inet6 ? AF_INET6 : AF_INET, net::Proto::tcp, opts);
    if (!fd) return fd.error();
    if (auto r = net::start_connect(fd->get(), net::to_sockaddr(l.at)); !r) return r.error();
    return fd;
}

/// Connects a client and, unless `accept` is false, accepts its server side.
Result<Connection> open_connection(const Listener& l, Family family, Deadline deadline,
                                   int client_rcvbuf = 0, bool accept = true) {
    Connection c;
    auto fd = start_client(l, family, client_rcvbuf);
    if (!fd) return fd.error();
    c.client = std::move(fd.value());
    if (auto r = wait_state(c.client, TcpState::established, deadline, "client"); !r)
        return r.error();
    auto local = local_endpoint(c.client);
    if (!local) return local.error();
    c.client_at = *local;
    c.server_at = l.at;
    if (accept) {
        auto server = accept_before(l.fd, deadline);
        if (!server) return server.error();
        c.server = std::move(server.value());
    }
    return c;
}

Side side(std::string role, const Endpoint& local, const Endpoint& peer, TcpState expected,
          std::string doing, bool focus = false, Presence presence = Presence::fd) {
    return Side{std::move(role), local, peer, expected, presence, focus, std::move(doing)};
}

Side listener_side(const Listener& l, std::string doing, bool focus = false) {
    Endpoint any;
    any.addr.family = l.at.addr.family;
    return side("listener", l.at, any, TcpState::listen, std::move(doing), focus);
}

/// Where the tiny receive window is: nowhere, on the accepted (server) side, or on
/// the client.
enum class SmallWindow { none, server, client };

/// A listener and one connection to it, accepted.
struct Pair {
    Listener l;
    Connection c;
};

Result<Pair> connected_pair(Family family, Deadline deadline,
                            SmallWindow small = SmallWindow::none) {
    auto l = open_listener(family, {.rcvbuf = small == SmallWindow::server ? small_rcvbuf : 0});
    if (!l) return l.error();
    auto c = open_connection(*l, family, deadline, small == SmallWindow::client ? small_rcvbuf : 0);
    if (!c) return c.error();
    return Pair{std::move(l.value()), std::move(c.value())};
}

/// A fixed SO_SNDBUF (it turns the kernel's autotuning off: socket(7)).
Result<void> set_sndbuf(const Fd& fd, int bytes) {
    net::SocketOptions opts;
    opts.sndbuf = bytes;
    return net::apply_options(fd.get(), opts, net::Proto::tcp);
}

/// Fills the peer's window from `writer` (a large fixed SO_SNDBUF first), then
/// shutdown(SHUT_WR): the FIN is queued behind data the closed window refuses.
Result<void> fin_behind_data(const Fd& writer, Deadline deadline) {
    if (auto r = set_sndbuf(writer, large_sndbuf); !r) return r;
    if (auto n = fill_until_stuck(writer, deadline); !n) return n.error();
    return shut(writer, SHUT_WR);
}

/// What one end of a pair does in a scenario.
struct Role {
    TcpState state;
    std::string doing;
    bool focus = false;
    Presence presence = Presence::fd;
};

/// Records the listener (unless `listener_doing` is empty: it was closed), the
/// client and the server side of a pair.
void add_pair(Scenario::Impl& s, Pair& p, std::string listener_doing, Role client, Role server) {
    if (!listener_doing.empty())
        s.add(listener_side(p.l, std::move(listener_doing)), std::move(p.l.fd));
    s.add(side("client", p.c.client_at, p.l.at, client.state, std::move(client.doing), client.focus,
               client.presence),
          std::move(p.c.client));
    s.add(side("server", p.l.at, p.c.client_at, server.state, std::move(server.doing), server.focus,
               server.presence),
          std::move(p.c.server));
}

/// The client shuts down its sending side: waits for the server's CLOSE_WAIT and for
/// the client's `client_state` (FIN_WAIT_2 once the FIN is ACKed).
Result<void> client_shuts(Pair& p, TcpState client_state, Deadline deadline) {
    if (auto r = shut(p.c.client, SHUT_WR); !r) return r;
    if (auto r = wait_state(p.c.server, TcpState::close_wait, deadline, "server"); !r) return r;
    return wait_state(p.c.client, client_state, deadline, "client");
}

constexpr std::string_view got_fin = "got the FIN and ACKed it; it has not closed yet";

/// How many SYNs (retransmissions included) `from` sent, per the capture.
std::size_t syns_from(Scenario::Impl& s, const Endpoint& from) {
    if (!s.capture || !s.capture->drain()) return 0;
    return static_cast<std::size_t>(std::count_if(
        s.capture->segments().begin(), s.capture->segments().end(), [&](const packet::Segment& g) {
            return g.has(packet::syn) && !g.has(packet::ack) && g.src == from;
        }));
}

/// From now on every segment arriving at `who` is dropped by a socket filter, and
/// the capture marks them so.
Result<void> drop_arriving(Scenario::Impl& s, const Fd& who, const Endpoint& at, std::string why) {
    if (auto r = s.add_rule({at, {}, 0, packet::Fate::dropped, false, std::move(why)}); !r)
        return r;
    return drop_all_input(who);
}

/// Waits until the capture holds a segment to `to` since the last rule began: the
/// answer a socket filter drops (the ACK of a FIN may be delayed by up to 40 ms).
Result<void> wait_answer(Scenario::Impl& s, const Endpoint& to, Deadline deadline) {
    if (!s.capture || s.rules.empty()) return {};
    const std::size_t after = s.rules.back().after;
    const bool seen = wait_until(deadline, [&] {
        if (!s.capture->drain()) return false;
        const auto& g = s.capture->segments();
        return std::any_of(g.begin() + static_cast<std::ptrdiff_t>(std::min(after, g.size())),
                           g.end(), [&](const packet::Segment& x) { return x.dst == to; });
    });
    if (!seen) return make_error(std::errc::timed_out, "the answer to drop never came");
    return {};
}

/// FIN_WAIT_1 with its FIN on the wire: the client's socket filter drops the ACK.
Result<void> build_fin_wait1_wire(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    if (auto r = drop_arriving(s, p->c.client, p->c.client_at, "a socket filter on the client"); !r)
        return r;
    if (auto r = client_shuts(*p, TcpState::fin_wait1, deadline); !r) return r;
    if (auto r = wait_answer(s, p->c.client_at, deadline); !r) return r;
    add_pair(s, *p, "still listening",
             {TcpState::fin_wait1,
              "shutdown(SHUT_WR): its FIN left, and a socket filter on it drops the server's "
              "ACK, so it retransmits the FIN and stays in FIN_WAIT_1",
              true},
             {TcpState::close_wait, std::string(got_fin)});
    return {};
}

/// CLOSING with both FINs on the wire: the server's filter drops all it gets, so its
/// FIN does not acknowledge the client's, and the client's ACK of it is lost.
Result<void> build_closing_wire(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    if (auto r = drop_arriving(s, p->c.server, p->l.at, "a socket filter on the server"); !r)
        return r;
    if (auto r = shut(p->c.client, SHUT_WR); !r) return r;
    if (auto r = wait_state(p->c.client, TcpState::fin_wait1, deadline, "client"); !r) return r;
    if (auto r = shut(p->c.server, SHUT_WR); !r) return r;
    if (auto r = wait_state(p->c.client, TcpState::closing, deadline, "client"); !r) return r;
    if (auto r = wait_state(p->c.server, TcpState::fin_wait1, deadline, "server"); !r) return r;
    add_pair(s, *p, "still listening",
             {TcpState::closing,
              "shutdown(SHUT_WR): its FIN left but never reached the server; then the server's "
              "FIN came, not acknowledging its own: both FINs crossed, and it waits for the ACK",
              true},
             {TcpState::fin_wait1,
              "a socket filter drops all it gets: shutdown(SHUT_WR) sent its FIN without "
              "having seen the client's, and the client's ACK of it never arrives"});
    return {};
}

/// LAST_ACK with the FIN on the wire: the server's filter drops the client's last ACK.
Result<void> build_last_ack_wire(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    if (auto r = client_shuts(*p, TcpState::fin_wait2, deadline); !r) return r;
    if (auto r = drop_arriving(s, p->c.server, p->l.at, "a socket filter on the server"); !r)
        return r;
    if (auto r = shut(p->c.server, SHUT_WR); !r) return r;
    if (auto r = wait_state(p->c.server, TcpState::last_ack, deadline, "server"); !r) return r;
    if (auto r = wait_answer(s, p->l.at, deadline); !r) return r;
    add_pair(s, *p, "still listening",
             {TcpState::time_wait,
              "shut down first (FIN_WAIT_2), then got the server's FIN and sent the last ACK: "
              "TIME_WAIT, held by the kernel",
              false, Presence::kernel_only},
             {TcpState::last_ack,
              "got the client's FIN (CLOSE_WAIT), then shutdown(SHUT_WR): its FIN left, and a "
              "socket filter on it drops the client's last ACK, so it retransmits the FIN",
              true});
    return {};
}

constexpr std::string_view tiny_window =
    "SO_RCVBUF 4096, so accepted sockets advertise a tiny window";

Result<void> build_listen(Scenario::Impl& s, Deadline) {
    auto l = open_listener(s.family, {});
    if (!l) return l.error();
    s.add(listener_side(*l,
                        "called listen(128) and never accept()s: the kernel answers SYNs itself "
                        "and queues completed connections for accept()",
                        true),
          std::move(l->fd));
    return {};
}

Result<void> build_syn_sent(Scenario::Impl& s, Deadline deadline) {
    // listen(0) leaves room for one connection: the kernel drops a SYN when the
    // accept queue is full (sk_acceptq_is_full in tcp_conn_request), silently.
    auto l = open_listener(s.family, {.backlog = 0});
    if (!l) return l.error();
    auto first = open_connection(*l, s.family, deadline, 0, false);
    if (!first) return first.error();
    if (!wait_until(deadline, [&] {
            auto n = net::accept_queue_length(l->fd.get());
            return n && *n >= 1;
        }))
        return make_error(std::errc::timed_out, "the first connection never reached the queue");
    auto second = start_client(*l, s.family);
    if (!second) return second.error();
    if (auto r = wait_state(*second, TcpState::syn_sent, deadline, "second client"); !r)
        return r.error();
    auto second_at = local_endpoint(*second);
    if (!second_at) return second_at.error();
    s.rules.push_back({l->at, *second_at, 0, packet::Fate::ignored, false,
                       "the accept queue is full: the listener drops the SYN"});
    if (s.capture && !wait_until(deadline, [&] { return syns_from(s, *second_at) >= 2; }))
        return make_error(std::errc::timed_out, "no SYN retransmission of the second client seen");
    s.add(listener_side(*l, "listen(0), never accept()s: its accept queue holds one connection"),
          std::move(l->fd));
    s.add(side("first client", first->client_at, l->at, TcpState::established,
               "connected: its connection fills the listener's accept queue"),
          std::move(first->client));
    s.add(side("queued server side", l->at, first->client_at, TcpState::established,
               "completed by the kernel, waits in the accept queue; nobody calls accept()", false,
               Presence::kernel_only));
    s.add(side("second client", *second_at, l->at, TcpState::syn_sent,
               "sent SYN; the listener drops it because its accept queue is full, so no SYN-ACK "
               "comes: it retransmits the SYN (tcp_syn_retries) until connect() times out",
               true),
          std::move(second.value()));
    return {};
}

Result<void> build_syn_recv(Scenario::Impl& s, Deadline deadline) {
    auto l = open_listener(s.family, {.defer_accept = defer_accept_secs});
    if (!l) return l.error();
    auto c = open_connection(*l, s.family, deadline, 0, false);
    if (!c) return c.error();
    s.rules.push_back({l->at, c->client_at, 0, packet::Fate::ignored, true,
                       "TCP_DEFER_ACCEPT: a bare ACK does not complete the connection"});
    s.add(listener_side(*l,
                        "set TCP_DEFER_ACCEPT: a connection is completed only when data "
                        "arrives, so the bare final ACK is dropped"),
          std::move(l->fd));
    s.add(side("client", c->client_at, l->at, TcpState::established,
               "got the SYN-ACK and sent the final ACK, so it is ESTABLISHED; it sends nothing"),
          std::move(c->client));
    s.add(side("server", l->at, c->client_at, TcpState::syn_recv,
               "a request socket: got the SYN, sent SYN-ACK, and TCP_DEFER_ACCEPT ignored the "
               "final ACK because it carried no data, so it stays half-open",
               true, Presence::kernel_only));
    return {};
}

Result<void> build_established(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    if (auto r = wait_state(p->c.server, TcpState::established, deadline, "server"); !r) return r;
    add_pair(s, *p, "still listening for more connections",
             {TcpState::established, "SYN, SYN-ACK, ACK done: data can flow both ways", true},
             {TcpState::established, "accept()ed: a new socket on the listener's port, same state",
              true});
    return {};
}

Result<void> build_fin_wait1(Scenario::Impl& s, Deadline deadline) {
    if (s.fin_on_wire) return build_fin_wait1_wire(s, deadline);
    auto p = connected_pair(s.family, deadline, SmallWindow::server);
    if (!p) return p.error();
    if (auto r = fin_behind_data(p->c.client, deadline); !r) return r;
    if (auto r = wait_state(p->c.client, TcpState::fin_wait1, deadline, "client"); !r) return r;
    add_pair(s, *p, std::string(tiny_window),
             {TcpState::fin_wait1,
              "filled the server's window, then shutdown(SHUT_WR): its FIN is queued behind "
              "unsent data the zero window will not take, so the FIN is never ACKed (zero-window "
              "probes keep it alive)",
              true},
             {TcpState::established,
              "never reads: its receive buffer is full and its window "
              "zero; the client's FIN has not reached it"});
    return {};
}

Result<void> build_fin_wait2(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    if (auto r = client_shuts(*p, TcpState::fin_wait2, deadline); !r) return r;
    add_pair(s, *p, "still listening",
             {TcpState::fin_wait2,
              "shutdown(SHUT_WR): its FIN was ACKed; it can still receive. While it keeps its "
              "descriptor FIN_WAIT2 has no time limit (tcp_fin_timeout applies to orphans only)",
              true},
             {TcpState::close_wait, std::string(got_fin)});
    return {};
}

Result<void> build_close_wait(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    p->c.client.reset();  // close(): FIN, and the socket becomes an orphan
    if (auto r = wait_state(p->c.server, TcpState::close_wait, deadline, "server"); !r) return r;
    add_pair(s, *p, "still listening",
             {TcpState::fin_wait2,
              "called close(): its FIN was ACKed; the kernel keeps the orphan in FIN_WAIT2 for "
              "tcp_fin_timeout, then drops it",
              false, Presence::kernel_only},
             {TcpState::close_wait,
              "read nothing and never calls close(): the client's FIN was ACKed by the kernel, "
              "and only the application's close() ends CLOSE_WAIT — this is the leak",
              true});
    return {};
}

Result<void> build_closing(Scenario::Impl& s, Deadline deadline) {
    if (s.fin_on_wire) return build_closing_wire(s, deadline);
    auto p = connected_pair(s.family, deadline, SmallWindow::server);
    if (!p) return p.error();
    if (auto r = fin_behind_data(p->c.client, deadline); !r) return r;
    if (auto r = shut(p->c.server, SHUT_WR); !r) return r;
    if (auto r = wait_state(p->c.client, TcpState::closing, deadline, "client"); !r) return r;
    if (auto r = wait_state(p->c.server, TcpState::fin_wait2, deadline, "server"); !r) return r;
    add_pair(s, *p, std::string(tiny_window),
             {TcpState::closing,
              "sent shutdown(SHUT_WR) with its FIN stuck behind data the server's zero window "
              "will not take; then the server's FIN arrived: both closed at once, and its own "
              "FIN is still unacknowledged",
              true},
             {TcpState::fin_wait2,
              "never reads; called shutdown(SHUT_WR) before the client's FIN reached it; the "
              "client ACKed that FIN, and the client's FIN is still queued behind its data"});
    return {};
}

Result<void> build_last_ack(Scenario::Impl& s, Deadline deadline) {
    if (s.fin_on_wire) return build_last_ack_wire(s, deadline);
    auto p = connected_pair(s.family, deadline, SmallWindow::client);
    if (!p) return p.error();
    // The server's data fills the client's window first; the client's FIN then
    // still goes out (it has nothing queued), and the server's FIN cannot.
    if (auto r = set_sndbuf(p->c.server, large_sndbuf); !r) return r;
    if (auto n = fill_until_stuck(p->c.server, deadline); !n) return n.error();
    if (auto r = shut(p->c.client, SHUT_WR); !r) return r;
    if (auto r = wait_state(p->c.server, TcpState::close_wait, deadline, "server"); !r) return r;
    if (auto r = shut(p->c.server, SHUT_WR); !r) return r;
    if (auto r = wait_state(p->c.server, TcpState::last_ack, deadline, "server"); !r) return r;
    if (auto r = wait_state(p->c.client, TcpState::fin_wait2, deadline, "client"); !r) return r;
    add_pair(s, *p, "still listening",
             {TcpState::fin_wait2,
              "SO_RCVBUF 4096 and never reads; shut down first: its FIN was ACKed, and the "
              "server's FIN cannot reach it behind the data filling its window"},
             {TcpState::last_ack,
              "got the client's FIN (CLOSE_WAIT), then shutdown(SHUT_WR): its FIN is queued "
              "behind data the client's zero window will not take, so the last ACK never comes",
              true});
    return {};
}

Result<void> build_time_wait(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    p->c.server.reset();  // the server is stopped: it closes first, the active closer
    p->l.fd.reset();
    if (auto r = wait_state(p->c.client, TcpState::close_wait, deadline, "client"); !r) return r;
    if (auto r = drain_to_eof(p->c.client, deadline); !r) return r;
    p->c.client.reset();  // FIN from LAST_ACK; the server's ACK frees the client at once
    add_pair(s, *p, {},
             {TcpState::close,
              "read EOF and closed: its FIN was ACKed in LAST_ACK, so it is gone (the passive "
              "closer never waits)",
              false, Presence::gone},
             {TcpState::time_wait,
              "closed first (the active closer): sent FIN, got its ACK, then the client's FIN, "
              "and sent the last ACK; it waits 2*MSL (60 s on Linux, fixed) so a lost last ACK "
              "can be resent and old segments die",
              true, Presence::kernel_only});
    return {};
}

Result<void> build_closed(Scenario::Impl& s, Deadline) {
    auto fd = net::open_bound(loopback(s.family), net::Proto::tcp, {});
    if (!fd) return fd.error();
    auto at = local_endpoint(*fd);
    if (!at) return at.error();
    Endpoint any;
    any.addr.family = s.family;
    s.add(side("bound socket", *at, any, TcpState::close,
               "bound to a port, no listen() or connect(): CLOSED. ss lists no such socket; "
               "sock_diag reports it when asked for state 13 (TCP_BOUND_INACTIVE, Linux 6.5+)",
               true),
          std::move(fd.value()));
    return {};
}

Result<void> build_rst(Scenario::Impl& s, Deadline deadline) {
    auto p = connected_pair(s.family, deadline);
    if (!p) return p.error();
    if (auto r = net::set_close_mode(p->c.client.get(), net::CloseMode::rst, std::nullopt); !r)
        return r;
    p->c.client.reset();  // SO_LINGER {1, 0}: close() sends RST and frees the socket
    if (auto r = wait_state(p->c.server, TcpState::close, deadline, "server"); !r) return r;
    add_pair(s, *p, "still listening",
             {TcpState::close,
              "set SO_LINGER {1, 0} and closed: sent RST and was freed at once — no FIN_WAIT, "
              "no TIME_WAIT",
              false, Presence::gone},
             {TcpState::close,
              "got the RST: the kernel moved it straight to CLOSED and unhashed it, so ss no "
              "longer lists it; its next recv() fails with ECONNRESET",
              true});
    return {};
}

}  // namespace

Result<void> build(Scenario::Impl& impl, Deadline deadline) {
    switch (impl.info->id) {
        case ScenarioId::listen:
            return build_listen(impl, deadline);
        case ScenarioId::syn_sent:
            return build_syn_sent(impl, deadline);
        case ScenarioId::syn_recv:
            return build_syn_recv(impl, deadline);
        case ScenarioId::established:
            return build_established(impl, deadline);
        case ScenarioId::fin_wait1:
            return build_fin_wait1(impl, deadline);
        case ScenarioId::fin_wait2:
            return build_fin_wait2(impl, deadline);
        case ScenarioId::close_wait:
            return build_close_wait(impl, deadline);
        case ScenarioId::closing:
            return build_closing(impl, deadline);
        case ScenarioId::last_ack:
            return build_last_ack(impl, deadline);
        case ScenarioId::time_wait:
            return build_time_wait(impl, deadline);
        case ScenarioId::closed:
            return build_closed(impl, deadline);
        case ScenarioId::rst:
            return build_rst(impl, deadline);
    }
    return make_error(std::errc::invalid_argument, "unknown scenario");
}

}  // namespace socklab::lab::detail
