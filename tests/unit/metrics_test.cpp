// metrics: the counter parsers, the host model, the exposition (golden), the HTTP parser,
// a real server on loopback, and the doctor's rate rules over two samples.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../golden/golden_file.hpp"
#include "socklab/lab.hpp"
#include "socklab/metrics.hpp"
#include "socklab/report.hpp"

using namespace socklab;
using namespace socklab::metrics;

namespace {

constexpr std::string_view kNetstat =
    "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed ListenOverflows ListenDrops "
    "TCPTimeWaitOverflow TCPAbortOnClose TCPAbortOnTimeout\n"
    "TcpExt: 3 2 1 17 19 4 5 6\n"
    "IpExt: InOctets OutOctets\n"
    "IpExt: 1000 2000\n";
constexpr std::string_view kSnmp =
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets "
    "CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
    "Tcp: 1 200 120000 -1 40 38 2 7 4 900 950 12 0 9 0\n";
constexpr std::string_view kSockstat =
    "sockets: used 120\n"
    "TCP: inuse 10 orphan 3 tw 5 alloc 12 mem 2\n"
    "UDP: inuse 1 mem 0\n";

SocketRecord rec(Netid n, TcpState s, std::uint32_t lport, std::uint32_t pport,
                 std::string comm = {}, std::uint64_t inode = 0) {
    SocketRecord r;
    r.netid = n;
    r.state = s;
    r.local.addr = *IpAddr::parse("127.0.0.1");
    r.local.port = lport;
    r.peer.addr = *IpAddr::parse("127.0.0.1");
    r.peer.port = pport;
    r.inode = inode;
    if (!comm.empty()) r.owners.push_back({100, std::move(comm), 3});
    return r;
}

std::vector<SocketRecord> host() {
    std::vector<SocketRecord> v;
    auto l = rec(Netid::tcp, TcpState::listen, 8080, 0, "leaky", 1);
    l.recv_q = 5;
    l.send_q = 128;
    v.push_back(l);
    for (std::uint32_t i = 0; i < 7; ++i)
        v.push_back(rec(Netid::tcp, TcpState::close_wait, 8080, 40000 + i, "leaky", 10 + i));
    v.push_back(rec(Netid::tcp, TcpState::established, 22, 50000, "sshd", 30));
    v.push_back(rec(Netid::tcp, TcpState::time_wait, 45000, 443));
    v.push_back(rec(Netid::tcp, TcpState::new_syn_recv, 8080, 41000));
    v.push_back(rec(Netid::udp, TcpState::close, 5353, 0, "avahi \"d\"\\x", 40));
    auto v6 = rec(Netid::tcp, TcpState::listen, 9977, 0, "sockwatch", 50);
    v6.family = Family::inet6;
    v6.local.addr = *IpAddr::parse("::1");
    v6.send_q = 64;
    v.push_back(v6);
    return v;
}

HostSample golden_sample() {
    HostSample s;
    const auto records = host();
    summarize(records, {}, s);
    REQUIRE(parse_paired(kNetstat, s.counters));
    REQUIRE(parse_paired(kSnmp, s.counters));
    REQUIRE(parse_sockstat(kSockstat, s.counters));
    const auto sysctls = make_fixed_sysctl_reader({{"net.ipv4.tcp_max_tw_buckets", "262144"},
                                                   {"net.core.somaxconn", "4096"},
                                                   {"net.ipv4.tcp_syncookies", "1"},
                                                   {"net.ipv4.tcp_fin_timeout", "sixty"}});
    read_sysctls(*sysctls, s);
    s.transitions[{TcpState::close, TcpState::established}] = 14;
    s.transitions[{TcpState::established, TcpState::close_wait}] = 7;
    s.events_lost = 1;
    s.scrape_seconds = 0.0125;
    return s;
}

std::string find_line(const std::string& text, std::string_view prefix) {
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        if (text.compare(at, prefix.size(), prefix) == 0) return text.substr(at, end - at);
        at = end + 1;
    }
    return {};
}

}  // namespace

TEST_CASE("paired netstat and snmp lines parse into prefixed counters", "[metrics]") {
    Counters c;
    REQUIRE(parse_paired(kNetstat, c));
    REQUIRE(parse_paired(kSnmp, c));
    CHECK(c.at("TcpExt.ListenOverflows") == 17);
    CHECK(c.at("TcpExt.SyncookiesFailed") == 1);
    CHECK(c.at("IpExt.OutOctets") == 2000);
    CHECK(c.at("Tcp.MaxConn") == -1);
    CHECK(c.at("Tcp.OutRsts") == 9);
    CHECK(parse_paired("", c));
}

TEST_CASE("malformed paired lines are errors that say what is wrong", "[metrics]") {
    Counters c;
    CHECK(parse_paired("TcpExt: A B\nTcpExt: 1\n", c).error().context.find("count") !=
          std::string::npos);
    CHECK(parse_paired("TcpExt: A B\nIpExt: 1 2\n", c).error().context.find("header") !=
          std::string::npos);
    CHECK(parse_paired("TcpExt: A\nTcpExt: x\n", c).error().context.find("number") !=
          std::string::npos);
    CHECK_FALSE(parse_paired("TcpExt A\nTcpExt 1\n", c));
    CHECK_FALSE(parse_paired("TcpExt: A  B\nTcpExt: 1  2\n", c));
    CHECK_FALSE(parse_paired("TcpExt: A\nTcpExt: 99999999999999999999\n", c));
    CHECK(parse_paired("TcpExt: A\n", c));  // a header alone adds nothing
    CHECK_FALSE(parse_sockstat("TCP: inuse\n", c));
    CHECK_FALSE(parse_sockstat("TCP: inuse x\n", c));
}

TEST_CASE("read_counters reads a /proc tree and names the bad file", "[metrics]") {
    const auto root =
        std::filesystem::temp_directory_path() / ("socklab-metrics-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root / "net");
    std::ofstream(root / "net/netstat") << kNetstat;
    std::ofstream(root / "net/snmp") << kSnmp;
    std::ofstream(root / "net/sockstat") << kSockstat;
    auto c = read_counters(root.string());
    REQUIRE(c);
    CHECK(c->at("sockstat.TCP.orphan") == 3);
    CHECK(c->at("Tcp.ActiveOpens") == 40);
    std::ofstream(root / "net/snmp") << "Tcp: A\nUdp: 1\n";
    auto bad = read_counters(root.string());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().context.find("net/snmp") != std::string::npos);
    std::filesystem::remove_all(root);
    CHECK_FALSE(read_counters(root.string()));
}

TEST_CASE("the host's own counter files parse", "[metrics]") {
    auto c = read_counters();
    REQUIRE(c);
    for (const auto& doc : kernel_counters())
        CHECK(c->count(std::string(doc.key)) == 1);
}

TEST_CASE("summarize counts by state, listening port and busiest process", "[metrics]") {
    HostSample s;
    const auto records = host();
    SummaryOptions o;
    o.max_processes = 2;
    summarize(records, o, s);
    CHECK(s.sockets.at({Netid::tcp, TcpState::close_wait}) == 7);
    CHECK(s.sockets.at({Netid::tcp, TcpState::syn_recv}) == 1);  // request socket shown as SYN_RECV
    CHECK(s.sockets.at({Netid::tcp, TcpState::closing}) == 0);   // zeros are kept
    CHECK(s.by_port.at({Netid::tcp, TcpState::close_wait, "8080"}) == 7);
    CHECK(s.by_port.at({Netid::tcp, TcpState::established, "22"}) == 1);  // well-known
    CHECK(s.by_port.at({Netid::tcp, TcpState::time_wait, "other"}) == 1);
    CHECK(s.by_port.at({Netid::udp, TcpState::close, "5353"}) == 1);
    CHECK(s.by_process.at({Netid::tcp, TcpState::close_wait, "leaky"}) == 7);
    CHECK(s.by_process.at({Netid::tcp, TcpState::time_wait, "-"}) == 1);
    // leaky (8 sockets) and then the first by name among the 1-socket ones.
    CHECK(s.by_process.count({Netid::tcp, TcpState::established, "sshd"}) == 0);
    CHECK(s.by_process.at({Netid::tcp, TcpState::established, "other"}) == 1);
    CHECK(s.by_process.at({Netid::tcp, TcpState::listen, "other"}) == 1);
    CHECK(s.by_process.at({Netid::udp, TcpState::close, "avahi \"d\"\\x"}) == 1);
    REQUIRE(s.listeners.size() == 2);
    CHECK(s.listeners[0].addr == "127.0.0.1");
    CHECK(s.listeners[0].queue == 5);
    CHECK(s.listeners[0].backlog == 128);
    CHECK(s.listeners[1].addr == "::1");
}

TEST_CASE("the exposition matches its golden text", "[metrics]") {
    golden::check_golden("metrics", "exposition.prom", render(golden_sample()));
}

TEST_CASE("every family has HELP and TYPE, labels are escaped", "[metrics]") {
    const auto text = render(golden_sample());
    for (auto name : family_names()) {
        INFO(name);
        CHECK(!find_line(text, fmt::format("# HELP {} ", name)).empty());
        CHECK(!find_line(text, fmt::format("# TYPE {} ", name)).empty());
    }
    CHECK(find_line(text, "socklab_sockets_by_process{netid=\"udp\"") ==
          R"(socklab_sockets_by_process{netid="udp",state="CLOSE",process="avahi \"d\"\\x"} 1)");
    CHECK(find_line(text, "socklab_tcp_listen_overflows_total ") ==
          "socklab_tcp_listen_overflows_total 17");
    CHECK(find_line(text, "socklab_tcp_timewait_buckets_max ") ==
          "socklab_tcp_timewait_buckets_max 262144");
    CHECK(find_line(text, "socklab_sysctl{name=\"net.ipv4.tcp_fin_timeout\"}").empty());
    std::string v;
    append_label_value(v, "a\nb");
    CHECK(v == "a\\nb");
}

TEST_CASE("the owner cache looks up only new inodes, and only when due", "[metrics]") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    struct stat st {};
    REQUIRE(::fstat(fds[0], &st) == 0);
    std::vector<SocketRecord> records{rec(Netid::tcp, TcpState::established, 1, 2, {}, st.st_ino),
                                      rec(Netid::tcp, TcpState::time_wait, 3, 4)};
    OwnerCache cache("/proc", std::chrono::hours(1));
    const auto t0 = std::chrono::steady_clock::now();
    cache.attach(records, t0);
    REQUIRE(records[0].owners.size() == 1);
    CHECK(records[0].owners[0].pid == ::getpid());
    CHECK(cache.lookups() == 1);
    // Known inodes come from the cache; a new one waits for the refresh.
    records.push_back(rec(Netid::tcp, TcpState::established, 5, 6, {}, 999999999));
    records[0].owners.clear();
    cache.attach(records, t0 + std::chrono::seconds(1));
    CHECK(records[0].owners.size() == 1);
    CHECK(cache.lookups() == 1);
    cache.attach(records, t0 + std::chrono::hours(2));
    CHECK(cache.lookups() == 2);
    CHECK(records[2].owners.empty());
    // Gone inodes leave the cache.
    records.erase(records.begin());
    cache.attach(records, t0 + std::chrono::hours(2));
    CHECK(cache.size() == 0);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("request heads: complete, incomplete, bad and oversized", "[metrics]") {
    auto r = parse_request("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.status == Request::Status::ok);
    CHECK(r.method == "GET");
    CHECK(r.target == "/metrics");
    CHECK(parse_request("GET /metrics HTTP/1.0\n\n").status == Request::Status::ok);
    CHECK(parse_request("GET /metrics HTTP/1.1\r\nHost").status == Request::Status::incomplete);
    CHECK(parse_request("GET /met").status == Request::Status::incomplete);
    CHECK(parse_request("\x16\x03\x01 hello\r\n").status == Request::Status::bad);
    CHECK(parse_request("GET metrics HTTP/1.1\r\n\r\n").status == Request::Status::bad);
    CHECK(parse_request("GET /metrics HTTP/2\r\n\r\n").status == Request::Status::bad);
    CHECK(parse_request("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n").status ==
          Request::Status::bad);
    const std::string big = "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a');
    CHECK(parse_request(big).status == Request::Status::too_large);
    CHECK(parse_request(big + "\r\n\r\n").status == Request::Status::too_large);
}

TEST_CASE("responses: 200, 404, 405, 400, 431 and 500", "[metrics]") {
    const BodyFn body = [] { return Result<std::string>(std::string("x 1\n")); };
    const auto ok = respond(parse_request("GET /metrics HTTP/1.1\r\n\r\n"), body);
    CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(ok.find("version=0.0.4") != std::string::npos);
    CHECK(ok.substr(ok.size() - 4) == "x 1\n");
    const auto head = respond(parse_request("HEAD /metrics HTTP/1.1\r\n\r\n"), body);
    CHECK(head.find("Content-Length: 4\r\n") != std::string::npos);
    CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
    CHECK(respond(parse_request("GET / HTTP/1.1\r\n\r\n"), body).rfind("HTTP/1.1 404", 0) == 0);
    const auto post = respond(parse_request("POST /metrics HTTP/1.1\r\n\r\n"), body);
    CHECK(post.rfind("HTTP/1.1 405", 0) == 0);
    CHECK(post.find("Allow: GET, HEAD") != std::string::npos);
    CHECK(respond(parse_request("junk\n"), body).rfind("HTTP/1.1 400", 0) == 0);
    CHECK(respond(parse_request(std::string(9000, 'G')), body).rfind("HTTP/1.1 431", 0) == 0);
    const BodyFn failing = [] {
        return Result<std::string>(make_error(std::errc::io_error, "dump"));
    };
    CHECK(
        respond(parse_request("GET /metrics HTTP/1.1\r\n\r\n"), failing).rfind("HTTP/1.1 500", 0) ==
        0);
}

TEST_CASE("listen addresses are numeric with a port", "[metrics]") {
    auto a = parse_listen_address("127.0.0.1:0");
    REQUIRE(a);
    CHECK(a->port == 0);
    auto b = parse_listen_address("[::1]:9977");
    REQUIRE(b);
    CHECK(b->addr.family == Family::inet6);
    CHECK(b->port == 9977);
    for (auto bad : {"", "127.0.0.1", ":9100", "localhost:9100", "::1:9100", "[::1]9100",
                     "[127.0.0.1]:1", "1.2.3.4:65536", "1.2.3.4:-1", "[::1]:"})
        CHECK_FALSE(parse_listen_address(bad));
}

namespace {

int connect_to(const Endpoint& e) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(e.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

/// Reads to EOF with a deadline.
std::string read_reply(int fd, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int i = 0; i < 10000; ++i) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
        char buf[4096];
        const auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

std::string get(const Endpoint& e, std::string_view request) {
    const int fd = connect_to(e);
    REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    auto reply = read_reply(fd);
    ::close(fd);
    return reply;
}

}  // namespace

TEST_CASE("the server answers while a slow client holds a connection", "[metrics]") {
    ServerOptions o;
    o.connection_timeout = std::chrono::milliseconds(300);
    auto server = Server::start(
        *parse_listen_address("127.0.0.1:0"),
        [] { return Result<std::string>(std::string("up 1\n")); }, o);
    REQUIRE(server);
    const auto at = (*server)->address();
    REQUIRE(at.port != 0);
    const int slow = connect_to(at);
    REQUIRE(::write(slow, "GET /met", 8) == 8);
    const auto reply = get(at, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK(reply.substr(reply.size() - 5) == "up 1\n");
    CHECK(get(at, "BREW /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0) == 0);
    // The slow one is closed at its time limit, without an answer.
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(read_reply(slow).empty());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
    ::close(slow);
    CHECK((*server)->answered() == 2);
}

// ---------------------------------------------------------------------------
// The doctor's rate rules over two host samples (lab::diagnose_rates), and their
// renderings (report::doctor_json, Printer::doctor_rates).

namespace {

HostSample counters_only(std::initializer_list<std::pair<const char*, std::int64_t>> values) {
    HostSample s;
    for (const auto& [k, v] : values)
        s.counters[k] = v;
    return s;
}

const auto kDoctorSysctls = make_fixed_sysctl_reader({{"net.core.somaxconn", "4096"},
                                                      {"net.ipv4.tcp_max_syn_backlog", "128"},
                                                      {"net.ipv4.tcp_syncookies", "1"},
                                                      {"net.ipv4.tcp_max_tw_buckets", "1000"},
                                                      {"net.ipv4.tcp_max_orphans", "100"},
                                                      {"net.ipv4.tcp_abort_on_overflow", "0"}});

std::vector<lab::Finding> rates(const HostSample& a, const HostSample& b, double seconds = 2) {
    lab::DoctorReport r;
    lab::diagnose_rates(a, b, seconds, *kDoctorSysctls, {}, r);
    return r.findings;
}

}  // namespace

TEST_CASE("doctor: a full accept queue is named with its overflow rate", "[metrics][doctor]") {
    auto a = counters_only({{"TcpExt.ListenOverflows", 10}, {"TcpExt.ListenDrops", 10}});
    auto b = counters_only({{"TcpExt.ListenOverflows", 16}, {"TcpExt.ListenDrops", 18}});
    b.listeners = {{"127.0.0.1", 8080, 2, 1}, {"0.0.0.0", 22, 0, 128}};
    const auto f = rates(a, b);
    REQUIRE(f.size() == 1);
    CHECK(f[0].kind == lab::FindingKind::listen_overflow);
    CHECK(f[0].ports == std::vector<std::uint32_t>{8080});
    CHECK(f[0].title ==
          "accept queue full on 127.0.0.1:8080 (2 waiting, backlog 1): 3/s listen overflows and "
          "4/s drops");
    CHECK(f[0].detail.find("net.core.somaxconn=4096") != std::string::npos);
    // Overflows with no full queue at either sample: reported without a listener.
    b.listeners = {{"127.0.0.1", 8080, 0, 1}};
    const auto g = rates(a, b);
    REQUIRE(g.size() == 1);
    CHECK(g[0].ports.empty());
    CHECK(g[0].title.find("no accept queue was full") != std::string::npos);
    // No change: nothing, even with a full queue; a counter that went back is no rate.
    CHECK(rates(b, b).empty());
    CHECK(rates(b, a).empty());
}

TEST_CASE("doctor: SYN cookies are a flood on a port or a queue too small", "[metrics][doctor]") {
    const auto a = counters_only({{"TcpExt.SyncookiesSent", 0}});
    auto b = counters_only({{"TcpExt.SyncookiesSent", 500}});
    b.by_port[{Netid::tcp, TcpState::syn_recv, "443"}] = 200;
    auto f = rates(a, b);
    REQUIRE(f.size() == 1);
    CHECK(f[0].title == "SYN flood on port 443: 250/s SYN cookies sent, 200 half-open");
    CHECK(f[0].ports == std::vector<std::uint32_t>{443});
    b.by_port.clear();
    b.by_port[{Netid::tcp, TcpState::syn_recv, "443"}] = 3;
    f = rates(a, b);
    REQUIRE(f.size() == 1);
    CHECK(f[0].title.rfind("SYN queue too small", 0) == 0);
    CHECK(f[0].detail.find("net.ipv4.tcp_max_syn_backlog=128") != std::string::npos);
}

TEST_CASE("doctor: TIME_WAIT overflow, orphans and resets", "[metrics][doctor]") {
    const auto a = counters_only({{"TcpExt.TCPTimeWaitOverflow", 0},
                                  {"Tcp.OutRsts", 0},
                                  {"Tcp.EstabResets", 0},
                                  {"sockstat.TCP.orphan", 0}});
    auto b = counters_only({{"TcpExt.TCPTimeWaitOverflow", 20},
                            {"Tcp.OutRsts", 30},
                            {"Tcp.EstabResets", 0},
                            {"sockstat.TCP.orphan", 90}});
    b.sockets[{Netid::tcp, TcpState::time_wait}] = 1000;
    const auto f = rates(a, b);
    REQUIRE(f.size() == 3);
    CHECK(f[0].kind == lab::FindingKind::time_wait_overflow);
    CHECK(f[0].title.find("net.ipv4.tcp_max_tw_buckets=1000") != std::string::npos);
    CHECK(f[0].detail.rfind("1000 sockets are in TIME_WAIT", 0) == 0);
    CHECK(f[1].kind == lab::FindingKind::orphans);
    CHECK(f[1].title.find("90 sockets") != std::string::npos);
    CHECK(f[2].kind == lab::FindingKind::resets);
    CHECK(f[2].title == "resets: 15/s RST segments sent, 0/s connections reset");
    // Below the thresholds: 79 orphans of 100, 9 resets per second.
    b.counters["sockstat.TCP.orphan"] = 79;
    b.counters["Tcp.OutRsts"] = 18;
    b.counters["TcpExt.TCPTimeWaitOverflow"] = 0;
    CHECK(rates(a, b).empty());
}

TEST_CASE("doctor: the rates and the report as JSON", "[metrics][doctor]") {
    auto a = counters_only({{"TcpExt.ListenOverflows", 1}});
    auto b = counters_only({{"TcpExt.ListenOverflows", 5}});
    b.listeners = {{"127.0.0.1", 8080, 2, 1}};
    auto r = lab::diagnose({}, *kDoctorSysctls);
    lab::diagnose_rates(a, b, 2, *kDoctorSysctls, {}, r);
    REQUIRE(r.rates.size() == kernel_counters().size());
    CHECK(r.rates[0].metric == "socklab_tcp_listen_overflows_total");
    CHECK(r.rates[0].delta == 4);
    CHECK(r.rates[0].per_second == 2.0);
    const auto json = report::doctor_json(r);
    CHECK(json.find(R"("kind":"listen-overflow")") != std::string::npos);
    CHECK(json.find(R"("ports":[8080])") != std::string::npos);
    CHECK(json.find(R"("socklab_tcp_listen_overflows_total":{"delta":4,"per_second":2.000})") !=
          std::string::npos);
    CHECK(json.find(R"("net.core.somaxconn":"4096")") != std::string::npos);
    CHECK(json.find(R"("net.ipv4.tcp_keepalive_time":null)") != std::string::npos);
    CHECK(json.back() == '\n');
    const auto text = report::Printer(false).doctor_rates(r);
    CHECK(text.find("kernel counters over 2.0 s") != std::string::npos);
    CHECK(text.find("TcpExt.ListenOverflows") != std::string::npos);
    CHECK(report::Printer(false).doctor_rates(lab::DoctorReport{}).empty());
}
