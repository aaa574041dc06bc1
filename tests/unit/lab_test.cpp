// Unit tests for the lab module: scenarios on loopback, explanations, doctor rules.
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "../golden/hosts.hpp"
#include "socklab/lab.hpp"

using namespace socklab;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<diag::SocketSource> netlink() {
    auto source = diag::make_netlink_source();
    REQUIRE(source);
    return std::move(source.value());
}

std::string family_label(Family f) {
    return f == Family::inet ? "IPv4" : "IPv6";
}

}  // namespace

TEST_CASE("every scenario reaches its state on loopback, IPv4 and IPv6", "[lab]") {
    const auto source = netlink();
    for (const Family family : {Family::inet, Family::inet6}) {
        for (const auto& info : lab::scenarios()) {
            INFO(info.name << " " << family_label(family));
            auto s = lab::Scenario::start(info.id, {.family = family});
            if (!s) FAIL(s.error().message());
            auto ok = s->verify(2s, source.get());
            if (!ok) FAIL(ok.error().message());
            const auto sides = s->sides();
            const auto focus = std::find_if(sides.begin(), sides.end(),
                                            [](const lab::Side& d) { return d.focus; });
            REQUIRE(focus != sides.end());
            CHECK(display_state(focus->expected) == info.state);
            CHECK(focus->local.addr.family == family);
            s->release();
        }
    }
}

TEST_CASE("fd sides report their state through TCP_INFO", "[lab]") {
    auto s = lab::Scenario::start(lab::ScenarioId::closed);
    REQUIRE(s);
    auto seen = s->observe(nullptr);
    REQUIRE(seen);
    REQUIRE(seen->size() == 1);
    CHECK((*seen)[0].source == "TCP_INFO");
    CHECK((*seen)[0].state == TcpState::close);
}

TEST_CASE("release leaves no socket of the scenario behind", "[lab]") {
    const auto source = netlink();
    for (const auto& info : lab::scenarios()) {
        if (info.id == lab::ScenarioId::time_wait) continue;  // its TIME_WAIT is the point
        auto s = lab::Scenario::start(info.id);
        REQUIRE(s);
        const std::vector<lab::Side> sides(s->sides().begin(), s->sides().end());
        s->release();
        // Matched on both endpoints, so other processes' sockets never count.
        auto gone = [&] {
            auto all = source->dump({});
            return all && std::none_of(sides.begin(), sides.end(), [&](const lab::Side& d) {
                       return lab::find_record(*all, d.local, d.peer) != nullptr;
                   });
        };
        bool clean = false;
        for (int i = 0; i < 200 && !(clean = gone()); ++i)
            std::this_thread::sleep_for(10ms);  // polling interval of a 2 s deadline
        INFO(info.name);
        CHECK(clean);
    }
}

TEST_CASE("scenario names parse in any spelling", "[lab]") {
    CHECK(lab::parse_scenario("FIN_WAIT_1") == lab::ScenarioId::fin_wait1);
    CHECK(lab::parse_scenario("fin-wait-2") == lab::ScenarioId::fin_wait2);
    CHECK(lab::parse_scenario("LISTENING") == lab::ScenarioId::listen);
    CHECK(lab::parse_scenario("SYN_RECEIVED") == lab::ScenarioId::syn_recv);
    CHECK(lab::parse_scenario("estab") == lab::ScenarioId::established);
    CHECK(lab::parse_scenario("closed") == lab::ScenarioId::closed);
    CHECK(lab::parse_scenario("TIME-WAIT") == lab::ScenarioId::time_wait);
    CHECK(lab::parse_scenario("RST") == lab::ScenarioId::rst);
    CHECK(lab::parse_scenario("reset") == lab::ScenarioId::rst);
    CHECK_FALSE(lab::parse_scenario("bogus"));
    for (const auto& info : lab::scenarios())
        CHECK(lab::parse_scenario(info.name) == info.id);
}

TEST_CASE("every state has an explanation naming documented sysctls", "[lab]") {
    std::set<std::string_view> named;
    for (const auto& row : state_table()) {
        if (row.state == TcpState::unknown) continue;
        INFO(row.label);
        const auto* e = lab::explain(row.state);
        REQUIRE(e != nullptr);
        CHECK(e->state == row.state);
        CHECK_FALSE(e->who.empty());
        CHECK_FALSE(e->enters.empty());
        CHECK_FALSE(e->leaves.empty());
        CHECK_FALSE(e->many_means.empty());
        for (auto name : e->sysctls) {
            CHECK(lab::find_sysctl_doc(name) != nullptr);
            named.insert(name);
        }
    }
    CHECK(lab::explanations().size() == 11);
    CHECK(lab::explain(TcpState::new_syn_recv) == lab::explain(TcpState::syn_recv));
    CHECK(lab::explain(TcpState::bound_inactive) == lab::explain(TcpState::close));
    for (auto name :
         {"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",
          "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_tw_reuse",
          "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_keepalive_time",
          "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
          "net.ipv4.tcp_orphan_retries"}) {
        INFO(name);
        CHECK(named.count(name) == 1);
    }
}

TEST_CASE("explanations follow the Linux source where the articles differ", "[lab]") {
    const auto* tw = lab::explain(TcpState::time_wait);
    REQUIRE(tw != nullptr);
    const std::string text = std::string(tw->leaves) + std::string(tw->many_means);
    CHECK(text.find("60 s") != std::string::npos);
    CHECK(text.find("tcp_fin_timeout does not change it") != std::string::npos);
    CHECK(text.find("removed in Linux 4.12") != std::string::npos);
    for (const auto& d : lab::sysctl_docs())
        CHECK(d.name != "net.ipv4.tcp_tw_recycle");
    const auto* cw = lab::explain(TcpState::close_wait);
    REQUIRE(cw != nullptr);
    CHECK(std::string(cw->many_means).find("application bug") != std::string::npos);
    CHECK(lab::state_diagram().find("CLOSING") != std::string_view::npos);
}

TEST_CASE("sysctl readers read /proc/sys layout and fixed values", "[lab]") {
    char dir[] = "/tmp/socklab-lab-test-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string root = dir;
    std::filesystem::create_directories(root + "/net/ipv4");
    std::ofstream(root + "/net/ipv4/tcp_fin_timeout") << "30\n";
    std::ofstream(root + "/net/ipv4/ip_local_port_range") << "32768\t60999\n";
    const auto proc = lab::make_proc_sysctl_reader(root);
    CHECK(proc->read("net.ipv4.tcp_fin_timeout") == "30");
    CHECK(proc->read("net.ipv4.ip_local_port_range") == "32768 60999");
    CHECK_FALSE(proc->read("net.ipv4.tcp_nope"));
    CHECK_FALSE(proc->read("net.ipv4..tcp_fin_timeout"));
    CHECK_FALSE(proc->read("../etc/passwd"));
    std::filesystem::remove_all(root);
    const auto fixed = lab::make_fixed_sysctl_reader({{"net.ipv4.tcp_syncookies", " 1 "}});
    CHECK(fixed->read("net.ipv4.tcp_syncookies") == "1");
    CHECK_FALSE(fixed->read("net.ipv4.tcp_fin_timeout"));
}

namespace {

using golden::quiet_host;

SocketRecord record(TcpState state, std::uint32_t lport, std::uint32_t pport, std::uint64_t inode,
                    std::vector<Owner> owners = {}) {
    return golden::host_socket(state, lport, pport, inode, std::move(owners));
}

const lab::Finding* find_kind(const lab::DoctorReport& r, lab::FindingKind k) {
    for (const auto& f : r.findings)
        if (f.kind == k) return &f;
    return nullptr;
}

}  // namespace

TEST_CASE("doctor says nothing is wrong on a quiet host and still counts", "[lab]") {
    const auto sysctls = lab::make_fixed_sysctl_reader({});
    const auto records = quiet_host();
    const auto r = lab::diagnose(records, *sysctls);
    CHECK(r.findings.empty());
    CHECK(r.sockets == records.size());
    CHECK(r.totals[static_cast<std::size_t>(TcpState::close_wait)] == 9);
    CHECK(r.totals[static_cast<std::size_t>(TcpState::listen)] == 2);
    REQUIRE_FALSE(r.ports.empty());
    CHECK(r.ports.front().key == "8080");  // busiest: 1 + 9 + 19
    CHECK(r.ports.front().total == 29);
    REQUIRE_FALSE(r.processes.empty());
    CHECK(r.processes.front().key == "-");  // the 19 TIME_WAIT have no owner
    CHECK(r.processes[1].key == "4242/leaky");
    CHECK_FALSE(r.sysctls.empty());
    CHECK(lab::diagnose({}, *sysctls).findings.empty());
}

TEST_CASE("doctor names the process and port of a CLOSE_WAIT leak", "[lab]") {
    auto records = quiet_host();
    for (std::uint32_t i = 0; i < 41; ++i)
        records.push_back(
            record(TcpState::close_wait, 8080, 42000 + i, 300 + i, {{4242, "leaky", 9}}));
    const auto r = lab::diagnose(records, *lab::make_fixed_sysctl_reader({}));
    REQUIRE(r.findings.size() == 1);
    const auto* f = find_kind(r, lab::FindingKind::close_wait_leak);
    REQUIRE(f != nullptr);
    CHECK(f->count == 50);
    CHECK(f->pid == 4242);
    CHECK(f->comm == "leaky");
    CHECK(f->ports == std::vector<std::uint32_t>{8080});
    CHECK(f->title.find("pid 4242 (leaky) on port 8080") != std::string::npos);
}

TEST_CASE("doctor reports a SYN_SENT storm and a SYN_RECV flood with the sysctls", "[lab]") {
    auto records = quiet_host();
    for (std::uint32_t i = 0; i < 20; ++i)
        records.push_back(record(TcpState::syn_sent, 45000 + i, 9, 500 + i, {{77, "scanner", 3}}));
    for (std::uint32_t i = 0; i < 64; ++i)
        records.push_back(
            record(i % 2 ? TcpState::new_syn_recv : TcpState::syn_recv, 22, 30000 + i, 0));
    const auto sysctls = lab::make_fixed_sysctl_reader(
        {{"net.ipv4.tcp_syncookies", "1"}, {"net.ipv4.tcp_synack_retries", "5"}});
    const auto r = lab::diagnose(records, *sysctls);
    const auto* storm = find_kind(r, lab::FindingKind::syn_sent_storm);
    REQUIRE(storm != nullptr);
    CHECK(storm->count == 20);
    CHECK(storm->detail.find("77/scanner") != std::string::npos);
    CHECK(storm->ports == std::vector<std::uint32_t>{9});
    const auto* flood = find_kind(r, lab::FindingKind::syn_recv_flood);
    REQUIRE(flood != nullptr);
    CHECK(flood->ports == std::vector<std::uint32_t>{22});
    CHECK(flood->detail.find("tcp_syncookies=1") != std::string::npos);
    CHECK(flood->detail.find("tcp_synack_retries=5") != std::string::npos);
    records.pop_back();  // 63 half-open: under the threshold
    CHECK_FALSE(find_kind(lab::diagnose(records, *sysctls), lab::FindingKind::syn_recv_flood));
    records.erase(records.end() - 63, records.end());
    records.pop_back();  // 19 SYN_SENT: under the threshold
    CHECK(lab::diagnose(records, *sysctls).findings.empty());
}

TEST_CASE("doctor weighs TIME_WAIT against tcp_max_tw_buckets", "[lab]") {
    std::vector<SocketRecord> records;
    for (std::uint32_t i = 0; i < 600; ++i)
        records.push_back(record(TcpState::time_wait, 40000 + i, 443, 0));
    const auto small = lab::make_fixed_sysctl_reader({{"net.ipv4.tcp_max_tw_buckets", "1000"}});
    const auto big = lab::make_fixed_sysctl_reader({{"net.ipv4.tcp_max_tw_buckets", "262144"}});
    const auto r = lab::diagnose(records, *small);
    const auto* f = find_kind(r, lab::FindingKind::time_wait_pileup);
    REQUIRE(f != nullptr);
    CHECK(f->ports == std::vector<std::uint32_t>{443});
    CHECK(f->title.find("50% of tcp_max_tw_buckets=1000") != std::string::npos);
    CHECK(lab::diagnose(records, *big).findings.empty());
}

TEST_CASE("doctor counts FIN_WAIT2 orphans, not FIN_WAIT2 sockets a process holds", "[lab]") {
    std::vector<SocketRecord> held, orphans;
    for (std::uint32_t i = 0; i < 50; ++i) {
        held.push_back(record(TcpState::fin_wait2, 40000 + i, 80, 900 + i, {{5, "curl", 3}}));
        orphans.push_back(record(TcpState::fin_wait2, 40000 + i, 80, 0));
    }
    const auto sysctls = lab::make_fixed_sysctl_reader({{"net.ipv4.tcp_fin_timeout", "60"}});
    CHECK(lab::diagnose(held, *sysctls).findings.empty());
    const auto r = lab::diagnose(orphans, *sysctls);
    const auto* f = find_kind(r, lab::FindingKind::fin_wait2_orphans);
    REQUIRE(f != nullptr);
    CHECK(f->detail.find("tcp_fin_timeout=60") != std::string::npos);
}

TEST_CASE("doctor counts a connection on its service port", "[lab]") {
    std::vector<SocketRecord> records;
    records.push_back(record(TcpState::listen, 8080, 0, 1));
    records.push_back(record(TcpState::established, 8080, 40000, 2));  // accepted
    records.push_back(record(TcpState::established, 40000, 8080, 3));  // its client, same host
    records.push_back(record(TcpState::time_wait, 443, 50000, 0));     // listener gone
    records.push_back(record(TcpState::syn_sent, 50001, 25, 4));       // outgoing
    const auto sysctls =
        lab::make_fixed_sysctl_reader({{"net.ipv4.ip_local_port_range", "32768\t60999"}});
    const auto r = lab::diagnose(records, *sysctls);
    std::map<std::string, std::size_t> totals;
    for (const auto& g : r.ports)
        totals[g.key] = g.total;
    CHECK(totals == std::map<std::string, std::size_t>{{"8080", 3}, {"443", 1}, {"25", 1}});
}

TEST_CASE("doctor counts owners it could not see and still reports their leak", "[lab]") {
    auto records = quiet_host();
    for (std::uint32_t i = 0; i < 12; ++i)  // held (an inode) by a process we may not read
        records.push_back(record(TcpState::close_wait, 9090, 43000 + i, 700 + i));
    const auto r = lab::diagnose(records, *lab::make_fixed_sysctl_reader({}));
    CHECK(r.owners_unknown == 12);
    const auto* f = find_kind(r, lab::FindingKind::close_wait_leak);
    REQUIRE(f != nullptr);
    CHECK(f->count == 12);
    CHECK(f->pid == 0);
    CHECK(f->ports == std::vector<std::uint32_t>{9090});
    CHECK(f->title.find("cannot see") != std::string::npos);
    CHECK(lab::diagnose(quiet_host(), *lab::make_fixed_sysctl_reader({})).owners_unknown == 0);
}

TEST_CASE("the RST close has an explanation of its own", "[lab]") {
    const auto& e = lab::explain_rst();
    CHECK(e.summary.find("RST") != std::string_view::npos);
    CHECK(e.leaves.find("ECONNRESET") != std::string_view::npos);
    CHECK(&e != lab::explain(TcpState::close));
}

TEST_CASE("hold and pause values: 0 is forever, a sliver is 1 ms, bad text names the option",
          "[lab]") {
    CHECK(lab::parse_hold("0", "--hold").value() == 0ms);
    CHECK(lab::parse_hold("0.0001", "--hold").value() == 1ms);
    CHECK(lab::parse_hold("2", "--pause").value() == 2000ms);
    CHECK(lab::parse_hold("", "--hold").error().context == "--hold: empty value");
    CHECK(lab::parse_hold("x", "--pause").error().context.rfind("--pause: ", 0) == 0);
    CHECK(lab::explain_word("rst") == &lab::explain_rst());
    CHECK(lab::explain_word("FIN-WAIT-1")->state == TcpState::fin_wait1);
    CHECK(lab::explain_word("nonsense") == nullptr);
    int never[2];
    REQUIRE(::pipe(never) == 0);
    CHECK_FALSE(lab::hold(never[0], 5ms, [] { return false; }));
    CHECK(lab::hold(never[0], 0ms, [] { return true; }));
    ::close(never[0]);
    ::close(never[1]);
}

namespace {

/// In a forked child (the namespaces are the process's): a private network, the
/// scenario with its segments, and what the capture holds. Exit 0: all as expected.
int closing_on_the_wire(Family family) {
    lab::PrivateNetwork net;
    if (!net.enter()) return 10;
    auto s = lab::Scenario::start(lab::ScenarioId::closing, {.family = family, .segments = true});
    if (!s) return 11;
    auto wire = s->segments();
    if (!wire) return 12;
    int fins = 0;
    int dropped = 0;
    for (const auto& w : *wire) {
        fins += w.segment.has(packet::fin) ? 1 : 0;
        dropped += w.fate == packet::Fate::dropped ? 1 : 0;
    }
    if (fins < 2) return 13;     // both FINs left
    if (dropped < 2) return 14;  // the client's FIN and its ACK of the server's FIN
    return 0;
}

}  // namespace

TEST_CASE("a private namespace captures its scenario: CLOSING sends both FINs", "[lab]") {
    for (const Family family : {Family::inet, Family::inet6}) {
        INFO(family_label(family));
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) ::_exit(closing_on_the_wire(family));
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
}
