// Unit tests for the report module: socklab's texts as golden files, and the host reader.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "../golden/golden_file.hpp"
#include "../golden/hosts.hpp"
#include "socklab/report.hpp"

using namespace socklab;
using namespace std::chrono_literals;

namespace {

void check_golden(const std::string& name, const std::string& text) {
    golden::check_golden("report", name, text);
}

const report::Printer plain(false);
const report::Printer colour(true);

// ---------------------------------------------------------------- doctor fixtures

using golden::quiet_host;

SocketRecord record(TcpState state, std::uint32_t lport, std::uint32_t pport, std::uint64_t inode,
                    std::vector<Owner> owners = {}) {
    return golden::host_socket(state, lport, pport, inode, std::move(owners));
}

const std::map<std::string, std::string, std::less<>> host_sysctls{
    {"net.ipv4.tcp_syncookies", "1"},        {"net.ipv4.tcp_synack_retries", "5"},
    {"net.ipv4.tcp_max_tw_buckets", "1000"}, {"net.ipv4.tcp_fin_timeout", "60"},
    {"net.ipv4.tcp_tw_reuse", "2"},          {"net.ipv4.ip_local_port_range", "32768\t60999"},
};

std::string doctor(const std::vector<SocketRecord>& records, const report::Printer& p = plain) {
    return p.doctor(lab::diagnose(records, *lab::make_fixed_sysctl_reader(host_sysctls)));
}

// ---------------------------------------------------------------- scenario fixtures

Endpoint at(std::string_view addr, std::uint32_t port) {
    Endpoint e;
    e.addr = golden::addr(addr);
    e.port = port;
    return e;
}

/// An ESTABLISHED scenario as `socklab run established` builds it, with fixed ports.
report::ScenarioView established_view(bool observed, bool with_rows) {
    report::ScenarioView v;
    v.info = &lab::scenario_info(lab::ScenarioId::established);
    v.family = Family::inet;
    v.sides = {
        {"listener", at("127.0.0.1", 40000), at("0.0.0.0", 0), TcpState::listen, lab::Presence::fd,
         false, "listens; its accept queue is empty"},
        {"client", at("127.0.0.1", 51000), at("127.0.0.1", 40000), TcpState::established,
         lab::Presence::fd, true, "connected; nothing sent, so nothing is queued either way"},
        {"server", at("127.0.0.1", 40000), at("127.0.0.1", 51000), TcpState::established,
         lab::Presence::fd, false, "the accepted socket"},
    };
    if (observed)
        v.seen = {{TcpState::listen, "TCP_INFO"},
                  {TcpState::established, "TCP_INFO"},
                  {TcpState::established, "TCP_INFO"}};
    if (with_rows)
        v.rows = {golden::tcp(TcpState::listen, "127.0.0.1", 40000, "0.0.0.0", 0, 0, 128),
                  golden::tcp(TcpState::established, "127.0.0.1", 51000, "127.0.0.1", 40000),
                  golden::tcp(TcpState::established, "127.0.0.1", 40000, "127.0.0.1", 51000)};
    return v;
}

/// The RST scenario: the sender is gone, the receiver is seen through sock_diag.
report::ScenarioView rst_view() {
    report::ScenarioView v;
    v.info = &lab::scenario_info(lab::ScenarioId::rst);
    v.family = Family::inet6;
    v.sides = {
        {"client", at("::1", 51000), at("::1", 40000), TcpState::close, lab::Presence::gone, false,
         "closed with SO_LINGER {1, 0}: the kernel sent RST and forgot the socket"},
        {"server", at("::1", 40000), at("::1", 51000), TcpState::close, lab::Presence::kernel_only,
         true, "got the RST: its next read fails with ECONNRESET"},
    };
    v.seen = {{std::nullopt, "sock_diag"}, {std::nullopt, "sock_diag"}};
    return v;
}

std::string file_name(std::string_view label) {
    std::string out(label);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return c == '_' ? '-' : static_cast<char>(std::tolower(c));
    });
    return out;
}

}  // namespace

TEST_CASE("list and the state diagram render as recorded", "[report]") {
    check_golden("list.txt", plain.list());
    check_golden("diagram.txt", plain.diagram());
    // Every scenario and every explained state is named, whatever the layout.
    const auto list = plain.list();
    for (const auto& s : lab::scenarios())
        CHECK(list.find(std::string(s.name)) != std::string::npos);
}

TEST_CASE("every explanation renders as recorded, with the host's sysctl values", "[report]") {
    // Every documented sysctl at its Linux default but one changed and one unreadable,
    // so both the value and the "(unreadable)" line are in the goldens.
    std::map<std::string, std::string, std::less<>> values;
    for (const auto& d : lab::sysctl_docs())
        values.emplace(std::string(d.name), std::string(d.linux_default));
    values["net.ipv4.tcp_fin_timeout"] = "30";
    values.erase("net.ipv4.ip_local_port_range");
    const auto sysctls = lab::make_fixed_sysctl_reader(values);
    for (const auto& e : lab::explanations()) {
        SECTION(std::string(state_info(e.state).label)) {
            check_golden("explain_" + file_name(state_info(e.state).label) + ".txt",
                         plain.explanation(e, *sysctls));
        }
    }
    check_golden("explain_rst.txt", plain.explanation(lab::explain_rst(), *sysctls));
    const auto bold = colour.explanation(lab::explain_rst(), *sysctls);
    CHECK(bold.rfind("\x1b[1mRST close\x1b[0m: ", 0) == 0);
}

TEST_CASE("doctor reports render as recorded", "[report]") {
    SECTION("a quiet host") {
        check_golden("doctor_quiet.txt", doctor(quiet_host()));
    }
    SECTION("an empty host") {
        check_golden("doctor_empty.txt", doctor({}));
    }
    SECTION("a CLOSE_WAIT leak whose process is named") {
        auto records = quiet_host();
        for (std::uint32_t i = 0; i < 41; ++i)
            records.push_back(
                record(TcpState::close_wait, 8080, 42000 + i, 300 + i, {{4242, "leaky", 9}}));
        check_golden("doctor_leak_named.txt", doctor(records));
        check_golden("doctor_leak_named_color.txt", doctor(records, colour));
    }
    SECTION("a CLOSE_WAIT leak of a process we may not see") {
        auto records = quiet_host();
        for (std::uint32_t i = 0; i < 12; ++i)  // an inode, no owner: /proc/PID/fd unreadable
            records.push_back(record(TcpState::close_wait, 9090, 43000 + i, 700 + i));
        const auto text = doctor(records);
        check_golden("doctor_leak_hidden.txt", text);
        CHECK(text.find("owners unknown for 12 sockets (run as root)") != std::string::npos);
    }
    SECTION("owners unknown and nothing over a threshold") {
        auto records = quiet_host();
        records.push_back(record(TcpState::established, 9090, 43000, 700));
        const auto text = doctor(records);
        check_golden("doctor_owners_unknown.txt", text);
        CHECK(text.find("among the sockets that could be seen") != std::string::npos);
    }
    SECTION("a SYN flood") {
        auto records = quiet_host();
        for (std::uint32_t i = 0; i < 64; ++i)
            records.push_back(
                record(i % 2 ? TcpState::new_syn_recv : TcpState::syn_recv, 22, 30000 + i, 0));
        check_golden("doctor_syn_flood.txt", doctor(records));
    }
    SECTION("a TIME_WAIT pile-up") {
        std::vector<SocketRecord> records;
        for (std::uint32_t i = 0; i < 600; ++i)
            records.push_back(record(TcpState::time_wait, 40000 + i, 443, 0));
        check_golden("doctor_time_wait.txt", doctor(records));
    }
}

TEST_CASE("tour, hold and release texts render as recorded", "[report]") {
    const auto total = lab::scenarios().size();
    std::string text = plain.tour_step(1, total) + "listen...\n" + plain.tour_step(2, total) +
                       "syn-sent...\n" + plain.tour_end();
    check_golden("tour.txt", text);
    text = plain.holding(0ms) + plain.holding(30s) + plain.holding(1500ms) + plain.holding(1ms);
    check_golden("holding.txt", text);
    text.clear();
    for (const auto id : {lab::ScenarioId::established, lab::ScenarioId::time_wait})
        for (const bool interrupted : {false, true})
            text += plain.released(lab::scenario_info(id), interrupted);
    check_golden("released.txt", text);
}

TEST_CASE("a scenario renders as recorded from injected sides and rows", "[report]") {
    const auto full = established_view(true, true);
    check_golden("scenario_established_run.txt", plain.scenario(full, true));
    check_golden("scenario_established_tour.txt", plain.scenario(full, false));
    check_golden("scenario_established_color.txt", colour.scenario(full, false));
    // Without a source: no rows, and every side falls back to its expected state.
    check_golden("scenario_unobserved.txt", plain.scenario(established_view(false, false), true));
    check_golden("scenario_rst.txt", plain.scenario(rst_view(), true));
    check_golden("look.txt",
                 plain.look(*full.info, full.sides) +
                     plain.look(lab::scenario_info(lab::ScenarioId::closed), full.sides));
    CHECK(plain.look(*full.info, {}).empty());
}

TEST_CASE("a live scenario's snapshot holds its sides, states and rows", "[report]") {
    auto source = report::open_diag();
    REQUIRE(source != nullptr);
    auto sc = lab::Scenario::start(lab::ScenarioId::established);
    REQUIRE(sc);
    REQUIRE(sc->verify(2000ms, source.get()));
    const auto v = report::snapshot(*sc, source.get());
    CHECK(v.info == &sc->info());
    REQUIRE(v.sides.size() == sc->sides().size());
    REQUIRE(v.seen.size() == v.sides.size());
    for (std::size_t i = 0; i < v.sides.size(); ++i) {
        CHECK(v.seen[i].state == v.sides[i].expected);
        CHECK(v.seen[i].source == "TCP_INFO");
    }
    // The listener and both ends of the connection, each on one of the scenario's ports.
    CHECK(v.rows.size() == 3);
    const auto ports = sc->ports();
    for (const auto& r : v.rows)
        CHECK(std::find(ports.begin(), ports.end(), r.local.port) != ports.end());
    const auto text = plain.scenario(v, false);
    CHECK(text.find("as sockls -tan shows them:") != std::string::npos);
    CHECK(text.find("* client") != std::string::npos);
    CHECK(text.find("ESTABLISHED (TCP_INFO)") != std::string::npos);
    CHECK(report::snapshot(*sc, nullptr).rows.empty());
}

TEST_CASE("read_host finds our own listener with its owner, from both sources", "[report]") {
    auto sc = lab::Scenario::start(lab::ScenarioId::listen);
    REQUIRE(sc);
    const auto port = sc->sides().front().local.port;
    for (const bool procfs : {false, true}) {
        auto records = report::read_host(procfs);
        REQUIRE(records);
        const auto it = std::find_if(records->begin(), records->end(), [&](const SocketRecord& r) {
            return r.local.port == port && r.state == TcpState::listen;
        });
        INFO("procfs " << procfs);
        REQUIRE(it != records->end());
        REQUIRE_FALSE(it->owners.empty());
        CHECK(it->owners.front().pid == ::getpid());
    }
}

// ---------------------------------------------------------------- ladders (--segments)

namespace {

constexpr std::uint32_t J = 3000000000U;  // client ISN
constexpr std::uint32_t K = 12345U;       // server ISN

lab::WireSegment wire(const Endpoint& from, const Endpoint& to, std::uint32_t seq,
                      std::uint32_t ack, std::uint8_t flags, std::chrono::microseconds t,
                      packet::Fate fate = packet::Fate::delivered, std::string why = {}) {
    lab::WireSegment w;
    w.segment.src = from;
    w.segment.dst = to;
    w.segment.seq = seq;
    w.segment.ack = ack;
    w.segment.flags = flags;
    w.segment.window = 512;
    w.segment.time = t;
    w.fate = fate;
    w.why = std::move(why);
    return w;
}

/// The handshake between the established view's client (51000) and server (40000).
std::vector<lab::WireSegment> handshake() {
    const auto c = at("127.0.0.1", 51000);
    const auto s = at("127.0.0.1", 40000);
    return {wire(c, s, J, 0, packet::syn, 0us),
            wire(s, c, K, J + 1, packet::syn | packet::ack, 7us),
            wire(c, s, J + 1, K + 1, packet::ack, 12us)};
}

}  // namespace

TEST_CASE("ladders render as recorded: agreement, drops, retransmissions, a disagreement",
          "[report]") {
    const auto c = at("127.0.0.1", 51000);
    const auto s = at("127.0.0.1", 40000);
    {
        auto v = established_view(true, false);
        v.segments = handshake();
        check_golden("ladder_established.txt", plain.ladder(v));
    }
    {
        // CLOSING with both FINs on the wire: the server's filter drops what it gets.
        auto v = established_view(true, false);
        v.info = &lab::scenario_info(lab::ScenarioId::closing);
        v.sides[1].expected = TcpState::closing;
        v.sides[2].expected = TcpState::fin_wait1;
        v.seen[1].state = TcpState::closing;
        v.seen[2].state = TcpState::fin_wait1;
        v.segments = handshake();
        const auto drop = packet::Fate::dropped;
        const std::string why = "a socket filter on the server";
        v.segments.push_back(wire(c, s, J + 1, K + 1, packet::fin | packet::ack, 300us, drop, why));
        v.segments.push_back(wire(s, c, K + 1, J + 1, packet::fin | packet::ack, 310us));
        v.segments.push_back(wire(c, s, J + 2, K + 2, packet::ack, 320us, drop, why));
        v.segments.push_back(
            wire(c, s, J + 1, K + 2, packet::fin | packet::ack, 204000us, drop, why));
        check_golden("ladder_closing.txt", plain.ladder(v));
    }
    {
        // The queued FIN: the kernel says FIN_WAIT_1, no FIN left; said and explained.
        auto v = established_view(true, false);
        v.info = &lab::scenario_info(lab::ScenarioId::fin_wait1);
        v.seen[1].state = TcpState::fin_wait1;
        v.segments = handshake();
        const auto text = plain.ladder(v);
        CHECK(text.find("DIFFER") != std::string::npos);
        check_golden("ladder_queued_fin.txt", text);
    }
    {
        // RST: the sender is gone, as our machine's CLOSED says.
        auto v = rst_view();
        const auto rc = at("::1", 51000);
        const auto rs = at("::1", 40000);
        v.segments = {wire(rc, rs, J, 0, packet::syn, 0us),
                      wire(rs, rc, K, J + 1, packet::syn | packet::ack, 5us),
                      wire(rc, rs, J + 1, K + 1, packet::ack, 9us),
                      wire(rc, rs, J + 1, K + 1, packet::rst | packet::ack, 50us)};
        v.seen[1].state = TcpState::close;
        check_golden("ladder_rst.txt", plain.ladder(v));
    }
    {
        report::ScenarioView v;
        v.info = &lab::scenario_info(lab::ScenarioId::listen);
        v.sides = {established_view(false, false).sides[0]};
        v.seen = {{TcpState::listen, "TCP_INFO"}};
        check_golden("ladder_listen.txt",
                     plain.ladder(v) + plain.nsenter(4242, true) + plain.nsenter(4242, false));
    }
}
