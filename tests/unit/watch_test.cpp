// Unit tests of the watch module: diffing, source merging, lines, counts, --warn, trace lines.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "socklab/events.hpp"
#include "socklab/watch.hpp"

using namespace socklab;
using namespace socklab::watch;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point(std::chrono::seconds(1'800'000'000));

SocketRecord tcp(std::uint32_t lport, std::uint32_t pport, TcpState state, std::uint64_t cookie) {
    SocketRecord r;
    r.netid = Netid::tcp;
    r.family = Family::inet;
    r.local.addr = IpAddr::v4(0x7f000001);
    r.peer.addr = IpAddr::v4(pport == 0 ? 0 : 0x7f000001);
    r.local.port = lport;
    r.peer.port = pport;
    r.state = state;
    r.cookie = cookie;
    return r;
}

diag::Snapshot snap(Clock::time_point t, std::vector<SocketRecord> records) {
    return diag::Snapshot{t, std::move(records)};
}

diag::StateTransition trans(Clock::time_point t, std::uint64_t skaddr, std::uint32_t lport,
                            std::uint32_t pport, TcpState from, TcpState to) {
    diag::StateTransition tr;
    tr.time = t;
    tr.skaddr = skaddr;
    tr.old_state = from;
    tr.new_state = to;
    tr.socket = tcp(lport, pport, to, 0);
    return tr;
}

/// "NEW SYN_SENT", "CHANGE SYN_SENT>ESTABLISHED", "GONE LAST_ACK".
std::vector<std::string> summary(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const Event& e : events) {
        std::string s(event_kind_name(e.kind));
        // Appended piece by piece: " " + std::string is a false -Wrestrict at GCC 12 -O3.
        if (e.kind == EventKind::new_) s.append(" ").append(state_info(e.state).json);
        if (e.kind == EventKind::change)
            s.append(" ")
                .append(state_info(e.old_state).json)
                .append(">")
                .append(state_info(e.state).json);
        if (e.kind == EventKind::gone) s.append(" ").append(state_info(e.old_state).json);
        out.push_back(s);
    }
    return out;
}

void append(std::vector<Event>& to, std::vector<Event> from) {
    for (auto& e : from)
        to.push_back(std::move(e));
}

}  // namespace

TEST_CASE("snapshots diff into NEW, CHANGE and GONE keyed by cookie", "[watch]") {
    Tracker tr;
    auto e1 = tr.apply_snapshot(
        snap(t0, {tcp(80, 0, TcpState::listen, 1), tcp(80, 5000, TcpState::established, 2)}));
    CHECK(summary(e1) == std::vector<std::string>{"NEW LISTEN", "NEW ESTABLISHED"});
    auto e2 = tr.apply_snapshot(
        snap(t0 + 1s, {tcp(80, 0, TcpState::listen, 1), tcp(80, 5000, TcpState::close_wait, 2)}));
    CHECK(summary(e2) == std::vector<std::string>{"CHANGE ESTABLISHED>CLOSE_WAIT"});
    CHECK(e2[0].origin == EventOrigin::poll);
    CHECK(e2[0].socket.peer.port == 5000);
    auto e3 = tr.apply_snapshot(snap(t0 + 2s, {tcp(80, 0, TcpState::listen, 1)}));
    CHECK(summary(e3) == std::vector<std::string>{"GONE CLOSE_WAIT"});
    CHECK(e3[0].state == TcpState::close);
    CHECK(tr.size() == 1);
    CHECK(tr.invariants_hold());
}

TEST_CASE("an unchanged snapshot yields no events and a reused port with a new cookie is NEW",
          "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(snap(t0, {tcp(80, 5000, TcpState::established, 7)}));
    CHECK(tr.apply_snapshot(snap(t0 + 1s, {tcp(80, 5000, TcpState::established, 7)})).empty());
    auto e = tr.apply_snapshot(snap(t0 + 2s, {tcp(80, 5000, TcpState::established, 8)}));
    CHECK(summary(e) == std::vector<std::string>{"NEW ESTABLISHED", "GONE ESTABLISHED"});
    CHECK(tr.invariants_hold());
}

TEST_CASE("counts hold the live rows per display state", "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(snap(
        t0, {tcp(80, 0, TcpState::listen, 1), tcp(80, 5000, TcpState::close_wait, 2),
             tcp(80, 5001, TcpState::close_wait, 3), tcp(80, 5002, TcpState::new_syn_recv, 4)}));
    const StateCounts c = tr.counts();
    CHECK(c[static_cast<std::size_t>(TcpState::close_wait)] == 2);
    CHECK(c[static_cast<std::size_t>(TcpState::listen)] == 1);
    CHECK(c[static_cast<std::size_t>(TcpState::syn_recv)] == 1);
    CHECK(c[static_cast<std::size_t>(TcpState::new_syn_recv)] == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("the accept predicate keeps unwanted sockets out", "[watch]") {
    Tracker tr([](const SocketRecord& r) { return r.local.port == 80; });
    auto e = tr.apply_snapshot(
        snap(t0, {tcp(80, 1, TcpState::established, 1), tcp(81, 1, TcpState::established, 2)}));
    CHECK(e.size() == 1);
    CHECK(tr.size() == 1);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a tracepoint lifecycle yields every transition and TIME_WAIT from the snapshot",
          "[watch]") {
    Tracker tr;
    std::vector<Event> ev;
    // Client: connect() fires CLOSE -> SYN_SENT before the source port is chosen.
    append(ev, tr.apply_transition(trans(t0, 0xa, 0, 80, TcpState::close, TcpState::syn_sent)));
    CHECK(ev.empty());
    append(ev, tr.apply_transition(
                   trans(t0 + 1ms, 0xa, 5000, 80, TcpState::syn_sent, TcpState::established)));
    append(ev, tr.apply_transition(
                   trans(t0 + 2ms, 0xb, 80, 5000, TcpState::listen, TcpState::syn_recv)));
    append(ev, tr.apply_transition(
                   trans(t0 + 3ms, 0xb, 80, 5000, TcpState::syn_recv, TcpState::established)));
    append(ev, tr.apply_transition(
                   trans(t0 + 4ms, 0xa, 5000, 80, TcpState::established, TcpState::fin_wait1)));
    append(ev, tr.apply_transition(
                   trans(t0 + 5ms, 0xb, 80, 5000, TcpState::established, TcpState::close_wait)));
    append(ev, tr.apply_transition(
                   trans(t0 + 6ms, 0xa, 5000, 80, TcpState::fin_wait1, TcpState::fin_wait2)));
    append(ev, tr.apply_transition(
                   trans(t0 + 7ms, 0xb, 80, 5000, TcpState::close_wait, TcpState::last_ack)));
    // The full client socket closes: TIME_WAIT or gone, the snapshot decides.
    append(ev, tr.apply_transition(
                   trans(t0 + 8ms, 0xa, 5000, 80, TcpState::fin_wait2, TcpState::close)));
    append(ev, tr.apply_transition(
                   trans(t0 + 9ms, 0xb, 80, 5000, TcpState::last_ack, TcpState::close)));
    append(ev, tr.apply_snapshot(snap(t0 + 10ms, {tcp(5000, 80, TcpState::time_wait, 42)})));
    CHECK(summary(ev) ==
          std::vector<std::string>{"NEW SYN_SENT", "CHANGE SYN_SENT>ESTABLISHED", "NEW SYN_RECV",
                                   "CHANGE SYN_RECV>ESTABLISHED", "CHANGE ESTABLISHED>FIN_WAIT1",
                                   "CHANGE ESTABLISHED>CLOSE_WAIT", "CHANGE FIN_WAIT1>FIN_WAIT2",
                                   "CHANGE CLOSE_WAIT>LAST_ACK", "GONE LAST_ACK",
                                   "CHANGE FIN_WAIT2>TIME_WAIT"});
    CHECK(ev[0].socket.local.port == 5000);  // the deferred NEW carries the real port
    CHECK(ev[0].time == t0);                 // ... and the time of the transition
    CHECK(ev.back().time == t0 + 8ms);
    CHECK(ev.back().socket.cookie == 42);
    // The minisocket expires: GONE from the poll.
    auto gone = tr.apply_snapshot(snap(t0 + 60s, {}));
    CHECK(summary(gone) == std::vector<std::string>{"GONE TIME_WAIT"});
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a closing socket missing from the next snapshot is GONE at its close time", "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(snap(t0, {tcp(5000, 80, TcpState::fin_wait2, 9)}));
    auto none =
        tr.apply_transition(trans(t0 + 1s, 0xc, 5000, 80, TcpState::fin_wait2, TcpState::close));
    CHECK(none.empty());
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::fin_wait2)] == 0);
    auto e = tr.apply_snapshot(snap(t0 + 2s, {}));
    CHECK(summary(e) == std::vector<std::string>{"GONE FIN_WAIT2"});
    CHECK(e[0].origin == EventOrigin::tracepoint);
    CHECK(e[0].time == t0 + 1s);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a snapshot older than a tracepoint event does not undo it", "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(snap(t0, {tcp(80, 5000, TcpState::established, 3)}));
    auto e = tr.apply_transition(
        trans(t0 + 2s, 0xd, 80, 5000, TcpState::established, TcpState::close_wait));
    CHECK(summary(e) == std::vector<std::string>{"CHANGE ESTABLISHED>CLOSE_WAIT"});
    // This dump started before the transition: it still says ESTABLISHED.
    CHECK(tr.apply_snapshot(snap(t0 + 1s, {tcp(80, 5000, TcpState::established, 3)})).empty());
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::close_wait)] == 1);
    CHECK(tr.invariants_hold());
}

TEST_CASE("tracepoint rows of other namespaces age out against snapshots", "[watch]") {
    Tracker tr;
    for (std::uint32_t i = 0; i < 100; ++i)
        (void)tr.apply_transition(
            trans(t0, 0x1000 + i, 6000 + i, 80, TcpState::syn_sent, TcpState::established));
    CHECK(tr.size() == 100);
    (void)tr.apply_snapshot(snap(t0 + 1s, {}));
    CHECK(tr.size() == 100);  // one missed dump may be a race
    auto e = tr.apply_snapshot(snap(t0 + 2s, {}));
    CHECK(tr.size() == 0);
    CHECK(e.empty());
    // Their later transitions stay ignored.
    CHECK(tr.apply_transition(
                trans(t0 + 3s, 0x1000, 6000, 80, TcpState::established, TcpState::fin_wait1))
              .empty());
    CHECK(tr.invariants_hold());
}

TEST_CASE("destroy messages report sockets born and freed between polls, once", "[watch]") {
    Tracker tr;
    diag::DestroyedSocket d{t0, tcp(5000, 80, TcpState::close, 77)};
    CHECK(tr.apply_destroyed(d).empty());  // TIME_WAIT may follow: the snapshot decides
    CHECK(tr.apply_destroyed(d).empty());
    auto e = tr.apply_snapshot(snap(t0 + 1s, {}));
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == EventKind::gone);
    CHECK(e[0].origin == EventOrigin::destroy);
    CHECK(e[0].time == t0);
    CHECK(format_event_text(e[0]).substr(26) == " GONE tcp 127.0.0.1:5000 127.0.0.1:80 CLOSE");
    CHECK(tr.apply_destroyed(d).empty());
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("an active closer freed between polls shows up as NEW in TIME_WAIT", "[watch]") {
    Tracker tr;
    CHECK(tr.apply_destroyed({t0, tcp(5000, 80, TcpState::close, 78)}).empty());
    auto e = tr.apply_snapshot(snap(t0 + 1s, {tcp(5000, 80, TcpState::time_wait, 78)}));
    CHECK(summary(e) == std::vector<std::string>{"NEW TIME_WAIT"});
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::time_wait)] == 1);
    // The minisocket got its own cookie when the full socket never had one.
    CHECK(tr.apply_destroyed({t0 + 2s, tcp(5001, 80, TcpState::close, 79)}).empty());
    auto e2 = tr.apply_snapshot(snap(
        t0 + 3s, {tcp(5000, 80, TcpState::time_wait, 78), tcp(5001, 80, TcpState::time_wait, 80)}));
    CHECK(summary(e2) == std::vector<std::string>{"NEW TIME_WAIT"});
    CHECK(e2[0].socket.cookie == 80);
    CHECK(tr.apply_destroyed({t0 + 4s, tcp(5001, 80, TcpState::close, 79)}).empty());
    CHECK(tr.size() == 2);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a destroy after the poll already saw the socket vanish is not reported twice",
          "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(snap(t0, {tcp(80, 5000, TcpState::close_wait, 5)}));
    auto e = tr.apply_snapshot(snap(t0 + 1s, {}));
    CHECK(summary(e) == std::vector<std::string>{"GONE CLOSE_WAIT"});
    CHECK(tr.apply_destroyed({t0 + 1s, tcp(80, 5000, TcpState::close, 5)}).empty());
    CHECK(tr.invariants_hold());
}

TEST_CASE("a destroy of a FIN_WAIT2 socket waits for the snapshot to show TIME_WAIT", "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(
        snap(t0, {tcp(5000, 80, TcpState::fin_wait2, 6), tcp(80, 5000, TcpState::last_ack, 8)}));
    auto d1 = tr.apply_destroyed({t0 + 1s, tcp(5000, 80, TcpState::close, 6)});
    CHECK(d1.empty());
    auto d2 = tr.apply_destroyed({t0 + 1s, tcp(80, 5000, TcpState::close, 8)});
    CHECK(summary(d2) == std::vector<std::string>{"GONE LAST_ACK"});
    auto e = tr.apply_snapshot(snap(t0 + 2s, {tcp(5000, 80, TcpState::time_wait, 6)}));
    CHECK(summary(e) == std::vector<std::string>{"CHANGE FIN_WAIT2>TIME_WAIT"});
    CHECK(tr.invariants_hold());
}

TEST_CASE("memory stays bounded under churn", "[watch]") {
    Tracker tr;
    Clock::time_point t = t0;
    for (std::uint64_t round = 0; round < 50; ++round) {
        for (std::uint64_t i = 0; i < 200; ++i) {
            const auto port = static_cast<std::uint32_t>(10000 + i);
            const std::uint64_t sk = round * 1000 + i + 1;
            (void)tr.apply_transition(trans(t, sk, 0, 80, TcpState::close, TcpState::syn_sent));
            (void)tr.apply_transition(
                trans(t, sk, port, 80, TcpState::syn_sent, TcpState::established));
            (void)tr.apply_transition(
                trans(t, sk, port, 80, TcpState::established, TcpState::close));
            (void)tr.apply_destroyed({t, tcp(port, 80, TcpState::close, sk)});
        }
        t += 1s;
        (void)tr.apply_snapshot(snap(t, {}));
    }
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("event lines follow the documented text and JSON shapes", "[watch]") {
    Event e;
    e.time = t0 + 123456us;
    e.kind = EventKind::change;
    e.old_state = TcpState::established;
    e.state = TcpState::close_wait;
    e.origin = EventOrigin::tracepoint;
    e.socket = tcp(6666, 54321, TcpState::close_wait, 99);
    const std::string text = format_event_text(e);
    CHECK(text.substr(19) ==
          ".123456 CHANGE tcp 127.0.0.1:6666 127.0.0.1:54321 ESTABLISHED -> CLOSE_WAIT");
    const std::string json = format_event_json(e);
    CHECK(
        json.find(
            R"("event":"CHANGE","old_state":"ESTABLISHED","state":"CLOSE_WAIT","source":"tracepoint","netid":"tcp","family":"inet","local_addr":"127.0.0.1","local_port":6666,"peer_addr":"127.0.0.1","peer_port":54321,"recv_q":0,"send_q":0,"inode":0,"uid":0,"cookie":99})") !=
        std::string::npos);
    CHECK(json.substr(0, 9) == R"({"time":")");
    e.kind = EventKind::new_;
    CHECK(format_event_json(e).find("old_state") == std::string::npos);
    CHECK(format_event_text(e).substr(26) == " NEW tcp 127.0.0.1:6666 127.0.0.1:54321 CLOSE_WAIT");
}

TEST_CASE("endpoints print IPv6 in brackets and any as a star", "[watch]") {
    SocketRecord r = tcp(22, 0, TcpState::listen, 1);
    r.local.addr = IpAddr::v4(0);
    CHECK(format_endpoint(r, r.local) == "*:22");
    CHECK(format_endpoint(r, r.peer) == "*:*");
    r.family = Family::inet6;
    r.local.addr = *IpAddr::parse("::1");
    CHECK(format_endpoint(r, r.local) == "[::1]:22");
}

TEST_CASE("count lines list every state in table order", "[watch]") {
    StateCounts c{};
    c[static_cast<std::size_t>(TcpState::close_wait)] = 11;
    const std::string text = format_counts_text(t0, c);
    CHECK(text.find(" ESTABLISHED=0 SYN_SENT=0 ") != std::string::npos);
    CHECK(text.find(" CLOSE_WAIT=11 ") != std::string::npos);
    CHECK(text.substr(text.size() - 10) == " CLOSING=0");
    const std::string json = format_counts_json(t0, c);
    CHECK(json.find(R"("CLOSE_WAIT":11)") != std::string::npos);
    CHECK(json.back() == '}');
}

TEST_CASE("warn rules parse any state spelling and reject bad input", "[watch]") {
    auto r = parse_warn("CLOSE_WAIT>10");
    REQUIRE(r.ok());
    CHECK(r->state == TcpState::close_wait);
    CHECK(r->limit == 10);
    auto r2 = parse_warn(" time-wait > 0 ");
    REQUIRE(r2.ok());
    CHECK(r2->state == TcpState::time_wait);
    CHECK_FALSE(parse_warn("CLOSE_WAIT").ok());
    CHECK_FALSE(parse_warn("NOSUCH>1").ok());
    CHECK_FALSE(parse_warn("CLOSE_WAIT>-1").ok());
    CHECK_FALSE(parse_warn("CLOSE_WAIT>99999999999999999999999").ok());
    CHECK_FALSE(parse_warn("CLOSE_WAIT>1x").ok());
}

TEST_CASE("a rule is crossed only when the count exceeds the limit", "[watch]") {
    const std::vector<WarnRule> rules{{TcpState::close_wait, 10}};
    StateCounts c{};
    c[static_cast<std::size_t>(TcpState::close_wait)] = 10;
    CHECK_FALSE(crossed(rules, c));
    c[static_cast<std::size_t>(TcpState::close_wait)] = 11;
    CHECK(crossed(rules, c));
}

TEST_CASE("trace lines parse in the event's own print format", "[watch]") {
    const std::string line =
        "         python3-7591    [001] .Ns2.   623.388550: inet_sock_set_state: family=AF_INET "
        "protocol=IPPROTO_TCP sport=32787 dport=37044 saddr=127.0.0.1 daddr=127.0.0.2 "
        "saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.2 oldstate=TCP_LISTEN "
        "newstate=TCP_SYN_RECV";
    auto tr = diag::parse_trace_line(line, std::chrono::seconds(1000));
    REQUIRE(tr);
    CHECK(tr->old_state == TcpState::listen);
    CHECK(tr->new_state == TcpState::syn_recv);
    CHECK(tr->socket.local.port == 32787);
    CHECK(tr->socket.peer.port == 37044);
    CHECK(tr->socket.peer.addr.to_string() == "127.0.0.2");
    CHECK(tr->addresses_known);
    CHECK(tr->skaddr == 0);
    CHECK(tr->time.time_since_epoch() == std::chrono::microseconds(1'623'388'550));
}

TEST_CASE("trace lines parse in the fields format with skaddr", "[watch]") {
    const std::string v4 =
        "  python3-7621    [000] .N...   632.898449: inet_sock_set_state: "
        "skaddr=0xffff888122ea89c0 "
        "(-131386758755904) oldstate=0x2 (2) newstate=0x1 (1) sport=0xcf70 (53104) dport=0xdc6b "
        "(56427) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x200007f "
        "(33554559) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>";
    auto tr = diag::parse_trace_line(v4, {});
    REQUIRE(tr);
    CHECK(tr->skaddr == 0xffff888122ea89c0ULL);
    CHECK(tr->old_state == TcpState::syn_sent);
    CHECK(tr->new_state == TcpState::established);
    CHECK(tr->socket.local.addr.to_string() == "127.0.0.1");
    CHECK(tr->socket.peer.addr.to_string() == "127.0.0.2");
    CHECK(tr->socket.local.port == 53104);
    CHECK(tr->addresses_known);
    std::string v6 = v4;
    v6.replace(v6.find("family=0x2 (2)"), 14, "family=0xa (10)");
    auto tr6 = diag::parse_trace_line(v6, {});
    REQUIRE(tr6);
    CHECK(tr6->socket.family == Family::inet6);
    CHECK_FALSE(tr6->addresses_known);
}

TEST_CASE("trace lines of other protocols and garbage are refused", "[watch]") {
    CHECK_FALSE(diag::parse_trace_line("", {}));
    CHECK_FALSE(diag::parse_trace_line("# tracer: nop", {}));
    CHECK_FALSE(diag::parse_trace_line(
        "x [0] .... 1.0: inet_sock_set_state: family=AF_INET protocol=IPPROTO_SCTP sport=1 "
        "dport=2 saddr=127.0.0.1 daddr=127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
        {}));
    CHECK_FALSE(diag::parse_trace_line(
        "x [0] .... 1.0: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=99999 "
        "dport=2 saddr=127.0.0.1 daddr=127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
        {}));
    CHECK_FALSE(diag::parse_trace_line(
        "x [0] .... abc: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 "
        "dport=2 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
        {}));
}

TEST_CASE("a UDP socket freed between polls is GONE at once", "[watch]") {
    Tracker tr;
    SocketRecord u = tcp(5353, 0, TcpState::close, 90);
    u.netid = Netid::udp;
    auto e = tr.apply_destroyed({t0, u});
    CHECK(summary(e) == std::vector<std::string>{"GONE CLOSE"});
    CHECK(tr.apply_destroyed({t0, u}).empty());
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("held tracepoint rows of another namespace never reach the stream", "[watch]") {
    Tracker tr;
    tr.confirm_tracepoint_rows(true);
    CHECK(
        tr.apply_transition(trans(t0, 0x1, 7000, 80, TcpState::close, TcpState::syn_sent)).empty());
    CHECK(tr.apply_transition(
                trans(t0 + 1ms, 0x1, 7000, 80, TcpState::syn_sent, TcpState::established))
              .empty());
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::established)] == 0);
    CHECK(tr.apply_snapshot(snap(t0 + 1s, {})).empty());
    CHECK(tr.apply_snapshot(snap(t0 + 2s, {})).empty());
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a held row is released in order once a snapshot shows it", "[watch]") {
    Tracker tr;
    tr.confirm_tracepoint_rows(true);
    (void)tr.apply_transition(trans(t0, 0x2, 7001, 80, TcpState::close, TcpState::syn_sent));
    (void)tr.apply_transition(
        trans(t0 + 1ms, 0x2, 7001, 80, TcpState::syn_sent, TcpState::established));
    auto e = tr.apply_snapshot(snap(t0 + 1s, {tcp(7001, 80, TcpState::established, 55)}));
    CHECK(summary(e) == std::vector<std::string>{"NEW SYN_SENT", "CHANGE SYN_SENT>ESTABLISHED"});
    CHECK(e[0].time == t0);
    // Confirmed: later transitions go out at once.
    auto e2 = tr.apply_transition(
        trans(t0 + 2s, 0x2, 7001, 80, TcpState::established, TcpState::close_wait));
    CHECK(summary(e2) == std::vector<std::string>{"CHANGE ESTABLISHED>CLOSE_WAIT"});
    CHECK(tr.invariants_hold());
}

TEST_CASE("a short connection between polls is vouched for by its destroy message", "[watch]") {
    Tracker tr;
    tr.confirm_tracepoint_rows(true);
    (void)tr.apply_transition(trans(t0, 0x3, 80, 7002, TcpState::listen, TcpState::syn_recv));
    (void)tr.apply_transition(
        trans(t0 + 1ms, 0x3, 80, 7002, TcpState::syn_recv, TcpState::established));
    (void)tr.apply_transition(
        trans(t0 + 2ms, 0x3, 80, 7002, TcpState::established, TcpState::close_wait));
    (void)tr.apply_transition(
        trans(t0 + 3ms, 0x3, 80, 7002, TcpState::close_wait, TcpState::last_ack));
    CHECK(tr.apply_transition(trans(t0 + 4ms, 0x3, 80, 7002, TcpState::last_ack, TcpState::close))
              .empty());
    auto e = tr.apply_destroyed({t0 + 5ms, tcp(80, 7002, TcpState::close, 56)});
    CHECK(summary(e) == std::vector<std::string>{"NEW SYN_RECV", "CHANGE SYN_RECV>ESTABLISHED",
                                                 "CHANGE ESTABLISHED>CLOSE_WAIT",
                                                 "CHANGE CLOSE_WAIT>LAST_ACK", "GONE LAST_ACK"});
    CHECK(tr.size() == 0);
    // The active closer: vouched for by its destroy, settled by the snapshot.
    (void)tr.apply_transition(trans(t0, 0x4, 7003, 80, TcpState::established, TcpState::fin_wait1));
    (void)tr.apply_transition(
        trans(t0 + 1ms, 0x4, 7003, 80, TcpState::fin_wait1, TcpState::fin_wait2));
    (void)tr.apply_transition(trans(t0 + 2ms, 0x4, 7003, 80, TcpState::fin_wait2, TcpState::close));
    auto d = tr.apply_destroyed({t0 + 3ms, tcp(7003, 80, TcpState::close, 57)});
    CHECK(summary(d) == std::vector<std::string>{"NEW ESTABLISHED", "CHANGE ESTABLISHED>FIN_WAIT1",
                                                 "CHANGE FIN_WAIT1>FIN_WAIT2"});
    auto s = tr.apply_snapshot(snap(t0 + 1s, {tcp(7003, 80, TcpState::time_wait, 58)}));
    CHECK(summary(s) == std::vector<std::string>{"CHANGE FIN_WAIT2>TIME_WAIT"});
    CHECK(tr.invariants_hold());
}

TEST_CASE("a row vouched for by a dump older than its last event keeps the dump's cookie",
          "[watch]") {
    Tracker tr;
    tr.confirm_tracepoint_rows(true);
    (void)tr.apply_transition(trans(t0, 0x5, 80, 7004, TcpState::listen, TcpState::syn_recv));
    (void)tr.apply_transition(
        trans(t0 + 2s, 0x5, 80, 7004, TcpState::syn_recv, TcpState::established));
    // The dump started before the last transition was read.
    auto e = tr.apply_snapshot(snap(t0 + 1s, {tcp(80, 7004, TcpState::syn_recv, 9)}));
    CHECK(summary(e) == std::vector<std::string>{"NEW SYN_RECV", "CHANGE SYN_RECV>ESTABLISHED"});
    auto g =
        tr.apply_transition(trans(t0 + 3s, 0x5, 80, 7004, TcpState::established, TcpState::close));
    CHECK(summary(g) == std::vector<std::string>{"GONE ESTABLISHED"});
    CHECK(tr.apply_destroyed({t0 + 4s, tcp(80, 7004, TcpState::close, 9)}).empty());
    CHECK(tr.apply_snapshot(snap(t0 + 5s, {})).empty());
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("trace lines with an impossible timestamp are refused, not overflowed", "[watch]") {
    // Found by parsers_fuzz: 2222222222222 s does not fit in nanoseconds.
    const std::string line =
        "  python3-7621    [000] .N...   2222222222222.898449: inet_sock_set_state: "
        "family=AF_INET protocol=IPPROTO_TCP sport=1 dport=2 saddr=127.0.0.1 daddr=127.0.0.1 "
        "saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_LISTEN "
        "newstate=TCP_SYN_RECV";
    CHECK_FALSE(diag::parse_trace_line(line, {}));
}

namespace {

/// A source that always dumps the same records and counts its dumps.
class FixedSource : public diag::SocketSource {
  public:
    explicit FixedSource(int& dumps) : dumps_(dumps) {}
    Result<std::vector<SocketRecord>> dump(const diag::Query&) override {
        ++dumps_;
        return std::vector<SocketRecord>{tcp(6666, 0, TcpState::listen, 1)};
    }
    std::string_view name() const override { return "fixed"; }

  private:
    int& dumps_;
};

std::unique_ptr<Monitor> poll_monitor(int& dumps, std::chrono::nanoseconds interval) {
    MonitorOptions mo;
    mo.interval = interval;
    mo.source = SourceChoice::poll;
    auto m = Monitor::open(std::make_unique<FixedSource>(dumps), std::move(mo));
    REQUIRE(m);
    return std::move(m).value();
}

}  // namespace

TEST_CASE("a step returns at its deadline however long the interval is", "[watch]") {
    int dumps = 0;
    // 1e9 s, and the longest interval -i accepts (about 285 years): no overflow.
    for (const std::chrono::nanoseconds interval :
         {std::chrono::nanoseconds(std::chrono::seconds(1'000'000'000)),
          std::chrono::nanoseconds(9'000'000'000'000'000'000LL)}) {
        auto m = poll_monitor(dumps, interval);
        REQUIRE(m->start());
        const auto before = std::chrono::steady_clock::now();
        auto step = m->step({}, before + 50ms);
        const auto took = std::chrono::steady_clock::now() - before;
        REQUIRE(step);
        CHECK_FALSE(step->polled);
        CHECK(took >= 50ms);
        CHECK(took < 1s);
        CHECK(m->tracker().counts()[static_cast<std::size_t>(TcpState::listen)] == 1);
    }
    CHECK(dumps == 2);  // the two baselines, no poll since
}

TEST_CASE("a step polls when the interval comes before the deadline", "[watch]") {
    int dumps = 0;
    auto m = poll_monitor(dumps, 20ms);
    REQUIRE(m->start());
    auto step = m->step({}, std::chrono::steady_clock::now() + 10s);
    REQUIRE(step);
    CHECK(step->polled);
    CHECK(dumps == 2);
}

TEST_CASE("a readable extra descriptor ends the wait at once", "[watch]") {
    int dumps = 0;
    auto m = poll_monitor(dumps, std::chrono::seconds(1'000'000));
    REQUIRE(m->start());
    int p[2];
    REQUIRE(::pipe(p) == 0);
    REQUIRE(::write(p[1], "x", 1) == 1);
    const int extra[] = {p[0]};
    auto step = m->step(extra);
    ::close(p[0]);
    ::close(p[1]);
    REQUIRE(step);
    REQUIRE(step->extra_ready.size() == 1);
    CHECK(step->extra_ready[0]);
}

TEST_CASE("sockwatch writes the socket members sockls writes: wildcards as 0.0.0.0", "[watch]") {
    Event e;
    e.time = t0;
    e.kind = EventKind::new_;
    e.state = TcpState::listen;
    e.socket = tcp(22, 0, TcpState::listen, 5);
    e.socket.local.addr = IpAddr::v4(0);
    const std::string json = format_event_json(e);
    CHECK(json.find(
              R"("local_addr":"0.0.0.0","local_port":22,"peer_addr":"0.0.0.0","peer_port":0)") !=
          std::string::npos);
    CHECK(json.find(R"("*")") == std::string::npos);
    fmt::memory_buffer members;
    append_socket_json(members, e.socket, false);
    CHECK(json.find(fmt::to_string(members) + "}") != std::string::npos);
    e.socket.family = Family::inet6;
    e.socket.local.addr = *IpAddr::parse("::");
    e.socket.peer.addr = *IpAddr::parse("::");
    CHECK(format_event_json(e).find(R"("local_addr":"::","local_port":22,"peer_addr":"::")") !=
          std::string::npos);
}

TEST_CASE("row lives move only along the written table", "[watch]") {
    using L = RowLife;
    const std::vector<L> all{L::live, L::waiting_port, L::settling, L::settling_unannounced,
                             L::closed_unvouched};
    std::vector<std::string> moves;
    for (const L from : all)
        for (const L to : all)
            if (row_life_allowed(from, to))
                moves.push_back(std::string(row_life_name(from)) + ">" +
                                std::string(row_life_name(to)));
    CHECK(moves ==
          std::vector<std::string>{"live>settling", "live>closed_unvouched", "waiting_port>live",
                                   "waiting_port>settling", "settling>live", "settling>settling",
                                   "settling>closed_unvouched", "settling_unannounced>live"});
}

TEST_CASE("a connect waits for its port, then lives, settles and lives on in TIME_WAIT",
          "[watch]") {
    Tracker tr;
    (void)tr.apply_transition(trans(t0, 0xa, 0, 80, TcpState::close, TcpState::syn_sent));
    CHECK(tr.count_in(RowLife::waiting_port) == 1);
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::syn_sent)] == 1);
    (void)tr.apply_transition(
        trans(t0 + 1ms, 0xa, 5000, 80, TcpState::syn_sent, TcpState::established));
    CHECK(tr.count_in(RowLife::live) == 1);
    (void)tr.apply_transition(
        trans(t0 + 2ms, 0xa, 5000, 80, TcpState::established, TcpState::fin_wait1));
    (void)tr.apply_transition(trans(t0 + 3ms, 0xa, 5000, 80, TcpState::fin_wait1, TcpState::close));
    CHECK(tr.count_in(RowLife::settling) == 1);
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::fin_wait1)] ==
          0);  // settling: not counted
    (void)tr.apply_snapshot(snap(t0 + 1s, {tcp(5000, 80, TcpState::time_wait, 42)}));
    CHECK(tr.count_in(RowLife::live) == 1);
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::time_wait)] == 1);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a destroy before any dump is unannounced until the dump: NEW or nothing", "[watch]") {
    Tracker tr;
    (void)tr.apply_destroyed({t0, tcp(6000, 80, TcpState::fin_wait2, 77)});
    CHECK(tr.count_in(RowLife::settling_unannounced) == 1);
    CHECK(tr.counts() == StateCounts{});
    const auto e = tr.apply_snapshot(snap(t0 + 1s, {tcp(6000, 80, TcpState::time_wait, 77)}));
    CHECK(summary(e) == std::vector<std::string>{"NEW TIME_WAIT"});
    CHECK(tr.count_in(RowLife::live) == 1);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a held row closed before it is vouched for waits closed, then goes", "[watch]") {
    Tracker tr;
    tr.confirm_tracepoint_rows(true);
    (void)tr.apply_transition(trans(t0, 0x9, 80, 7100, TcpState::listen, TcpState::syn_recv));
    (void)tr.apply_transition(trans(t0 + 1ms, 0x9, 80, 7100, TcpState::syn_recv, TcpState::close));
    CHECK(tr.count_in(RowLife::closed_unvouched) == 1);
    CHECK(tr.counts() == StateCounts{});
    diag::DestroyedSocket d{t0 + 2ms, tcp(80, 7100, TcpState::close, 31)};
    const auto e = tr.apply_destroyed(d);
    CHECK(summary(e) == std::vector<std::string>{"NEW SYN_RECV", "GONE SYN_RECV"});
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

TEST_CASE("a destroy message after the tracepoint's GONE does not bring the socket back",
          "[watch]") {
    // The passive closer's LAST_ACK -> CLOSE comes first from the tracepoint, before
    // any dump told its cookie; the destroy message of the same socket follows.
    Tracker tr;
    (void)tr.apply_transition(trans(t0, 0xb, 80, 5000, TcpState::listen, TcpState::syn_recv));
    (void)tr.apply_transition(
        trans(t0 + 1ms, 0xb, 80, 5000, TcpState::syn_recv, TcpState::established));
    (void)tr.apply_transition(
        trans(t0 + 2ms, 0xb, 80, 5000, TcpState::established, TcpState::close_wait));
    (void)tr.apply_transition(
        trans(t0 + 3ms, 0xb, 80, 5000, TcpState::close_wait, TcpState::last_ack));
    const auto gone =
        tr.apply_transition(trans(t0 + 4ms, 0xb, 80, 5000, TcpState::last_ack, TcpState::close));
    CHECK(summary(gone) == std::vector<std::string>{"GONE LAST_ACK"});
    CHECK(tr.apply_destroyed({t0 + 5ms, tcp(80, 5000, TcpState::close, 43)}).empty());
    CHECK(tr.apply_snapshot(snap(t0 + 1s, {})).empty());  // no GONE CLOSE a second time
    CHECK(tr.size() == 0);
    CHECK(tr.invariants_hold());
}

namespace {

std::string golden_text(const std::string& rel) {
    const Fd fd(::open((std::string(SOCKLAB_GOLDEN_DIR) + "/" + rel).c_str(), O_RDONLY));
    REQUIRE(fd.valid());
    auto text = read_all(fd.get(), 1 << 20);
    REQUIRE(text);
    return *text;
}

diag::SetStateLayout kernel_layout() {
    auto format = diag::parse_trace_format(golden_text("trace/inet_sock_set_state.format"));
    REQUIRE(format);
    auto layout = diag::set_state_layout(*format);
    REQUIRE(layout);
    return *layout;
}

/// A raw inet_sock_set_state record laid out by `l`.
std::vector<std::byte> raw_record(const diag::SetStateLayout& l, std::uint16_t family,
                                  std::uint16_t sport, std::uint16_t dport, int oldstate,
                                  int newstate, const IpAddr& src, const IpAddr& dst) {
    std::vector<std::byte> r(72);
    const auto put = [&](const diag::TraceField& f, const void* v, std::size_t n) {
        REQUIRE(f.offset + n <= r.size());
        std::memcpy(r.data() + f.offset, v, n);
    };
    const auto id = static_cast<std::uint16_t>(l.id);
    std::memcpy(r.data(), &id, 2);
    const std::uint64_t sk = 0xffff888100001000ULL + sport;
    const std::uint16_t proto = 6;
    put(l.skaddr, &sk, 8);
    put(l.oldstate, &oldstate, 4);
    put(l.newstate, &newstate, 4);
    put(l.sport, &sport, 2);
    put(l.dport, &dport, 2);
    put(l.family, &family, 2);
    put(l.protocol, &proto, 2);
    if (family == 2) {
        put(l.saddr, src.bytes.data(), 4);
        put(l.daddr, dst.bytes.data(), 4);
    } else {
        put(l.saddr_v6, src.bytes.data(), 16);
        put(l.daddr_v6, dst.bytes.data(), 16);
    }
    return r;
}

/// A ring-buffer page: header, then the given events (each a header word and data).
class RawPage {
  public:
    explicit RawPage(std::uint64_t ts) { put64(ts), put64(0); }
    void data(std::uint32_t delta, const std::vector<std::byte>& rec) {
        put32((delta << 5) | static_cast<std::uint32_t>(rec.size() / 4));
        bytes_.insert(bytes_.end(), rec.begin(), rec.end());
    }
    void time_extend(std::uint64_t delta) {
        put32(static_cast<std::uint32_t>((delta & ((1U << 27) - 1)) << 5) | 30U);
        put32(static_cast<std::uint32_t>(delta >> 27));
    }
    std::vector<std::byte> finish(std::uint64_t flags = 0, std::optional<std::uint64_t> lost = {}) {
        std::vector<std::byte> page = bytes_;
        const std::uint64_t commit = (page.size() - 16) | flags;
        std::memcpy(page.data() + 8, &commit, 8);
        if (lost) {
            page.resize(page.size() + 8);
            std::memcpy(page.data() + page.size() - 8, &*lost, 8);
        }
        page.resize(4096);
        return page;
    }

  private:
    void put32(std::uint32_t v) {
        const auto* p = reinterpret_cast<const std::byte*>(&v);
        bytes_.insert(bytes_.end(), p, p + 4);
    }
    void put64(std::uint64_t v) {
        const auto* p = reinterpret_cast<const std::byte*>(&v);
        bytes_.insert(bytes_.end(), p, p + 8);
    }
    std::vector<std::byte> bytes_;
};

IpAddr addr(const char* text) {
    auto a = IpAddr::parse(text);
    REQUIRE(a);
    return *a;
}

}  // namespace

TEST_CASE("the tracepoint's format file gives its id and field offsets", "[watch]") {
    auto format = diag::parse_trace_format(golden_text("trace/inet_sock_set_state.format"));
    REQUIRE(format);
    CHECK(format->id == 2287);
    const auto* v6 = format->field("saddr_v6");
    REQUIRE(v6 != nullptr);
    CHECK(v6->offset == 40);
    CHECK(v6->size == 16);
    CHECK(format->field("common_pid") != nullptr);
    CHECK(format->field("nothing") == nullptr);
    CHECK(diag::set_state_layout(*format));
    CHECK_FALSE(diag::parse_trace_format("field:int x;\toffset:0;\tsize:4;\n"));  // no ID
    CHECK_FALSE(diag::parse_trace_format("ID: 7\nfield:int x;\toffset:zero;\tsize:4;\n"));
    auto partial = diag::parse_trace_format("ID: 7\nfield:int oldstate;\toffset:16;\tsize:4;\n");
    REQUIRE(partial);
    const auto missing = diag::set_state_layout(*partial);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().context.find("no field skaddr") != std::string::npos);
}

TEST_CASE("raw tracepoint pages decode IPv4 and IPv6 addresses in time order", "[watch]") {
    const auto l = kernel_layout();
    RawPage page(1'000'000'000);  // 1 s on the trace clock
    page.data(5, raw_record(l, 10, 40000, 9600, 2, 1, addr("::1"), addr("2001:db8::7")));
    page.time_extend(1ULL << 30);
    page.data(0, raw_record(l, 2, 40001, 80, 1, 4, addr("127.0.0.1"), addr("127.0.0.2")));
    auto other = raw_record(l, 2, 1, 2, 7, 10, addr("127.0.0.1"), addr("127.0.0.1"));
    other[0] = std::byte{1};  // another event's id: skipped
    page.data(1, other);
    const auto bytes = page.finish();
    const auto got = diag::decode_trace_page(bytes, l, std::chrono::seconds(100));
    REQUIRE(got.transitions.size() == 2);
    CHECK_FALSE(got.lost);
    const auto& a = got.transitions[0];
    CHECK(a.socket.family == Family::inet6);
    CHECK(a.addresses_known);
    CHECK(a.socket.local.addr.to_string() == "::1");
    CHECK(a.socket.peer.addr.to_string() == "2001:db8::7");
    CHECK(a.socket.local.port == 40000);
    CHECK(a.old_state == TcpState::syn_sent);
    CHECK(a.new_state == TcpState::established);
    CHECK(a.skaddr == 0xffff888100001000ULL + 40000);
    CHECK(a.time.time_since_epoch() == std::chrono::nanoseconds(101'000'000'005));
    const auto& b = got.transitions[1];
    CHECK(b.socket.family == Family::inet);
    CHECK(b.socket.peer.addr.to_string() == "127.0.0.2");
    CHECK(b.new_state == TcpState::fin_wait1);
    CHECK(b.time - a.time == std::chrono::nanoseconds(1ULL << 30));
}

TEST_CASE("raw tracepoint pages report the kernel's missed-events count", "[watch]") {
    const auto l = kernel_layout();
    RawPage page(0);
    page.data(0, raw_record(l, 2, 1, 2, 1, 8, addr("127.0.0.1"), addr("127.0.0.1")));
    const auto stored =
        diag::decode_trace_page(page.finish((1ULL << 31) | (1ULL << 30), 1234), l, {});
    CHECK(stored.lost);
    CHECK(stored.lost_count == 1234);
    CHECK(stored.transitions.size() == 1);
    const auto unknown = diag::decode_trace_page(page.finish(1ULL << 31), l, {});
    CHECK(unknown.lost);
    CHECK(unknown.lost_count == 0);
}

TEST_CASE("raw tracepoint pages cut anywhere decode without reading past the end", "[watch]") {
    const auto l = kernel_layout();
    RawPage page(0);
    for (int i = 0; i < 5; ++i)
        page.data(1, raw_record(l, 10, static_cast<std::uint16_t>(i + 1), 2, 1, 8, addr("::1"),
                                addr("::1")));
    const auto full = page.finish();
    for (std::size_t cut = 0; cut <= 16 + 5 * 76; ++cut) {
        const auto got = diag::decode_trace_page(std::span(full).first(cut), l, {});
        CHECK(got.transitions.size() <= 5);
    }
    // A commit longer than the page, and a zero-length padding, stop the page.
    auto liar = full;
    const std::uint64_t huge = 0x3fffffff;
    std::memcpy(liar.data() + 8, &huge, 8);
    CHECK(diag::decode_trace_page(liar, l, {}).transitions.size() == 5);
}

TEST_CASE("a tracepoint socket identified by look-up keeps one cookie and is confirmed",
          "[watch]") {
    Tracker tr;
    tr.confirm_tracepoint_rows(true);
    std::vector<Event> all;
    // SYN_SENT without a port (not identifiable), then ESTABLISHED with the identity.
    append(all, tr.apply_transition(trans(t0, 0xa0, 0, 80, TcpState::close, TcpState::syn_sent)));
    CHECK(all.empty());  // held: maybe another namespace's
    auto est = trans(t0 + 1ms, 0xa0, 5000, 80, TcpState::syn_sent, TcpState::established);
    est.socket.cookie = 77;
    est.socket.inode = 1234;
    est.socket.uid = 1000;
    est.identity_known = true;
    append(all, tr.apply_transition(est));
    REQUIRE(summary(all) ==
            std::vector<std::string>{"NEW SYN_SENT", "CHANGE SYN_SENT>ESTABLISHED"});
    for (const auto& e : all) {
        CHECK(e.identity_known);
        CHECK(e.socket.cookie == 77);
        CHECK(e.socket.inode == 1234);
        CHECK(e.socket.uid == 1000);
    }
    // A dump with that cookie is the same row: no NEW.
    CHECK(tr.apply_snapshot(snap(t0 + 2ms, {[] {
                                     auto r = tcp(5000, 80, TcpState::established, 77);
                                     r.inode = 1234;
                                     return r;
                                 }()}))
              .empty());
    CHECK(tr.invariants_hold());
}

TEST_CASE("an unidentified tracepoint event leaves inode, uid and cookie out of its JSON",
          "[watch]") {
    Tracker tr;
    auto ev = tr.apply_transition(trans(t0, 0xb0, 6000, 0, TcpState::close, TcpState::listen));
    REQUIRE(ev.size() == 1);
    CHECK_FALSE(ev[0].identity_known);
    const auto json = format_event_json(ev[0]);
    CHECK(json.find(R"("send_q":0,"created":")") != std::string::npos);
    CHECK(json.find("cookie") == std::string::npos);
    CHECK(json.find("inode") == std::string::npos);
    ev[0].identity_known = true;
    ev[0].socket.owners = {Owner{4242, "nginx \"x\"", 3}};
    const auto known = format_event_json(ev[0]);
    CHECK(
        known.find(R"("inode":0,"uid":0,"cookie":0,"pid":4242,"comm":"nginx \"x\"","created":)") !=
        std::string::npos);
    CHECK(known.find("bytes_sent") == std::string::npos);  // no tcp_info: no traffic keys
    auto& ti = ev[0].socket.tcp_info.emplace();
    ti.bytes_acked = 100;
    ti.bytes_received = 200;
    ti.segs_out = 3;
    ti.segs_in = 4;
    ev[0].kind = EventKind::gone;
    ev[0].time = ev[0].created + 1500us;
    const auto gone = format_event_json(ev[0]);
    CHECK(
        gone.find(
            R"("lifetime_us":1500,"state_us":1500,"bytes_sent":100,"bytes_received":200,"segs_out":3,"segs_in":4})") !=
        std::string::npos);
}

TEST_CASE("a TIME_WAIT minisocket found at the close is a CHANGE at the close's time", "[watch]") {
    Tracker tr;
    CHECK(summary(tr.apply_snapshot(snap(t0, {tcp(5000, 80, TcpState::established, 9)}))) ==
          std::vector<std::string>{"NEW ESTABLISHED"});
    // Without the tracepoint: the destroy message alone would be a GONE.
    auto mini = tcp(5000, 80, TcpState::time_wait, 9);
    auto ev = tr.apply_time_wait(mini, t0 + 5ms);
    REQUIRE(summary(ev) == std::vector<std::string>{"CHANGE ESTABLISHED>TIME_WAIT"});
    CHECK(ev[0].time == t0 + 5ms);
    CHECK(tr.apply_time_wait(mini, t0 + 6ms).empty());  // once
    // The full socket's destroy message afterwards (a cookie of its own) is nothing new.
    diag::DestroyedSocket d{t0 + 7ms, tcp(5000, 80, TcpState::close, 10)};
    CHECK(tr.apply_destroyed(d).empty());
    CHECK(tr.counts()[static_cast<std::size_t>(TcpState::time_wait)] == 1);
    // Settling after a tracepoint close: the CHANGE carries the close's time.
    Tracker t2;
    (void)t2.apply_transition(trans(t0, 0xc0, 5001, 80, TcpState::close, TcpState::syn_sent));
    (void)t2.apply_transition(
        trans(t0 + 1ms, 0xc0, 5001, 80, TcpState::syn_sent, TcpState::established));
    (void)t2.apply_transition(
        trans(t0 + 2ms, 0xc0, 5001, 80, TcpState::established, TcpState::fin_wait1));
    (void)t2.apply_transition(
        trans(t0 + 3ms, 0xc0, 5001, 80, TcpState::fin_wait1, TcpState::fin_wait2));
    CHECK(t2.apply_transition(trans(t0 + 4ms, 0xc0, 5001, 80, TcpState::fin_wait2, TcpState::close))
              .empty());
    auto settled = t2.apply_time_wait(tcp(5001, 80, TcpState::time_wait, 11), t0 + 9ms);
    REQUIRE(summary(settled) == std::vector<std::string>{"CHANGE FIN_WAIT2>TIME_WAIT"});
    CHECK(settled[0].time == t0 + 4ms);
    CHECK(tr.invariants_hold());
    CHECK(t2.invariants_hold());
}

TEST_CASE("a dump older than a close does not bring the socket back", "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(snap(t0, {}));
    auto l = trans(t0 + 1ms, 0xd0, 7000, 0, TcpState::close, TcpState::listen);
    l.socket.cookie = 5;
    l.identity_known = true;
    CHECK(summary(tr.apply_transition(l)) == std::vector<std::string>{"NEW LISTEN"});
    auto c = trans(t0 + 3ms, 0xd0, 7000, 0, TcpState::listen, TcpState::close);
    c.socket.cookie = 5;
    c.identity_known = true;
    CHECK(summary(tr.apply_transition(c)) == std::vector<std::string>{"GONE LISTEN"});
    // The dump began at +2 ms, before the close was read.
    CHECK(tr.apply_snapshot(snap(t0 + 2ms, {tcp(7000, 0, TcpState::listen, 5)})).empty());
}

namespace {

SocketRecord with_traffic(SocketRecord r, std::uint64_t sent, std::uint64_t received,
                          std::uint32_t segs_out, std::uint32_t segs_in) {
    auto& ti = r.tcp_info.emplace();
    ti.bytes_acked = sent;
    ti.bytes_received = received;
    ti.segs_out = segs_out;
    ti.segs_in = segs_in;
    return r;
}

}  // namespace

TEST_CASE("counters that move while the state stays are traffic samples, not events", "[watch]") {
    Tracker tr;
    const auto est = [](std::uint64_t s, std::uint64_t r, std::uint32_t so, std::uint32_t si) {
        return with_traffic(tcp(5000, 80, TcpState::established, 7), s, r, so, si);
    };
    auto e = tr.apply_snapshot(snap(t0, {est(0, 0, 1, 1)}));
    REQUIRE(e.size() == 1);
    const std::uint64_t row = e[0].row;
    CHECK(tr.take_traffic().empty());  // a NEW carries its counters itself
    CHECK(tr.apply_snapshot(snap(t0 + 1s, {est(1000, 2000, 10, 20)})).empty());
    auto samples = tr.take_traffic();
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].row == row);
    CHECK(samples[0].time == t0 + 1s);
    CHECK(samples[0].bytes_sent == 1000);
    CHECK(samples[0].bytes_received == 2000);
    CHECK(samples[0].segs_out == 10);
    CHECK(samples[0].segs_in == 20);
    CHECK(tr.take_traffic().empty());  // taken once
    // Nothing moved: no sample.
    CHECK(tr.apply_snapshot(snap(t0 + 2s, {est(1000, 2000, 10, 20)})).empty());
    CHECK(tr.take_traffic().empty());
    // Only a segment count moved (a pure ACK): still a sample.
    CHECK(tr.apply_snapshot(snap(t0 + 3s, {est(1000, 2000, 10, 21)})).empty());
    CHECK(tr.take_traffic().size() == 1);
    // A state change is an event carrying the counters, not a sample.
    auto ch = tr.apply_snapshot(
        snap(t0 + 4s, {with_traffic(tcp(5000, 80, TcpState::close_wait, 7), 3000, 4000, 30, 40)}));
    REQUIRE(summary(ch) == std::vector<std::string>{"CHANGE ESTABLISHED>CLOSE_WAIT"});
    CHECK(tr.take_traffic().empty());
    REQUIRE(ch[0].socket.tcp_info);
    CHECK(ch[0].socket.tcp_info->bytes_acked == 3000);
    CHECK(ch[0].state_since == t0);  // ESTABLISHED since its first dump
    // Rates: the watched span t0..t0+4s moved 3000 and 4000 bytes.
    CHECK(ch[0].sent_per_s == std::optional<std::uint64_t>(750));
    CHECK(ch[0].received_per_s == std::optional<std::uint64_t>(1000));
    // Missing from the next dump: GONE with the last polled totals.
    auto gone = tr.apply_snapshot(snap(t0 + 5s, {}));
    REQUIRE(summary(gone) == std::vector<std::string>{"GONE CLOSE_WAIT"});
    REQUIRE(gone[0].socket.tcp_info);
    CHECK(gone[0].socket.tcp_info->bytes_received == 4000);
    CHECK(gone[0].state_since == t0 + 4s);
    CHECK(gone[0].counters_time == t0 + 4s);
    const auto json = format_event_json(gone[0]);
    CHECK(json.find(R"("lifetime_us":5000000,"state_us":1000000,"bytes_sent":3000,)") !=
          std::string::npos);
    CHECK(json.find(R"(,"bytes_sent_per_s":750,"bytes_received_per_s":1000})") !=
          std::string::npos);
    const auto text = format_event_text(gone[0]);
    CHECK(text.substr(26) ==
          " GONE tcp 127.0.0.1:5000 127.0.0.1:80 CLOSE_WAIT -> CLOSE state=1.000000s "
          "lifetime=5.000000s sent=3000 recv=4000 sent/s=750 recv/s=1000");
    CHECK(tr.take_traffic().empty());
}

TEST_CASE("rows not vouched for give no traffic samples; the dump that vouches gives one",
          "[watch]") {
    Tracker tr;
    tr.confirm_tracepoint_rows(true);
    CHECK(tr.apply_transition(trans(t0, 0xa1, 5001, 80, TcpState::close, TcpState::syn_sent))
              .empty());
    CHECK(tr.take_traffic().empty());
    // The held NEW carries no counters: the dump that vouches for the row tells
    // them as a sample.
    auto e = tr.apply_snapshot(
        snap(t0 + 1s, {with_traffic(tcp(5001, 80, TcpState::syn_sent, 9), 0, 0, 1, 0)}));
    CHECK(summary(e) == std::vector<std::string>{"NEW SYN_SENT"});
    auto samples = tr.take_traffic();
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].row == e[0].row);
    CHECK(samples[0].segs_out == 1);
    // A socket the accept predicate refuses is never a row, nor a sample.
    Tracker only_80([](const SocketRecord& r) { return r.local.port == 80; });
    (void)only_80.apply_snapshot(
        snap(t0, {with_traffic(tcp(5005, 80, TcpState::established, 3), 1, 1, 1, 1)}));
    (void)only_80.apply_snapshot(
        snap(t0 + 1s, {with_traffic(tcp(5005, 80, TcpState::established, 3), 9, 9, 9, 9)}));
    CHECK(only_80.take_traffic().empty());
}

TEST_CASE("a tracepoint lifecycle tells the time spent in each state", "[watch]") {
    Tracker tr;
    std::vector<Event> ev;
    append(ev, tr.apply_transition(trans(t0, 0xc1, 5002, 80, TcpState::close, TcpState::syn_sent)));
    append(ev, tr.apply_transition(
                   trans(t0 + 3ms, 0xc1, 5002, 80, TcpState::syn_sent, TcpState::established)));
    append(ev, tr.apply_transition(
                   trans(t0 + 1s, 0xc1, 5002, 80, TcpState::established, TcpState::close_wait)));
    append(ev, tr.apply_transition(
                   trans(t0 + 1500ms, 0xc1, 5002, 80, TcpState::close_wait, TcpState::last_ack)));
    // The Monitor gives the CLOSE the destroy message's final tcp_info.
    auto close = trans(t0 + 1501ms, 0xc1, 5002, 80, TcpState::last_ack, TcpState::close);
    close.socket = with_traffic(close.socket, 123457, 123456, 100, 90);
    append(ev, tr.apply_transition(close));
    REQUIRE(summary(ev) == std::vector<std::string>{"NEW SYN_SENT", "CHANGE SYN_SENT>ESTABLISHED",
                                                    "CHANGE ESTABLISHED>CLOSE_WAIT",
                                                    "CHANGE CLOSE_WAIT>LAST_ACK", "GONE LAST_ACK"});
    CHECK(format_event_json(ev[1]).find(R"("state_us":3000})") != std::string::npos);
    CHECK(format_event_json(ev[2]).find(R"("state_us":997000})") != std::string::npos);
    CHECK(format_event_json(ev[3]).find(R"("state_us":500000})") != std::string::npos);
    CHECK(format_event_json(ev[0]).find("state_us") == std::string::npos);  // NEW: none
    const auto gone = format_event_json(ev[4]);
    CHECK(gone.find(R"("lifetime_us":1501000,"state_us":1000,"bytes_sent":123457,)"
                    R"("bytes_received":123456,"segs_out":100,"segs_in":90,)") !=
          std::string::npos);
    // Seen from its connect(): the rates start at 0 then, the average over its life.
    CHECK(ev[4].sent_per_s == std::optional<std::uint64_t>(82250));  // 123457 / 1.501 s
    CHECK(ev[4].received_per_s == std::optional<std::uint64_t>(82249));
    CHECK_FALSE(ev[2].sent_per_s);  // no counters yet
    CHECK(tr.invariants_hold());
}

TEST_CASE("a GONE from a destroy message carries the final totals, a TIME_WAIT the last ones",
          "[watch]") {
    Tracker tr;
    (void)tr.apply_snapshot(
        snap(t0, {with_traffic(tcp(5003, 80, TcpState::established, 11), 10, 20, 2, 3),
                  with_traffic(tcp(5004, 80, TcpState::established, 12), 10, 20, 2, 3)}));
    diag::DestroyedSocket d{t0 + 2s,
                            with_traffic(tcp(5003, 80, TcpState::close, 11), 2010, 4020, 9, 9)};
    auto gone = tr.apply_destroyed(d);
    REQUIRE(summary(gone) == std::vector<std::string>{"GONE ESTABLISHED"});
    REQUIRE(gone[0].socket.tcp_info);
    CHECK(gone[0].socket.tcp_info->bytes_acked == 2010);
    CHECK(gone[0].counters_time == t0 + 2s);
    CHECK(gone[0].sent_per_s == std::optional<std::uint64_t>(1000));  // from the first dump
    CHECK(gone[0].received_per_s == std::optional<std::uint64_t>(2000));
    // An active closer: its minisocket has no tcp_info, the row keeps the last.
    auto mini = tcp(5004, 80, TcpState::time_wait, 12);
    auto tw = tr.apply_time_wait(mini, t0 + 3s);
    REQUIRE(summary(tw) == std::vector<std::string>{"CHANGE ESTABLISHED>TIME_WAIT"});
    REQUIRE(tw[0].socket.tcp_info);
    CHECK(tw[0].socket.tcp_info->bytes_received == 20);
    auto later = tr.apply_snapshot(snap(t0 + 4s, {mini}));
    CHECK(later.empty());
    CHECK(tr.take_traffic().empty());
}
