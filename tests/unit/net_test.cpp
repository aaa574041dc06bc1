// Unit tests for the net module: parsing helpers, socket options, close modes, the relay.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "socklab/net.hpp"

using namespace socklab;
using namespace socklab::net;

namespace {

struct Pipe {
    Fd r, w;
};

Pipe make_pipe() {
    std::array<int, 2> p{};
    REQUIRE(::pipe2(p.data(), O_CLOEXEC) == 0);
    return {Fd(p[0]), Fd(p[1])};
}

/// A connected TCP pair over loopback: {ours (non-blocking), theirs (blocking)}.
std::pair<Fd, Fd> tcp_pair() {
    auto addrs = resolve("127.0.0.1", 0, Want::v4, true, true, Proto::tcp);
    REQUIRE(addrs);
    auto lst = open_listener(addrs->front(), Proto::tcp, SocketOptions{});
    REQUIRE(lst);
    auto bound = local_address(lst->get());
    REQUIRE(bound);
    auto ours =
        connect_to({*bound}, Proto::tcp, SocketOptions{}, std::nullopt, std::chrono::seconds(5));
    REQUIRE(ours);
    Fd theirs(::accept4(lst->get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(theirs);
    return {std::move(*ours), std::move(theirs)};
}

std::string random_bytes(std::size_t n) {
    std::mt19937 gen(42);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(gen() & 0xff);
    return s;
}

void write_all(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        const auto w = ::write(fd, data.data() + off, data.size() - off);
        REQUIRE(w > 0);
        off += static_cast<std::size_t>(w);
    }
}

/// Reads until EOF; returns what came and whether it ended in an error (errno).
std::pair<std::string, int> read_all(int fd) {
    std::string out;
    std::array<char, 65536> buf{};
    for (;;) {
        const auto r = ::read(fd, buf.data(), buf.size());
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return {out, errno};
        if (r == 0) return {out, 0};
        out.append(buf.data(), static_cast<std::size_t>(r));
    }
}

struct IgnoreSigpipe {
    IgnoreSigpipe() { ::signal(SIGPIPE, SIG_IGN); }
};
const IgnoreSigpipe ignore_sigpipe;

}  // namespace

TEST_CASE("ports are 1-65535, 0 only when asked, never wrapped", "[net]") {
    CHECK(*parse_port("1", false) == 1);
    CHECK(*parse_port("65535", false) == 65535);
    CHECK(*parse_port("0", true) == 0);
    for (const char* bad : {"0", "65536", "99999", "abc", "-1", "", " 80", "80x"}) {
        INFO(bad);
        CHECK_FALSE(parse_port(bad, false));
    }
    CHECK(parse_port("99999", true).error().context == "port '99999' is outside 1-65535");
    CHECK(parse_port("abc", true).error().context == "port 'abc' is not a number");
}

TEST_CASE("port ranges for -z", "[net]") {
    CHECK(*parse_port_range("80") == PortRange{80, 80});
    CHECK(*parse_port_range("20-25") == PortRange{20, 25});
    CHECK_FALSE(parse_port_range("25-20"));
    CHECK_FALSE(parse_port_range("0-5"));
    CHECK_FALSE(parse_port_range("5-70000"));
    CHECK_FALSE(parse_port_range("5-"));
}

TEST_CASE("ports may be service names of their protocol, as nc takes them", "[net]") {
    // netbase's /etc/services: http 80/tcp, domain 53/udp, ftp 21/tcp.
    CHECK(*parse_service("http", Proto::tcp, false) == 80);
    CHECK(*parse_service("domain", Proto::udp, false) == 53);
    CHECK(*parse_service("8080", Proto::tcp, false) == 8080);
    CHECK(parse_service("nosuch", Proto::tcp, false).error().context ==
          "port 'nosuch' is not a number or a known tcp service");
    CHECK(parse_service("80x", Proto::tcp, false).error().context == "port '80x' is not a number");
    CHECK_FALSE(parse_service("", Proto::tcp, false));
    CHECK_FALSE(parse_service("0", Proto::tcp, false));
    CHECK(*parse_port_range("ftp-http", Proto::tcp) == PortRange{21, 80});
    CHECK(*parse_port_range("20-http", Proto::tcp) == PortRange{20, 80});
    CHECK(*parse_port_range("http", Proto::tcp) == PortRange{80, 80});
    CHECK_FALSE(parse_port_range("https-http", Proto::tcp));
    CHECK_FALSE(parse_port_range("http-nosuch", Proto::tcp));
}

TEST_CASE("a literal of the other family is a mismatch, not an unknown host", "[net]") {
    auto v6_for_v4 = resolve("::1", 1, Want::v4, false, false, Proto::tcp);
    REQUIRE_FALSE(v6_for_v4);
    CHECK(v6_for_v4.error().code.message() ==
          "address family mismatch: an IPv6 address where IPv4 is wanted");
    auto v4_for_v6 = resolve("127.0.0.1", 1, Want::v6, true, true, Proto::udp);
    REQUIRE_FALSE(v4_for_v6);
    CHECK(v4_for_v6.error().code.message() ==
          "address family mismatch: an IPv4 address where IPv6 is wanted");
    CHECK(resolve("localhost", 1, Want::any, true, false, Proto::tcp).error().code.message() ==
          "not a numeric address (-n)");
}

TEST_CASE("host_name names an address as nc -v does, numbers with -n", "[net]") {
    auto lo = resolve("127.0.0.1", 5, Want::v4, true, false, Proto::tcp);
    REQUIRE(lo);
    CHECK(host_name(lo->front(), true) == "127.0.0.1");
    CHECK(host_name(lo->front(), false) == "localhost");  // the hosts file, no DNS
    auto any = resolve("", 5, Want::v4, true, true, Proto::tcp);
    REQUIRE(any);
    CHECK(host_name(any->front(), false) == "0.0.0.0");  // the wildcard has no name
}

TEST_CASE("keepalive takes up to three fields, each optional", "[net]") {
    auto all = parse_keepalive("10,5,3");
    REQUIRE(all);
    CHECK(all->idle_s == 10u);
    CHECK(all->interval_s == 5u);
    CHECK(all->count == 3u);
    auto some = parse_keepalive(",7");
    REQUIRE(some);
    CHECK_FALSE(some->idle_s);
    CHECK(some->interval_s == 7u);
    CHECK(parse_keepalive(""));
    CHECK_FALSE(parse_keepalive("1,2,3,4"));
    CHECK_FALSE(parse_keepalive("0"));
    CHECK_FALSE(parse_keepalive("1,1,128"));
    CHECK_FALSE(parse_keepalive("x"));
}

TEST_CASE("close-control words round-trip through their tables", "[net]") {
    for (const char* w : {"shutdown", "close", "rst", "wait"})
        CHECK(on_eof_name(*parse_on_eof(w)) == w);
    for (const char* w : {"finish", "close", "hold", "exit"})
        CHECK(on_peer_close_name(*parse_on_peer_close(w)) == w);
    for (const char* w : {"fin", "rst"})
        CHECK(close_mode_name(*parse_close_mode(w)) == w);
    CHECK_FALSE(parse_on_eof("Shutdown"));
    CHECK_FALSE(parse_on_peer_close(""));
    CHECK_FALSE(parse_close_mode("reset"));
}

TEST_CASE("close modes set SO_LINGER as socket(7) describes", "[net]") {
    auto [a, b] = tcp_pair();
    linger l{};
    socklen_t len = sizeof l;
    REQUIRE(set_close_mode(a.get(), CloseMode::fin, std::nullopt));
    REQUIRE(::getsockopt(a.get(), SOL_SOCKET, SO_LINGER, &l, &len) == 0);
    CHECK(l.l_onoff == 0);
    REQUIRE(set_close_mode(a.get(), CloseMode::fin, 7u));
    REQUIRE(::getsockopt(a.get(), SOL_SOCKET, SO_LINGER, &l, &len) == 0);
    CHECK((l.l_onoff == 1 && l.l_linger == 7));
    REQUIRE(set_close_mode(a.get(), CloseMode::rst, 7u));
    REQUIRE(::getsockopt(a.get(), SOL_SOCKET, SO_LINGER, &l, &len) == 0);
    CHECK((l.l_onoff == 1 && l.l_linger == 0));
    a.reset();  // RST: the peer's read fails with ECONNRESET
    CHECK(read_all(b.get()).second == ECONNRESET);
}

TEST_CASE("socket options are applied before connect and read back", "[net]") {
    SocketOptions o;
    o.rcvbuf = 8192;
    o.nodelay = true;
    o.keepalive = Keepalive{30u, 5u, 4u};
    o.user_timeout_ms = 1500;
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(apply_options(fd.get(), o, Proto::tcp));
    int v = 0;
    socklen_t len = sizeof v;
    REQUIRE(::getsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &v, &len) == 0);
    CHECK(v == 2 * 8192);  // socket(7): the kernel doubles the value for bookkeeping
    REQUIRE(::getsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
    CHECK(v == 1);
    REQUIRE(::getsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE, &v, &len) == 0);
    CHECK(v == 30);
    REQUIRE(::getsockopt(fd.get(), IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len) == 0);
    CHECK(v == 1500);
    Fd unix_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    CHECK(apply_options(unix_fd.get(), o, Proto::unix_stream));  // TCP-only ones skipped
}

TEST_CASE("tcp_state reads the kernel's state and refuses non-TCP sockets", "[net]") {
    auto [a, b] = tcp_pair();
    CHECK(tcp_state(a.get()) == TcpState::established);
    REQUIRE(::shutdown(b.get(), SHUT_WR) == 0);
    CHECK(read_all(a.get()).first.empty());  // a is non-blocking: EAGAIN or EOF; the FIN is there
    CHECK(tcp_state(a.get()) == TcpState::close_wait);
    std::array<int, 2> sp{};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp.data()) == 0);
    Fd x(sp[0]), y(sp[1]);
    CHECK_FALSE(tcp_state(x.get()));
}

TEST_CASE("addresses print as people write them and take a new port", "[net]") {
    auto v4 = resolve("127.0.0.1", 41000, Want::v4, true, false, Proto::tcp);
    REQUIRE(v4);
    CHECK(v4->front().to_string() == "127.0.0.1:41000");
    auto v6 = resolve("::1", 6666, Want::v6, true, false, Proto::tcp);
    REQUIRE(v6);
    CHECK(v6->front().to_string() == "[::1]:6666");
    v6->front().set_port(7);
    CHECK(v6->front().port() == 7);
    CHECK_FALSE(resolve("localhost", 1, Want::any, true, false, Proto::tcp));  // -n: no DNS
    CHECK(resolve("", 80, Want::v4, true, true, Proto::tcp)->front().host() == "0.0.0.0");
}

TEST_CASE("unix addresses refuse paths that do not fit", "[net]") {
    CHECK(unix_address("/tmp/x"));
    CHECK(unix_address("/tmp/x")->host() == "/tmp/x");
    CHECK_FALSE(unix_address(std::string(200, 'a')));
    CHECK_FALSE(unix_address(""));
}

TEST_CASE("relay moves every byte both ways with partial writes and half-close", "[net]") {
    const std::string up = random_bytes(3 << 20);
    const std::string down = random_bytes(2 << 20);
    auto [ours, theirs] = tcp_pair();
    int small = 4096;  // tiny send buffer: every write to the socket is partial
    REQUIRE(::setsockopt(ours.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    auto in = make_pipe();
    auto out = make_pipe();
    std::string got_up, got_down;
    std::thread peer([&, fd = theirs.get()] {
        got_up = read_all(fd).first;  // until our FIN (stdin EOF -> shutdown)
        write_all(fd, down);          // the answer after the half-close
        ::shutdown(fd, SHUT_WR);
    });
    std::thread feeder([&, fd = in.w.get()] {
        write_all(fd, up);
        in.w.reset();
    });
    std::thread sink([&, fd = out.r.get()] { got_down = read_all(fd).first; });
    RelayConfig c;
    c.in_fd = in.r.get();
    c.out_fd = out.w.get();
    std::vector<RelayEventKind> events;
    auto r = run_relay(std::move(ours), c, [&](const RelayEvent& e) { events.push_back(e.kind); });
    out.w.reset();
    feeder.join();
    peer.join();
    sink.join();
    REQUIRE(r);
    CHECK(r->bytes_sent == up.size());
    CHECK(r->bytes_received == down.size());
    CHECK(got_up == up);
    CHECK(got_down == down);
    CHECK(events == std::vector<RelayEventKind>{RelayEventKind::input_eof, RelayEventKind::fin_sent,
                                                RelayEventKind::peer_fin, RelayEventKind::closed});
}

TEST_CASE("relay on a unix socketpair: partial writes completed, FIN answered", "[net]") {
    std::array<int, 2> sp{};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp.data()) == 0);
    Fd ours(sp[0]), theirs(sp[1]);
    REQUIRE(::fcntl(theirs.get(), F_SETFL, 0) == 0);  // the peer thread blocks
    int small = 2048;
    REQUIRE(::setsockopt(ours.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    const std::string up = random_bytes(1 << 20);
    auto in = make_pipe();
    auto out = make_pipe();
    std::string got_up, got_down;
    std::thread feeder([&up, w = std::move(in.w)] { write_all(w.get(), up); });
    std::thread peer([&got_up, fd = theirs.get()] {
        got_up = read_all(fd).first;
        write_all(fd, "bye");
        ::shutdown(fd, SHUT_WR);
    });
    std::thread sink([&got_down, fd = out.r.get()] { got_down = read_all(fd).first; });
    RelayConfig c;
    c.in_fd = in.r.get();
    c.out_fd = out.w.get();
    c.zero_copy = false;  // the read/write path, 256 KiB at a time into a 2 KiB socket buffer
    auto r = run_relay(std::move(ours), c, nullptr);
    out.w.reset();
    feeder.join();
    peer.join();
    sink.join();
    REQUIRE(r);
    CHECK(got_up == up);
    CHECK(got_down == "bye");
}

TEST_CASE("relay copy path: CRLF, source pattern and byte limit", "[net]") {
    auto [ours, theirs] = tcp_pair();
    auto in = make_pipe();
    write_all(in.w.get(), "a\nbc\n");
    in.w.reset();
    RelayConfig c;
    c.in_fd = in.r.get();
    c.crlf = true;
    std::string got;
    std::thread peer([&, fd = theirs.get()] {
        got = read_all(fd).first;
        ::shutdown(fd, SHUT_WR);
    });
    REQUIRE(run_relay(std::move(ours), c, nullptr));
    peer.join();
    CHECK(got == "a\r\nbc\r\n");

    auto [ours2, theirs2] = tcp_pair();
    RelayConfig s;
    s.service = Service::source;
    s.source_bytes = 1 << 20;
    s.close_after_bytes = 30;
    std::string got2;
    std::thread peer2([&, fd = theirs2.get()] { got2 = read_all(fd).first; });
    REQUIRE(run_relay(std::move(ours2), s, nullptr));
    peer2.join();
    CHECK(got2 == "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD");
}

TEST_CASE("relay ends cleanly when the output goes away", "[net]") {
    auto [ours, theirs] = tcp_pair();
    auto out = make_pipe();
    out.r.reset();  // nobody reads stdout: writes fail with EPIPE
    RelayConfig c;
    c.out_fd = out.w.get();
    c.on_peer_close = OnPeerClose::close;
    write_all(theirs.get(), "some data");
    std::vector<RelayEventKind> events;
    auto r = run_relay(std::move(ours), c, [&](const RelayEvent& e) { events.push_back(e.kind); });
    CHECK(r);
    REQUIRE_FALSE(events.empty());
    CHECK(events.front() == RelayEventKind::output_closed);
}

TEST_CASE("relay reports a reset by the peer as an error", "[net]") {
    auto [ours, theirs] = tcp_pair();
    auto in = make_pipe();  // stdin stays open: the session is mid-way
    RelayConfig c;
    c.in_fd = in.r.get();
    REQUIRE(set_close_mode(theirs.get(), CloseMode::rst, std::nullopt));
    theirs.reset();
    auto r = run_relay(std::move(ours), c, nullptr);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::connection_reset);
}

TEST_CASE("relay finishes its answer after the peer's FIN, or closes at once", "[net]") {
    for (const auto policy : {OnPeerClose::finish, OnPeerClose::close}) {
        auto [ours, theirs] = tcp_pair();
        ::shutdown(theirs.get(), SHUT_WR);  // the peer half-closes first
        auto in = make_pipe();
        // Under `close` the peer reads only afterwards, so at most the socket buffers
        // (tcp_wmem + tcp_rmem maxima, about 10 MiB) and the pipe can hold what was sent.
        const bool finish = policy == OnPeerClose::finish;
        const std::string answer = random_bytes(finish ? 1u << 20 : 16u << 20);
        std::thread feeder([&answer, w = std::move(in.w)] {
            std::size_t off = 0;  // stops at EPIPE once `close` dropped the input
            while (off < answer.size()) {
                const auto n = ::write(w.get(), answer.data() + off, answer.size() - off);
                if (n <= 0) break;
                off += static_cast<std::size_t>(n);
            }
        });
        RelayConfig c;
        c.in_fd = in.r.get();
        c.on_peer_close = policy;
        std::string got;
        std::thread peer;
        if (finish) peer = std::thread([&got, fd = theirs.get()] { got = read_all(fd).first; });
        const auto r = run_relay(std::move(ours), c, nullptr);
        in.r.reset();
        feeder.join();
        if (finish) peer.join();
        if (!finish) got = read_all(theirs.get()).first;
        REQUIRE(r);
        if (finish) CHECK(got == answer);
        if (!finish) CHECK(got.size() < answer.size());
    }
}

TEST_CASE("relay reads a blocking input only when it is readable", "[net]") {
    // A terminal or a pipe left open: a blocking read(2) would stall the relay, and the
    // peer's data would not show until a line was typed.
    auto [ours, theirs] = tcp_pair();
    auto in = make_pipe();  // blocking, open, empty
    auto out = make_pipe();
    write_all(theirs.get(), "shown at once");
    ::shutdown(theirs.get(), SHUT_WR);
    RelayConfig c;
    c.in_fd = in.r.get();
    c.out_fd = out.w.get();
    c.zero_copy = false;  // the read/write path, where the blocking read was
    c.on_peer_close = OnPeerClose::close;
    auto r = run_relay(std::move(ours), c, nullptr);
    out.w.reset();
    REQUIRE(r);
    CHECK(read_all(out.r.get()).first == "shown at once");
    CHECK(r->bytes_sent == 0);
}

TEST_CASE("CRLF turns only a bare LF into CR LF and the hex dump shows what was sent", "[net]") {
    auto [ours, theirs] = tcp_pair();
    auto in = make_pipe();
    write_all(in.w.get(), "dos\r\nunix\n");
    in.w.reset();
    auto dump = make_pipe();
    RelayConfig c;
    c.in_fd = in.r.get();
    c.crlf = true;
    c.hexdump_fd = dump.w.get();
    std::string got;
    std::thread peer([&, fd = theirs.get()] {
        got = read_all(fd).first;
        ::shutdown(fd, SHUT_WR);
    });
    REQUIRE(run_relay(std::move(ours), c, nullptr));
    peer.join();
    dump.w.reset();
    CHECK(got == "dos\r\nunix\r\n");
    const std::string text = read_all(dump.r.get()).first;
    CHECK(text.find("> 00000000 64 6f 73 0d 0a 75 6e 69 78 0d 0a ") == 0);
    CHECK(text.find("0d 0d") == std::string::npos);
}

TEST_CASE("relay closes an output it owns at the peer's FIN, before its input ends", "[net]") {
    auto [ours, theirs] = tcp_pair();
    auto in = make_pipe();  // stays open while we check the output
    auto out = make_pipe();
    RelayConfig c;
    c.in_fd = in.r.get();
    c.out_fd = out.w.release();  // the relay's to close
    c.own_out_fd = true;
    write_all(theirs.get(), "archive");
    ::shutdown(theirs.get(), SHUT_WR);
    std::optional<Result<RelayOutcome>> r;
    std::thread relay([&, sock = std::move(ours)]() mutable {
        r.emplace(run_relay(std::move(sock), c, nullptr));
    });
    // EOF on the output while the relay still waits for its input (tar x sees the end).
    CHECK(read_all(out.r.get()).first == "archive");
    write_all(in.w.get(), "rest");
    in.w.reset();
    relay.join();
    REQUIRE(r);
    REQUIRE(*r);
    CHECK(read_all(theirs.get()).first == "rest");
}

TEST_CASE("v6only listeners refuse IPv4 clients", "[net]") {
    auto any6 = resolve("::", 0, Want::v6, true, true, Proto::tcp);
    REQUIRE(any6);
    SocketOptions o;
    o.v6only = true;
    auto lst = open_listener(any6->front(), Proto::tcp, o);
    if (!lst) {
        WARN("no IPv6 on this host: " << lst.error().code.message());
        return;
    }
    int v = 0;
    socklen_t len = sizeof v;
    REQUIRE(::getsockopt(lst->get(), IPPROTO_IPV6, IPV6_V6ONLY, &v, &len) == 0);
    CHECK(v == 1);
    auto port = local_address(lst->get())->port();
    auto v4 = resolve("127.0.0.1", port, Want::v4, true, false, Proto::tcp);
    REQUIRE(v4);
    auto c = connect_to(*v4, Proto::tcp, SocketOptions{}, std::nullopt, std::chrono::seconds(5));
    REQUIRE_FALSE(c);
    CHECK(c.error().code == std::errc::connection_refused);
}

TEST_CASE("udp_accept ends when its cancel fd becomes readable", "[net]") {
    auto addrs = resolve("127.0.0.1", 0, Want::v4, true, true, Proto::udp);
    REQUIRE(addrs);
    auto sock = open_listener(addrs->front(), Proto::udp, SocketOptions{});
    REQUIRE(sock);
    auto cancel = make_pipe();
    write_all(cancel.w.get(), "!");  // a stop signal's self-pipe after the signal
    auto r = udp_accept(sock->get(), std::chrono::nanoseconds(0), cancel.r.get());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::operation_canceled);
}

TEST_CASE("keyword lists are the tables' words in order, each one parsing", "[net]") {
    CHECK(on_eof_words() == "shutdown|close|rst|wait");
    CHECK(on_peer_close_words() == "finish|close|hold|exit");
    CHECK(close_mode_words() == "fin|rst");
    CHECK(parse_on_eof("wait") == OnEof::wait);
    CHECK(parse_close_mode("rst") == CloseMode::rst);
}

namespace {

/// A loopback listener of `proto` on port 0, and the address it got.
std::pair<Fd, SockAddr> loopback_listener(Proto proto) {
    auto addrs = resolve("127.0.0.1", 0, Want::v4, true, true, proto);
    REQUIRE(addrs);
    auto lst = open_listener(addrs->front(), proto, SocketOptions{});
    REQUIRE(lst);
    auto bound = local_address(lst->get());
    REQUIRE(bound);
    return {std::move(*lst), *bound};
}

/// A client that has sent `data` and its FIN (the kernel queues it before any accept).
Fd client_sent(const SockAddr& to, const std::string& data) {
    auto c = connect_to({to}, Proto::tcp, SocketOptions{}, std::nullopt, std::chrono::seconds(5));
    REQUIRE(c);
    write_all(c->get(), data);
    REQUIRE(::shutdown(c->get(), SHUT_WR) == 0);
    return std::move(*c);
}

/// What a SessionFn saw, for the checks.
struct Seen {
    std::vector<SessionStart> starts;
    std::vector<Result<RelayOutcome>> ends;
};

/// A SessionFn whose relays read no input and write what arrives to `out_fd`.
SessionFn recording(Seen& seen, int out_fd, const std::function<void()>& after_end = {}) {
    return [&seen, out_fd, after_end](const SessionStart& s) {
        seen.starts.push_back(s);
        RelayConfig c;
        c.out_fd = out_fd;
        return Session{c, {}, [&seen, after_end](const Result<RelayOutcome>& r) {
                           seen.ends.push_back(r);
                           if (after_end) after_end();
                       }};
    };
}

}  // namespace

TEST_CASE("serve_first serves one TCP client, then refuses the next as nc does", "[net]") {
    auto [lst, at] = loopback_listener(Proto::tcp);
    Fd client = client_sent(at, "hello");
    auto client_addr = local_address(client.get());
    REQUIRE(client_addr);
    auto out = make_pipe();
    Seen seen;
    REQUIRE(serve_first(std::move(lst), Proto::tcp, recording(seen, out.w.get()), -1));
    out.w.reset();
    CHECK(read_all(out.r.get()).first == "hello");
    REQUIRE(seen.starts.size() == 1);
    CHECK(seen.starts[0].kind == SessionKind::accepted);
    CHECK(seen.starts[0].before == TcpState::syn_recv);
    CHECK(seen.starts[0].why == "accepted");
    REQUIRE(seen.starts[0].peer);
    CHECK(seen.starts[0].peer->port() == client_addr->port());
    REQUIRE(seen.ends.size() == 1);
    REQUIRE(seen.ends[0]);
    CHECK(seen.ends[0]->bytes_received == 5);
    auto again =
        connect_to({at}, Proto::tcp, SocketOptions{}, std::nullopt, std::chrono::seconds(5));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == std::errc::connection_refused);
}

TEST_CASE("serve_first ends at a stop signal without a session", "[net]") {
    auto stop = make_pipe();
    write_all(stop.w.get(), "!");  // the self-pipe after a signal
    for (const Proto proto : {Proto::tcp, Proto::udp}) {
        auto [lst, at] = loopback_listener(proto);
        Seen seen;
        CHECK(serve_first(std::move(lst), proto, recording(seen, -1), stop.r.get()));
        CHECK(seen.starts.empty());
    }
}

TEST_CASE("serve_first on UDP: the first datagram's sender is the session's peer", "[net]") {
    auto [lst, at] = loopback_listener(Proto::udp);
    auto client =
        connect_to({at}, Proto::udp, SocketOptions{}, std::nullopt, std::chrono::seconds(5));
    REQUIRE(client);
    write_all(client->get(), "ping");
    auto client_addr = local_address(client->get());
    REQUIRE(client_addr);
    auto out = make_pipe();
    Seen seen;
    SessionFn fn = [&](const SessionStart& s) {
        auto session = recording(seen, out.w.get())(s);
        session.config.datagram = true;
        // Datagrams have no end: the session ends after 200 ms without data (-w).
        session.config.idle_timeout = std::chrono::milliseconds(200);
        return session;
    };
    REQUIRE(serve_first(std::move(lst), Proto::udp, fn, -1));
    out.w.reset();
    CHECK(read_all(out.r.get()).first == "ping");
    REQUIRE(seen.starts.size() == 1);
    CHECK(seen.starts[0].kind == SessionKind::received);
    CHECK(seen.starts[0].before == TcpState::close);
    CHECK_FALSE(seen.starts[0].now);  // not TCP
    REQUIRE(seen.starts[0].peer);
    CHECK(seen.starts[0].peer->port() == client_addr->port());
    CHECK(seen.ends.size() == 1);
}

TEST_CASE("serve_clients serves clients side by side until a stop signal", "[net]") {
    auto [lst, at] = loopback_listener(Proto::tcp);
    Fd a = client_sent(at, "a");
    Fd b = client_sent(at, "bb");
    auto stop = make_pipe();
    Seen seen;
    ClientsHooks hooks;
    hooks.on_session = recording(seen, -1, [&] {
        if (seen.ends.size() == 2) write_all(stop.w.get(), "!");
    });
    int accept_errors = 0;
    hooks.on_accept_error = [&](const Error&) { ++accept_errors; };
    serve_clients(std::move(lst), hooks, stop.r.get());
    REQUIRE(seen.ends.size() == 2);
    std::uint64_t received = 0;
    for (const auto& r : seen.ends) {
        REQUIRE(r);
        received += r->bytes_received;
    }
    CHECK(received == 3);
    CHECK(accept_errors == 0);
    for (const auto& s : seen.starts)
        CHECK(s.kind == SessionKind::accepted);
}

TEST_CASE("serve_clients ends when a session says exit (--on-peer-close=exit)", "[net]") {
    auto [lst, at] = loopback_listener(Proto::tcp);
    Fd a = client_sent(at, "x");
    Seen seen;
    ClientsHooks hooks;
    hooks.on_session = [&](const SessionStart& s) {
        auto session = recording(seen, -1)(s);
        session.config.on_peer_close = OnPeerClose::exit;
        return session;
    };
    serve_clients(std::move(lst), hooks, -1);  // no stop fd: only the session can end it
    CHECK(seen.starts.size() == 1);
    REQUIRE(seen.ends.size() == 1);
    REQUIRE(seen.ends[0]);
    CHECK(seen.ends[0]->exit_program);
}

TEST_CASE("serve_clients ends when its end-on-error fd's reader is gone", "[net]") {
    auto [lst, at] = loopback_listener(Proto::tcp);
    auto out = make_pipe();
    out.r.reset();  // a pipe without readers reports EPOLLERR on its write end
    Seen seen;
    ClientsHooks hooks;
    hooks.on_session = recording(seen, -1);
    hooks.end_on_error_fd = out.w.release();
    serve_clients(std::move(lst), hooks, -1);
    CHECK(seen.starts.empty());
}

TEST_CASE("scan_ports reports each port, open or refused, and stops at a signal", "[net]") {
    auto [open_lst, open_at] = loopback_listener(Proto::tcp);
    std::uint16_t closed_port = 0;
    {
        auto [gone, gone_at] = loopback_listener(Proto::tcp);
        closed_port = gone_at.port();
    }  // closed: its port refuses now
    ScanSpec spec;
    spec.addrs = {open_at};
    spec.ranges = {{open_at.port(), open_at.port()}, {closed_port, closed_port}};
    spec.timeout = std::chrono::seconds(5);
    std::vector<std::pair<std::uint16_t, bool>> seen;
    auto record = [&](std::uint16_t port, const Result<Fd>& c) { seen.emplace_back(port, c.ok()); };
    CHECK(scan_ports(spec, record, -1));
    const std::vector<std::pair<std::uint16_t, bool>> want{{open_at.port(), true},
                                                           {closed_port, false}};
    CHECK(seen == want);
    seen.clear();
    auto stop = make_pipe();
    write_all(stop.w.get(), "!");
    CHECK_FALSE(scan_ports(spec, record, stop.r.get()));
    CHECK(seen.empty());
}

TEST_CASE("wait_for_stop returns at a readable fd or after its wait", "[net]") {
    auto stop = make_pipe();
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(wait_for_stop(stop.r.get(), std::chrono::milliseconds(20)));
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(20));
    CHECK_FALSE(wait_for_stop(stop.r.get(), std::chrono::nanoseconds(0)));
    write_all(stop.w.get(), "!");
    CHECK(wait_for_stop(stop.r.get(), std::chrono::nanoseconds(-1)));
    CHECK(out_of_fds(std::make_error_code(std::errc::too_many_files_open)));
    CHECK_FALSE(out_of_fds(std::make_error_code(std::errc::resource_unavailable_try_again)));
}

TEST_CASE("open_first_listener takes the first address that binds", "[net]") {
    auto [taken, taken_at] = loopback_listener(Proto::tcp);
    auto any_port = resolve("127.0.0.1", 0, Want::v4, true, true, Proto::tcp);
    REQUIRE(any_port);
    auto fd = open_first_listener({taken_at, any_port->front()}, Proto::tcp, SocketOptions{});
    REQUIRE(fd);
    auto bound = local_address(fd->get());
    REQUIRE(bound);
    CHECK(bound->port() != taken_at.port());
    auto none = open_first_listener({taken_at}, Proto::tcp, SocketOptions{});
    REQUIRE_FALSE(none);
    CHECK(none.error().code == std::errc::address_in_use);
    CHECK_FALSE(open_first_listener({}, Proto::tcp, SocketOptions{}));
}

// ---------------------------------------------------------------- sockcat's command line

namespace {

/// A raw command line: options by message name ("-w=3" gives -w the value 3), then operands.
RawCatOptions raw_line(std::initializer_list<std::string> opts,
                       std::vector<std::string> operands = {}) {
    RawCatOptions raw;
    for (const auto& o : opts) {
        const auto eq = o.find('=', 1);
        raw.given.emplace_back(o.substr(0, eq), eq == std::string::npos ? "" : o.substr(eq + 1));
    }
    raw.operands = std::move(operands);
    return raw;
}

/// The usage message convert_options() gives, or "" when it converts.
std::string usage_error(const RawCatOptions& raw) {
    auto r = convert_options(raw);
    if (r) return "";
    CHECK(r.error().code == std::errc::invalid_argument);
    return r.error().context;
}

/// Whether option `name` takes a value (so a test can give it one that parses).
bool takes_value(std::string_view name) {
    for (const auto& o : cat_options())
        if (o.message_name() == name) return o.kind != CatOption::flag;
    FAIL("no option " << name);
    return false;
}

std::string with_value(std::string_view name) {
    if (!takes_value(name)) return std::string(name);
    const std::string_view v = name == "--on-eof"          ? "close"
                               : name == "--on-peer-close" ? "close"
                               : name == "--close"         ? "rst"
                               : name == "-s"              ? "127.0.0.1"
                               : name == "--keepalive"     ? "on"
                               : name == "-o"              ? "/dev/null"
                                                           : "1";
    return fmt::format("{}={}", name, v);
}

}  // namespace

TEST_CASE("every option has one message name, and the names are unique", "[net]") {
    std::vector<std::string_view> names;
    for (const auto& o : cat_options())
        names.push_back(o.message_name());
    const auto name_of = [](std::string_view spelled) {
        CatOption o;
        o.names = spelled;
        return std::string(o.message_name());
    };
    CHECK(name_of("-c,-C,--crlf") == "-c");
    CHECK(name_of("--on-eof") == "--on-eof");
    CHECK(name_of("-s,--source-addr") == "-s");
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
    CHECK(names.size() == cat_options().size());
}

TEST_CASE("each conflicting pair gets its one message, in either order", "[net]") {
    const auto pairs = cat_conflicts();
    // nc's own refusals are there (netcat.c), and every name is an option of the table.
    for (const auto& nc : std::vector<std::pair<std::string_view, std::string_view>>{
             {"-s", "-l"}, {"-z", "-l"}, {"-4", "-6"}, {"-u", "-U"}, {"-k", "-u"}}) {
        INFO(nc.first << " " << nc.second);
        CHECK(std::find(pairs.begin(), pairs.end(), nc) != pairs.end());
    }
    for (const auto& [a, b] : pairs) {
        const std::string want = fmt::format("cannot use {} and {}", a, b);
        RawCatOptions raw;
        for (const auto& name : {b, a}) {  // the table's order decides, not the typed one
            const auto typed = with_value(name);
            const auto eq = typed.find('=', 1);
            raw.given.emplace_back(typed.substr(0, eq),
                                   eq == std::string::npos ? "" : typed.substr(eq + 1));
        }
        raw.operands = {"127.0.0.1", "1"};
        INFO(a << " with " << b);
        CHECK(usage_error(raw) == want);
    }
}

TEST_CASE("unix sockets refuse the TCP-only options; listener options need -l", "[net]") {
    for (const char* name :
         {"--defer-accept", "--keepalive", "--nodelay", "--linger2", "--user-timeout"}) {
        INFO(name);
        CHECK(usage_error(raw_line({"-U", with_value(name), "-l"}, {"/tmp/x"})) ==
              fmt::format("cannot use -U and {}", name));
    }
    for (const char* name : {"-k", "--backlog", "--no-accept"}) {
        INFO(name);
        CHECK(usage_error(raw_line({with_value(name)}, {"127.0.0.1", "1"})) ==
              fmt::format("{} needs -l", name));
    }
    CHECK(usage_error(raw_line({"--defer-accept=1"}, {"h", "1"})) == "--defer-accept needs -l");
}

TEST_CASE("every value-taking option refuses an empty value by its name", "[net]") {
    for (const auto& o : cat_options()) {
        if (o.kind == CatOption::flag) continue;
        const std::string name(o.message_name());
        INFO(name);
        CHECK(usage_error(raw_line({name + "="}, {"127.0.0.1", "1"})) == name + ": empty value");
    }
}

TEST_CASE("conversion errors name the option and the value", "[net]") {
    const std::vector<std::pair<RawCatOptions, std::string>> cases{
        {raw_line({"-w=soon"}, {"h", "1"}), "-w: "},
        {raw_line({"-w=1e-12"}, {"h", "1"}), "-w: '1e-12' is below one nanosecond"},
        {raw_line({"-q=-x"}, {"h", "1"}), "-q: '-x' is not a number of seconds"},
        {raw_line({"-q=-"}, {"h", "1"}), "-q: '-' is not a number of seconds"},
        {raw_line({"--rcvbuf=0"}, {"h", "1"}), "--rcvbuf: "},
        {raw_line({"--backlog=65536", "-l"}, {"1"}), "--backlog: "},
        {raw_line({"--source=-1"}, {"h", "1"}), "--source: "},
        {raw_line({"--keepalive=1,2,3,4"}, {"h", "1"}), "keepalive"},
        {raw_line({}, {"h", "99999"}), "99999"},
        {raw_line({}, {"h"}), "usage: sockcat [options] HOST PORT"},
        {raw_line({"-l"}, {}), "usage: sockcat -l [HOST] PORT"},
        {raw_line({"-l"}, {"a", "b", "1"}), "usage: sockcat -l [HOST] PORT"},
        {raw_line({"-l", "-p=7777"}, {"8888"}), "-p 7777 and operand 8888: more than one port"},
        {raw_line({"-U"}, {"a", "b"}), "usage: sockcat -U [-l] PATH"},
        {raw_line({"-z"}, {"h"}), "usage: sockcat -z HOST PORT[-PORT]..."},
        {raw_line({"-z"}, {"h", "30-20"}), "30-20"},
        {raw_line({}, {"", "1"}), "host operand: empty value"},
        {raw_line({}, {"h", ""}), "port operand: empty value"},
        {raw_line({"-l"}, {""}), "port operand: empty value"},
        {raw_line({"-l", "-p=1"}, {""}), "host operand: empty value"},
        {raw_line({"-U"}, {""}), "path operand: empty value"},
        {raw_line({"-z"}, {"h", ""}), "port operand: empty value"},
    };
    for (const auto& [raw, want] : cases) {
        const auto got = usage_error(raw);
        INFO("want " << want << ", got " << got);
        CHECK(!got.empty());
        CHECK(got.find(want) != std::string::npos);
    }
}

TEST_CASE("a valid command line converts to the options it says", "[net]") {
    auto o = convert_options(
        raw_line({"-v", "-n", "-w=1.5", "-q=0", "--close=rst", "--linger2=7", "--keepalive=5,,3"},
                 {"127.0.0.1", "80"}));
    REQUIRE(o);
    CHECK(o->verbose);
    CHECK(o->numeric);
    CHECK(o->host == "127.0.0.1");
    CHECK(o->port == 80);
    CHECK(o->timeout == std::chrono::milliseconds(1500));
    CHECK(o->relay.idle_timeout == o->timeout);
    CHECK(o->relay.on_eof == OnEof::close);  // -q 0 quits at EOF
    CHECK(o->relay.close_mode == CloseMode::rst);
    CHECK(o->sock.linger2_s == 7);
    REQUIRE(o->sock.keepalive);
    CHECK(o->sock.keepalive->idle_s == 5u);
    CHECK(!o->sock.keepalive->interval_s);
    CHECK(o->sock.keepalive->count == 3u);
    CHECK(!o->sock.reuseaddr);

    auto l = convert_options(raw_line({"-l", "-k", "-u"}, {"9"}));
    CHECK(!l);  // -k and -u
    l = convert_options(raw_line({"-l", "-p=9", "--send-only"}, {"::1"}));
    REQUIRE(l);
    CHECK(l->listen);
    CHECK(l->sock.reuseaddr);  // nc's habit when listening
    CHECK(l->host == "::1");
    CHECK(l->port == 9);
    CHECK(!l->write_stdout);
    CHECK(l->relay.on_eof == OnEof::close);

    auto q = convert_options(raw_line({"-q=-1", "--source=10"}, {"h", "1"}));
    REQUIRE(q);
    CHECK(q->relay.quit_after_eof.count() < 0);
    CHECK(q->relay.service == Service::source);
    CHECK(q->relay.source_bytes == 10);
    CHECK(!q->read_stdin);

    auto tty = raw_line({}, {"h", "1"});
    tty.stdin_is_tty = true;
    CHECK(convert_options(tty)->relay.on_peer_close == OnPeerClose::close);
    tty.given.emplace_back("-d", "");
    CHECK(convert_options(tty)->relay.on_peer_close == OnPeerClose::finish);

    auto z = convert_options(raw_line({"-z"}, {"h", "20-22", "80"}));
    REQUIRE(z);
    CHECK(z->ranges == std::vector<PortRange>{{20, 22}, {80, 80}});
    auto src = convert_options(raw_line({"-s=127.0.0.2", "-p=4000"}, {"h", "1"}));
    REQUIRE(src);
    REQUIRE(src->source);
    CHECK(src->source->host == "127.0.0.2");
    CHECK(src->source->port == 4000);
}

TEST_CASE("keyword options are checked against their tables' words", "[net]") {
    CHECK(check_cat_keyword("--on-eof", "close").empty());
    CHECK(check_cat_keyword("--on-eof", "maybe") == "'maybe' is not " + on_eof_words());
    CHECK(check_cat_keyword("--close", "fin").empty());
    CHECK(check_cat_keyword("--close", "hold") == "'hold' is not " + close_mode_words());
    CHECK(check_cat_keyword("--on-peer-close", "").empty());  // named by the empty check
    CHECK(check_cat_keyword("-w", "anything").empty());
    for (const auto& o : cat_options())
        if (o.keyword) {
            INFO(o.names);
            CHECK(o.help.find('|') != std::string::npos);  // the help shows the words
        }
}

// ---------------------------------------------------------------- sockcat's words

TEST_CASE("nc -v lines read as netcat-openbsd prints them", "[net]") {
    CatOptions o;
    o.host = "localhost";
    CHECK(connected_line(o, "127.0.0.1", 80, "http") ==
          "Connection to localhost (127.0.0.1) 80 port [tcp/http] succeeded!\n");
    o.numeric = true;
    CHECK(connected_line(o, "127.0.0.1", 80, "http") ==
          "Connection to localhost 80 port [tcp/http] succeeded!\n");
    o.numeric = false;
    o.host = "127.0.0.1";
    o.proto = Proto::udp;
    CHECK(connected_line(o, "127.0.0.1", 53, "domain") ==
          "Connection to 127.0.0.1 53 port [udp/domain] succeeded!\n");
    CHECK(connected_line(o, "", 9, "*") == "Connection to 127.0.0.1 9 port [udp/*] succeeded!\n");
    CHECK(listening_lines(o, "0.0.0.0", 9) == "Bound on 0.0.0.0 9\n");
    CHECK(received_line(o, "localhost", 41000) == "Connection received on localhost 41000\n");
    o.proto = Proto::tcp;
    CHECK(listening_lines(o, "::", 7) == "Listening on :: 7\n");
    o.proto = Proto::unix_stream;
    o.unix_path = "/tmp/s";
    CHECK(connected_line(o, "x", 0, "*") == "Connection to /tmp/s succeeded!\n");
    CHECK(received_line(o, "", 0) == "Connection received on /tmp/s\n");
    CHECK(listening_lines(o, "", 0) == "Bound on /tmp/s\nListening on /tmp/s\n");
}

TEST_CASE("show-state lines name both ends and both states", "[net]") {
    CHECK(state_line("127.0.0.1:1", "127.0.0.1:2", TcpState::established, TcpState::fin_wait1,
                     "sent FIN after stdin EOF") ==
          "sockcat: 127.0.0.1:1 -> 127.0.0.1:2 ESTABLISHED -> FIN_WAIT_1 (sent FIN after stdin "
          "EOF)\n");
    CHECK(state_line("a", "*", TcpState::close, std::nullopt, "closed") ==
          "sockcat: a -> * CLOSED -> CLOSED (closed)\n");
    CHECK(listening_state_line("[::]:9", TcpState::listen) ==
          "sockcat: [::]:9 CLOSED -> LISTEN (listening)\n");
    CHECK(fd_limit_line(std::make_error_code(std::errc::too_many_files_open)) ==
          "sockcat: accept: too many open files; new clients wait until a session ends\n");
}

TEST_CASE("run_cat connects, narrates through its hooks and relays", "[net]") {
    auto addrs = resolve("127.0.0.1", 0, Want::v4, true, true, Proto::tcp);
    REQUIRE(addrs);
    auto lst = open_listener(addrs->front(), Proto::tcp, SocketOptions{});
    REQUIRE(lst);
    const auto port = local_address(lst->get())->port();
    auto o = convert_options(
        raw_line({"-v", "-n", "--show-state", "-d", "-w=10"}, {"127.0.0.1", std::to_string(port)}));
    REQUIRE(o);
    auto out = make_pipe();
    std::vector<std::string> said;
    std::vector<std::string> errors;
    std::thread peer([&] {  // no Catch2 assertions off the main thread
        pollfd p{lst->get(), POLLIN, 0};
        if (::poll(&p, 1, 10'000) != 1) return;
        const Fd c(::accept4(lst->get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (c) (void)!::write(c.get(), "hello\n", 6);
    });  // c closes: the peer's FIN
    const CatHooks hooks{[&](std::string_view l) { said.emplace_back(l); },
                         [&](const Error& e) { errors.push_back(e.message()); }, -1, out.w.get()};
    CHECK(run_cat(*o, hooks, -1) == exit_ok);
    peer.join();
    out.w.reset();
    CHECK(read_all(out.r.get()).first == "hello\n");
    CHECK(errors.empty());
    REQUIRE(said.size() >= 2);
    CHECK(said[0] == fmt::format("Connection to 127.0.0.1 {} port [tcp/{}] succeeded!\n", port,
                                 service_name(port, Proto::tcp)));
    // The first state line is the connect: ESTABLISHED, or CLOSE_WAIT already when
    // the peer's FIN came in before sockcat looked (a loaded machine).
    INFO(said[1]);
    CHECK((said[1].find("SYN_SENT -> ESTABLISHED (connected)") != std::string::npos ||
           said[1].find("SYN_SENT -> CLOSE_WAIT") != std::string::npos));
    for (const auto& line : said) {  // every --show-state line names both ends
        INFO(line);
        CHECK((line.rfind("Connection", 0) == 0 ||
               line.find(fmt::format(" -> 127.0.0.1:{} ", port)) != std::string::npos));
    }
}

TEST_CASE("run_cat reports a refused connection through its error hook", "[net]") {
    auto addrs = resolve("127.0.0.1", 0, Want::v4, true, true, Proto::tcp);
    REQUIRE(addrs);
    std::uint16_t port = 0;
    {
        auto b = open_bound(addrs->front(), Proto::tcp, SocketOptions{});
        REQUIRE(b);
        port = local_address(b->get())->port();
    }  // closed again: nothing listens there
    auto o = convert_options(raw_line({"-n", "-d"}, {"127.0.0.1", std::to_string(port)}));
    REQUIRE(o);
    std::vector<Error> errors;
    const CatHooks hooks{[](std::string_view) {}, [&](const Error& e) { errors.push_back(e); }, -1,
                         -1};
    CHECK(run_cat(*o, hooks, -1) == exit_runtime);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == std::errc::connection_refused);
}
