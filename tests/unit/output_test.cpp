// Unit tests for the output module: golden renderings in every format, captures of
// the real ss 6.1 and netstat 2.10, JSON/CSV checked by Python's own parsers.
#include <unistd.h>
#include <algorithm>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../golden/golden_file.hpp"
#include "../golden/records.hpp"
#include "socklab/output.hpp"

using namespace socklab;
using namespace socklab::output;

namespace {

const std::string kGolden = SOCKLAB_GOLDEN_DIR;

using golden::read_file;

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// Compares with tests/golden/render/NAME (golden_file.hpp: SOCKLAB_UPDATE_GOLDEN=1 rewrites).
void check_golden(const std::string& name, const std::string& text) {
    golden::check_golden("render", name, text);
}

// A capture of the real tool, kept verbatim apart from trailing spaces.
void check_capture(const std::string& name, const std::string& text) {
    const std::string path = kGolden + "/ss61/" + name;
    INFO("capture " << path);
    CHECK(text == read_file(path));
}

class FakeResolver final : public Resolver {
  public:
    [[nodiscard]] std::string service(std::uint32_t port, Netid netid) const override {
        if (port == 22 && netid == Netid::tcp) return "ssh";
        if (port == 53) return "domain";
        return {};
    }
    [[nodiscard]] std::string host(const IpAddr& a) const override {
        return a.to_string() == "127.0.0.1" ? "localhost" : std::string();
    }
};

RenderOptions opts(Format f) {
    RenderOptions o;
    o.format = f;
    o.numeric_ports = true;
    return o;
}

RenderOptions all_columns(Format f) {
    RenderOptions o = opts(f);
    o.processes = o.extended = o.timers = o.info = o.memory = true;
    return o;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

// Runs a Python snippet on a file; true when it exits 0.
bool python_accepts(const std::string& text, const std::string& script, const std::string& tag) {
    // The pid keeps parallel runs (dev and asan presets) from sharing files.
    const std::string base = "/tmp/socklab_output_test_" + std::to_string(::getpid()) + "_" + tag;
    const std::string data = base + ".txt";
    const std::string code = base + ".py";
    write_file(data, text);
    write_file(code, script);
    const int rc = std::system(("python3 " + code + " " + data).c_str());
    std::remove(data.c_str());
    std::remove(code.c_str());
    return rc == 0;
}

}  // namespace

TEST_CASE("ss rows equal the real ss 6.1 capture for the same sockets", "[output]") {
    const auto tcp = golden::live_tcp();
    RenderOptions o = opts(Format::ss);
    o.show_netid = false;
    check_capture("tan.txt", render_to_string(tcp, o));
    o.processes = true;
    check_capture("tanp.txt", render_to_string(tcp, o));
    o.processes = false;
    o.timers = true;
    check_capture("tano.txt", render_to_string(tcp, o));
    o.timers = false;
    o.memory = true;
    check_capture("tanm.txt", render_to_string(tcp, o));

    o.memory = false;
    check_capture("uan.txt", render_to_string(golden::live_udp(), o));
    check_capture("xa.txt", render_to_string(golden::live_unix(), opts(Format::ss)));

    auto both = golden::live_udp();
    both.insert(both.end(), tcp.begin(), tcp.end());
    check_capture("tuan.txt", render_to_string(both, opts(Format::ss)));
}

TEST_CASE("ss -i words equal ss 6.1's for the same tcp_info", "[output]") {
    auto r = golden::tcp(TcpState::established, "127.0.0.1", 34276, "127.0.0.1", 50691);
    TcpInfo& t = r.tcp_info.emplace();
    t.congestion = "cubic";
    t.options = 4;  // TCPI_OPT_WSCALE (ts and sack show only with -o)
    t.snd_wscale = t.rcv_wscale = 10;
    t.rto_us = 204000;
    t.rtt_us = 22;
    t.rttvar_us = 12;
    t.snd_mss = 53760;
    t.pmtu = 65535;
    t.rcv_mss = 536;
    t.advmss = 65483;
    t.snd_cwnd = 10;
    t.bytes_sent = 5000;
    t.bytes_acked = 5001;
    t.segs_out = 3;
    t.segs_in = 2;
    t.data_segs_out = 1;
    t.last_data_sent_ms = t.last_data_recv_ms = t.last_ack_recv_ms = 208;
    t.pacing_rate = 376026229504 / 8;
    t.delivery_rate = 53760000000 / 8;
    t.delivered = 2;
    t.rcv_space = t.rcv_ssthresh = 65495;
    t.min_rtt_us = 8;
    t.reordering = 3;
    t.snd_ssthresh = 0x7fffffff;
    RenderOptions o = opts(Format::ss);
    o.show_netid = false;
    o.header = false;
    o.info = true;
    o.one_line = true;
    // The record carries no tcpi_delivery_rate_app_limited and no tcpi_snd_wnd,
    // so those two words of the capture cannot appear.
    std::string expected = read_file(kGolden + "/ss61/tniOH.txt");
    for (std::string_view missing : {" app_limited", " snd_wnd:107520"})
        expected.erase(expected.find(missing), missing.size());
    CHECK(render_to_string(std::vector{r}, o) == expected);
}

TEST_CASE("ss leaves out the State column when one state is asked for", "[output]") {
    auto r = golden::tcp(TcpState::time_wait, "127.0.0.1", 39294, "127.0.0.1", 33139);
    r.timer = TimerInfo{TimerInfo::Kind::timewait, 59500, 0};
    RenderOptions o = opts(Format::ss);
    o.show_netid = false;
    o.show_state = false;
    o.timers = true;
    check_capture("tano_state_time_wait.txt", render_to_string(std::vector{r}, o));
}

TEST_CASE("owners print in the order ss and netstat print them", "[output]") {
    auto r = golden::tcp(TcpState::listen, "127.0.0.1", 80, "0.0.0.0", 0);
    r.owners = {{7169, "python3", 3}, {7210, "python3", 3}, {7210, "python3", 9}};
    RenderOptions o = opts(Format::ss);
    o.processes = true;
    o.header = false;
    // ss: highest pid and fd first (its /proc walk prepends to a hash chain).
    CHECK(render_to_string(std::vector{r}, o)
              .find(R"(users:(("python3",pid=7210,fd=9),("python3",pid=7210,fd=3),)"
                    R"(("python3",pid=7169,fd=3)))") != std::string::npos);
    // netstat: the first one its walk finds.
    o.format = Format::netstat;
    CHECK(render_to_string(std::vector{r}, o).find(" 7169/python3") != std::string::npos);
}

TEST_CASE("ss -e turns on timers as ss's -e does", "[output]") {
    auto r = golden::tcp(TcpState::time_wait, "127.0.0.1", 1, "127.0.0.1", 2);
    r.timer = TimerInfo{TimerInfo::Kind::timewait, 59000, 0};
    RenderOptions o = opts(Format::ss);
    o.extended = true;
    CHECK(render_to_string(std::vector{r}, o).find("timer:(timewait,59sec,0) ino:0 sk:0") !=
          std::string::npos);
}

TEST_CASE("ss writes the bound interface after the local address", "[output]") {
    auto r = golden::tcp(TcpState::listen, "127.0.0.1", 80, "0.0.0.0", 0);
    r.ifindex = 1;
    RenderOptions o = opts(Format::ss);
    o.header = false;
    o.show_netid = false;
    CHECK(render_to_string(std::vector{r}, o) ==
          "LISTEN 0      0      127.0.0.1%if1:80 0.0.0.0:*\n");
    const auto names = make_system_resolver();
    o.resolver = names.get();
    CHECK(render_to_string(std::vector{r}, o).find("127.0.0.1%lo:80") != std::string::npos);
}

TEST_CASE("ss widens address columns for long IPv6 and brackets v4-mapped", "[output]") {
    const auto recs = golden::netns_ss_order();
    check_capture("ns_ss_tuan.txt", render_to_string(recs, opts(Format::ss)));
    FakeResolver names;
    RenderOptions o = opts(Format::ss);
    o.numeric_ports = false;
    o.resolver = &names;
    check_capture("ns_ss_tua.txt", render_to_string(recs, o));
}

TEST_CASE("netstat rows equal the real netstat 2.10 capture", "[output]") {
    auto tcp = golden::live_tcp();
    RenderOptions o = opts(Format::netstat);
    check_capture("netstat_tan.txt", render_to_string(tcp, o));
    o.processes = true;
    check_capture("netstat_tanp.txt", render_to_string(tcp, o));
    o.processes = false;
    o.extended = true;
    check_capture("netstat_tane.txt", render_to_string(tcp, o));
    check_capture("netstat_uan.txt", render_to_string(golden::live_udp(), opts(Format::netstat)));
}

TEST_CASE("netstat truncates long addresses exactly as netstat does", "[output]") {
    const auto recs = golden::netns_netstat_order();
    check_capture("ns_netstat_tuan.txt", render_to_string(recs, opts(Format::netstat)));
    FakeResolver names;
    RenderOptions o = opts(Format::netstat);
    o.numeric_ports = false;
    o.resolver = &names;
    check_capture("ns_netstat_tua.txt", render_to_string(recs, o));
    for (const auto& line : lines_of(render_to_string(recs, opts(Format::netstat)))) {
        if (line.rfind("tcp", 0) != 0 && line.rfind("udp", 0) != 0) continue;
        INFO(line);
        // Proto(5) Recv-Q(6) Send-Q(6) Local(23) Foreign(23): fixed columns.
        REQUIRE(line.size() >= 48);
        CHECK(line[5] == ' ');
        CHECK(line[12] == ' ');
        CHECK(line[19] == ' ');
        CHECK(line[43] == ' ');
        CHECK(line.substr(20, 23).find(' ') > line.substr(20, 23).find_last_not_of(' '));
    }
}

TEST_CASE("netstat headers follow the scope the caller asks for", "[output]") {
    RenderOptions o = opts(Format::netstat);
    o.netstat_scope = NetstatScope::listening;
    CHECK(lines_of(render_to_string({}, o))[0] == "Active Internet connections (only servers)");
    o.netstat_scope = NetstatScope::connected;
    CHECK(lines_of(render_to_string({}, o))[0] == "Active Internet connections (w/o servers)");
    o.header = false;
    CHECK(render_to_string({}, o).empty());
}

TEST_CASE("every format renders the zoo as its golden file", "[output]") {
    const auto zoo = golden::zoo();
    const std::pair<Format, std::string> formats[] = {
        {Format::ss, "ss"},     {Format::netstat, "netstat"}, {Format::windows, "windows"},
        {Format::json, "json"}, {Format::jsonl, "jsonl"},     {Format::csv, "csv"},
    };
    for (const auto& [format, name] : formats) {
        check_golden("zoo." + name, render_to_string(zoo, opts(format)));
        check_golden("zoo_all." + name, render_to_string(zoo, all_columns(format)));
    }
    RenderOptions one_line = all_columns(Format::ss);
    one_line.one_line = true;
    check_golden("zoo_oneline.ss", render_to_string(zoo, one_line));
    RenderOptions bare = opts(Format::ss);
    bare.header = false;
    bare.show_state = false;
    bare.show_netid = false;
    check_golden("zoo_bare.ss", render_to_string(zoo, bare));
}

TEST_CASE("summaries and groups render in every format", "[output]") {
    const auto zoo = golden::zoo();
    const std::pair<Format, std::string> formats[] = {
        {Format::ss, "ss"},     {Format::netstat, "netstat"}, {Format::windows, "windows"},
        {Format::json, "json"}, {Format::jsonl, "jsonl"},     {Format::csv, "csv"},
    };
    for (const auto& [format, name] : formats) {
        const RenderOptions o = opts(format);
        std::string text;
        render_summary(zoo, o, [&](std::string_view s) { text.append(s); });
        check_golden("summary." + name, text);
        for (const auto& [by, by_name] :
             {std::pair{GroupBy::port, "port"}, std::pair{GroupBy::process, "process"},
              std::pair{GroupBy::peer, "peer"}}) {
            text.clear();
            render_groups(zoo, by, o, [&](std::string_view s) { text.append(s); });
            check_golden(std::string("by_") + by_name + "." + name, text);
        }
    }
}

TEST_CASE("human formats never end a line with a space", "[output]") {
    const auto zoo = golden::zoo();
    for (Format f : {Format::ss, Format::netstat, Format::windows}) {
        for (const RenderOptions& o : {opts(f), all_columns(f)}) {
            for (const auto& line : lines_of(render_to_string(zoo, o))) {
                INFO(line);
                CHECK((line.empty() || line.back() != ' '));
            }
        }
    }
}

TEST_CASE("json output parses with Python's json module and follows the contract", "[output]") {
    const auto zoo = golden::zoo();
    std::string keys;
    for (auto k : json_keys())
        keys.append("'").append(k).append("',");  // not "'" + string: GCC 12 -O3 -Wrestrict
    const std::string check_object =
        "def check(o):\n"
        "    assert list(o)[:12] == [" +
        keys +
        "], list(o)\n"
        "    assert isinstance(o['local_port'], int) and isinstance(o['peer_port'], int)\n"
        "    assert o['state'] in ('ESTABLISHED','SYN_SENT','SYN_RECV','FIN_WAIT1','FIN_WAIT2',"
        "'TIME_WAIT','CLOSE','CLOSE_WAIT','LAST_ACK','LISTEN','CLOSING','UNKNOWN')\n"
        "    assert '*' not in o['local_addr'] + o['peer_addr'] or o['family'] == 'unix'\n"
        "    if o['family'] == 'unix': assert o['type'] in ('stream','dgram','seqpacket')\n";
    for (const RenderOptions& o : {opts(Format::json), all_columns(Format::json)}) {
        const std::string script = "import json,sys\n" + check_object +
                                   "a = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                                   "assert len(a) == " +
                                   std::to_string(zoo.size()) +
                                   "\n"
                                   "[check(o) for o in a]\n"
                                   "assert a[0]['processes'][2]['comm'] == 'we\"ird\\\\,\\tname' "
                                   "if 'processes' in a[0] else True\n"
                                   "assert a[-2]['local_addr'] == '/tmp/a,\"b\"\\nc'\n";
        CHECK(python_accepts(render_to_string(zoo, o), script, "json"));
    }
    const std::string lines_script = "import json,sys\n" + check_object +
                                     "n = 0\n"
                                     "for line in open(sys.argv[1], encoding='utf-8'):\n"
                                     "    check(json.loads(line)); n += 1\n"
                                     "assert n == " +
                                     std::to_string(zoo.size()) + "\n";
    CHECK(python_accepts(render_to_string(zoo, all_columns(Format::jsonl)), lines_script, "jsonl"));
    CHECK(render_to_string({}, opts(Format::json)) == "[]\n");
    CHECK(render_to_string({}, opts(Format::jsonl)).empty());
}

TEST_CASE("csv output parses with Python's csv module", "[output]") {
    const auto zoo = golden::zoo();
    for (const RenderOptions& o : {opts(Format::csv), all_columns(Format::csv)}) {
        const std::string script =
            "import csv,sys\n"
            "rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8', "
            "errors='surrogateescape')))\n"
            "assert len(rows) == " +
            std::to_string(zoo.size() + 1) +
            ", len(rows)\n"
            "assert all(len(r) == len(rows[0]) for r in rows)\n"
            "assert rows[0][:3] == ['netid','family','state']\n"
            "assert rows[-2][3] == '/tmp/a,\"b\"\\nc', rows[-2][3]\n";
        CHECK(python_accepts(render_to_string(zoo, o), script, "csv"));
    }
}

TEST_CASE("json strings escape controls, quotes and bytes that are not UTF-8", "[output]") {
    SocketRecord r =
        golden::unix_sock(UnixType::stream, TcpState::listen,
                          std::string("q\"b\\n\n\x01\x7f\xff\xc3\xa9\xe2\x82", 13), 1, 0);
    const std::string text = render_to_string(std::vector{r}, opts(Format::jsonl));
    CHECK(text.find(R"("local_addr":"q\"b\\n\n\u0001)"
                    "\x7f"
                    R"(\u00ff)"
                    "\xc3\xa9"
                    R"(\u00e2\u0082")") != std::string::npos);
}

TEST_CASE("json_keys is the section 5 contract in order", "[output]") {
    const std::vector<std::string_view> expected{
        "netid",     "family", "state",  "local_addr", "local_port", "peer_addr",
        "peer_port", "recv_q", "send_q", "inode",      "uid",        "cookie"};
    const auto keys = json_keys();
    CHECK(std::vector<std::string_view>(keys.begin(), keys.end()) == expected);
}

TEST_CASE("format and group names parse, unknown ones do not", "[output]") {
    CHECK(parse_format("ss") == Format::ss);
    CHECK(parse_format("netstat") == Format::netstat);
    CHECK(parse_format("windows") == Format::windows);
    CHECK(parse_format("json") == Format::json);
    CHECK(parse_format("jsonl") == Format::jsonl);
    CHECK(parse_format("csv") == Format::csv);
    CHECK_FALSE(parse_format("JSON"));
    CHECK_FALSE(parse_format(""));
    CHECK(parse_group_by("port") == GroupBy::port);
    CHECK(parse_group_by("process") == GroupBy::process);
    CHECK(parse_group_by("peer") == GroupBy::peer);
    CHECK_FALSE(parse_group_by("state"));
}

TEST_CASE("rendering streams in chunks and a large render is not one string", "[output]") {
    std::vector<SocketRecord> many(
        20000, golden::tcp(TcpState::established, "10.0.0.1", 5000, "10.0.0.2", 6000));
    for (Format f : {Format::ss, Format::netstat, Format::jsonl}) {
        std::size_t chunks = 0, biggest = 0, total = 0;
        render(many, opts(f), [&](std::string_view s) {
            ++chunks;
            biggest = std::max(biggest, s.size());
            total += s.size();
        });
        CHECK(chunks > 5);
        CHECK(biggest < 80 * 1024);
        CHECK(total == render_to_string(many, opts(f)).size());
    }
}

TEST_CASE("ss timers read as ss prints them", "[output]") {
    auto r = golden::tcp(TcpState::established, "127.0.0.1", 1, "127.0.0.1", 2);
    RenderOptions o = opts(Format::ss);
    o.timers = true;
    o.header = false;
    const std::pair<std::uint32_t, std::string> cases[] = {
        {7150000, "119min"}, {65000, "1min5sec"}, {59999, "59sec"},
        {1234, "1.234ms"},   {5, "005ms"},        {0, ""},
    };
    for (const auto& [ms, text] : cases) {
        r.timer = TimerInfo{TimerInfo::Kind::on, ms, 3};
        INFO(ms);
        CHECK(render_to_string(std::vector{r}, o).find("timer:(on," + text + ",3)") !=
              std::string::npos);
    }
}

TEST_CASE("the system resolver names well-known ports and caches them", "[output]") {
    const auto names = make_system_resolver();
    // /etc/services is part of Debian's netbase; skip quietly without it.
    if (read_file("/etc/services").find("ssh") == std::string::npos) return;
    CHECK(names->service(22, Netid::tcp) == "ssh");
    CHECK(names->service(22, Netid::tcp) == "ssh");
    CHECK(names->service(0, Netid::tcp).empty());
    CHECK(names->service(70000, Netid::udp).empty());
    CHECK(names->service(22, Netid::unix_).empty());
}

TEST_CASE("rows streamed in batches render as one pass does", "[output]") {
    const auto zoo = golden::zoo();
    REQUIRE(zoo.size() >= 4);
    for (auto format :
         {Format::netstat, Format::windows, Format::json, Format::jsonl, Format::csv}) {
        INFO(static_cast<int>(format));
        const auto o = all_columns(format);
        std::string streamed;
        StreamRenderer r(o, [&](std::string_view s) { streamed.append(s); });
        const std::span<const SocketRecord> all(zoo);
        r.add(all.subspan(0, 1));
        r.add(all.subspan(1, 0));
        r.add(all.subspan(1, 2));
        r.add(all.subspan(3));
        r.finish();
        CHECK(streamed == render_to_string(zoo, o));
    }
}

TEST_CASE("a streamed ss listing has one header and every row", "[output]") {
    const auto zoo = golden::zoo();
    std::string streamed;
    StreamRenderer r(opts(Format::ss), [&](std::string_view s) { streamed.append(s); });
    const std::span<const SocketRecord> all(zoo);
    r.add(all.subspan(0, 2));
    r.add(all.subspan(2));
    r.finish();
    const std::string whole = render_to_string(zoo, opts(Format::ss));
    auto squeeze = [](const std::string& t) {
        std::string out;
        bool space = false;
        for (char c : t) {
            if (c == ' ') {
                space = true;
                continue;
            }
            if (space && c != '\n' && !out.empty() && out.back() != '\n') out.push_back(' ');
            space = false;
            out.push_back(c);
        }
        return out;
    };
    CHECK(squeeze(streamed) == squeeze(whole));
    CHECK(streamed.find("Recv-Q") == streamed.rfind("Recv-Q"));
}

TEST_CASE("empty streamed listings keep their header and brackets", "[output]") {
    for (auto format : {Format::ss, Format::netstat, Format::windows, Format::json, Format::csv}) {
        std::string streamed;
        StreamRenderer r(opts(format), [&](std::string_view s) { streamed.append(s); });
        r.finish();
        CHECK(streamed == render_to_string({}, opts(format)));
        CHECK_FALSE(streamed.empty());
    }
}

TEST_CASE("an IPv6 wildcard is * for dual-stack, [::] for V6ONLY (INET_DIAG_SKV6ONLY)",
          "[output]") {
    auto r = golden::tcp(TcpState::listen, "::", 8080, "::", 0);
    RenderOptions o = opts(Format::ss);
    o.header = false;
    r.v6only = false;
    CHECK(render_to_string(std::vector{r}, o).find("*:8080 *:*") != std::string::npos);
    r.v6only = true;
    CHECK(render_to_string(std::vector{r}, o).find("[::]:8080 [::]:*") != std::string::npos);
    // Without the attribute (/proc): V6ONLY is what the kernel sets for a bound address.
    r.v6only.reset();
    CHECK(render_to_string(std::vector{r}, o).find("*:8080 *:*") != std::string::npos);
    auto bound = golden::tcp(TcpState::listen, "::1", 8080, "::", 0);
    CHECK(render_to_string(std::vector{bound}, o).find("[::1]:8080 [::]:*") != std::string::npos);
}

TEST_CASE("records from /proc get no sk:0 and no empty detail lines", "[output]") {
    auto r = golden::tcp(TcpState::established, "127.0.0.1", 1, "127.0.0.1", 2);
    r.from_procfs = true;
    r.inode = 77;
    RenderOptions o = opts(Format::ss);
    o.header = false;
    o.extended = o.info = o.memory = true;
    const auto text = render_to_string(std::vector{r}, o);
    CHECK(text.find("ino:77") != std::string::npos);
    CHECK(text.find("sk:") == std::string::npos);
    CHECK(text.find('\t') == std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
    r.from_procfs = false;  // netlink: ss's empty line for a TIME-WAIT-like record stays
    CHECK(render_to_string(std::vector{r}, o).find("\n\t") != std::string::npos);
}

TEST_CASE("windows format with owners adds netstat -ano's PID column", "[output]") {
    auto r = golden::tcp(TcpState::listen, "0.0.0.0", 135, "0.0.0.0", 0);
    r.owners = {{1052, "svchost", 3}, {900, "svchost", 4}};
    auto u = golden::inet(Netid::udp, TcpState::close, "0.0.0.0", 5353, "0.0.0.0", 0);
    RenderOptions o = opts(Format::windows);
    o.processes = true;
    CHECK(render_to_string(std::vector{r, u}, o) ==
          "Active Connections\n\n"
          "  Proto  Local Address          Foreign Address        State           PID\n"
          "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\n"
          "  UDP    0.0.0.0:5353           *:*                                    0\n");
}

TEST_CASE("by port counts a connection under its listening or well-known side", "[output]") {
    const std::vector<SocketRecord> records{
        golden::tcp(TcpState::listen, "0.0.0.0", 8080, "0.0.0.0", 0),
        golden::tcp(TcpState::established, "127.0.0.1", 8080, "127.0.0.1", 41000),
        golden::tcp(TcpState::established, "127.0.0.1", 41000, "127.0.0.1", 8080),
        golden::tcp(TcpState::time_wait, "10.0.0.1", 52000, "10.0.0.9", 443),
    };
    RenderOptions o = opts(Format::csv);
    std::string text;
    render_groups(records, GroupBy::port, o, [&](std::string_view s) { text += s; });
    CHECK(text.find("41000") == std::string::npos);
    CHECK(text.find("52000") == std::string::npos);
    CHECK(text.find("\n8080,") != std::string::npos);
    CHECK(text.find("\n443,") != std::string::npos);
}
