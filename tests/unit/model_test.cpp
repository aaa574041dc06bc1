// Unit tests for the model module: the state table, state words, addresses.
#include <catch2/catch.hpp>

#include <set>

#include "socklab/model.hpp"

using namespace socklab;

TEST_CASE("every dialect spelling parses back to its own state", "[model]") {
    for (const auto& row : state_table()) {
        if (row.state == TcpState::unknown) continue;
        for (auto spelling : {row.json, row.ss, row.netstat, row.windows, row.tcpview, row.label}) {
            INFO(spelling);
            const auto parsed = parse_state(spelling);
            REQUIRE(parsed);
            CHECK(display_state(*parsed) == row.state);
        }
    }
}

TEST_CASE("the table is indexed by kernel number", "[model]") {
    const auto table = state_table();
    for (std::size_t i = 0; i < table.size(); ++i)
        CHECK(static_cast<std::size_t>(table[i].state) == i);
    CHECK(state_info(TcpState::new_syn_recv).json == "SYN_RECV");
    CHECK(state_info(TcpState::bound_inactive).json == "CLOSE");
    CHECK(state_from_kernel(99) == TcpState::unknown);
}

TEST_CASE("JSON names are the kernel's, unique and upper case", "[model]") {
    std::set<std::string_view> seen;
    for (const auto& row : state_table()) {
        CHECK(seen.insert(row.json).second);
        for (char c : row.json)
            CHECK((std::isupper(static_cast<unsigned char>(c)) || c == '_' ||
                   std::isdigit(static_cast<unsigned char>(c))));
    }
    CHECK(state_info(TcpState::fin_wait1).json == "FIN_WAIT1");
    CHECK(state_info(TcpState::close).json == "CLOSE");
}

TEST_CASE("the spellings people type are accepted", "[model]") {
    CHECK(parse_state_word("listen") == state_bit(TcpState::listen));
    CHECK(parse_state_word("LISTENING") == state_bit(TcpState::listen));
    CHECK(parse_state_word("estab") == state_bit(TcpState::established));
    CHECK(parse_state_word("TIME_WAIT") == state_bit(TcpState::time_wait));
    CHECK(parse_state_word("time-wait") == state_bit(TcpState::time_wait));
    CHECK(parse_state_word("fin-wait-1") == state_bit(TcpState::fin_wait1));
    CHECK(parse_state_word("SYN_RECEIVED") ==
          (state_bit(TcpState::syn_recv) | state_bit(TcpState::new_syn_recv)));
    CHECK_FALSE(parse_state_word("establishd"));
    CHECK_FALSE(parse_state_word(""));
}

TEST_CASE("ss state groups have ss's meaning", "[model]") {
    const StateMask connected = *parse_state_word("connected");
    CHECK((connected & state_bit(TcpState::established)) != 0);
    CHECK((connected & state_bit(TcpState::syn_sent)) != 0);
    CHECK((connected & state_bit(TcpState::listen)) == 0);
    // ss 6.1: `state connected` lists TIME-WAIT and SYN-RECV; only the default set omits them.
    CHECK((connected & state_bit(TcpState::time_wait)) != 0);
    CHECK((connected & state_bit(TcpState::syn_recv)) != 0);
    CHECK((connected_mask() & state_bit(TcpState::time_wait)) == 0);
    CHECK((connected_mask() & state_bit(TcpState::syn_recv)) == 0);
    const StateMask sync = *parse_state_word("synchronized");
    CHECK((sync & state_bit(TcpState::syn_sent)) == 0);
    CHECK(*parse_state_word("bucket") ==
          (state_bit(TcpState::syn_recv) | state_bit(TcpState::new_syn_recv) |
           state_bit(TcpState::time_wait)));
    CHECK((*parse_state_word("big") & *parse_state_word("bucket")) == 0);
    CHECK(*parse_state_word("all") == all_states_mask);
}

TEST_CASE("addresses parse and print", "[model]") {
    auto a = IpAddr::parse("127.0.0.1");
    REQUIRE(a);
    CHECK(a->family == Family::inet);
    CHECK(a->to_string() == "127.0.0.1");
    auto b = IpAddr::parse("::1");
    REQUIRE(b);
    CHECK(b->family == Family::inet6);
    CHECK(b->to_string() == "::1");
    CHECK(IpAddr::parse("::ffff:10.0.0.1")->is_v4_mapped());
    CHECK(IpAddr::parse("0.0.0.0")->is_any());
    CHECK_FALSE(IpAddr::parse("300.1.1.1"));
    CHECK_FALSE(IpAddr::parse(std::string_view{}));  // found by parsers_fuzz: null data()
    CHECK_FALSE(IpAddr::parse(""));
    CHECK(IpAddr::v4(0x7f000001) == *a);
}

TEST_CASE("host_port brackets IPv6 so the port stays readable", "[model]") {
    CHECK(host_port(*IpAddr::parse("127.0.0.1"), "80") == "127.0.0.1:80");
    CHECK(host_port(*IpAddr::parse("::1"), "22") == "[::1]:22");
    CHECK(host_port(*IpAddr::parse("::ffff:10.0.0.1"), "*") == "[::ffff:10.0.0.1]:*");
}

TEST_CASE("the ephemeral port range parses as the sysctl writes it, and nothing else", "[model]") {
    const auto tab = parse_ephemeral_range("32768\t60999\n");
    REQUIRE(tab);
    CHECK(tab->lo == 32768);
    CHECK(tab->hi == 60999);
    CHECK(tab->contains(32768));
    CHECK(tab->contains(60999));
    CHECK_FALSE(tab->contains(61000));
    const auto one = parse_ephemeral_range("1024 1024");  // what a SysctlReader gives
    REQUIRE(one);
    CHECK((one->lo == 1024 && one->hi == 1024));
    for (const auto* bad : {"", "   ", "32768", "60999 32768", "0 100", "1 65536", "a b", "1 2 3"})
        CHECK_FALSE(parse_ephemeral_range(bad));
    CHECK(EphemeralRange{}.contains(40000));  // Linux's default, 32768-60999
}

namespace {

std::string json_string(std::string_view s) {
    fmt::memory_buffer b;
    append_json_string(b, s);
    return fmt::to_string(b);
}

std::string socket_json(const SocketRecord& r, bool with_state) {
    fmt::memory_buffer b;
    append_socket_json(b, r, with_state);
    return fmt::to_string(b);
}

}  // namespace

TEST_CASE("numeric host text writes wildcards as the address they are", "[model]") {
    HostText buf{};
    CHECK(numeric_host(IpAddr::v4(0), buf) == "0.0.0.0");
    CHECK(numeric_host(IpAddr::v4(0xc0a8010a), buf) == "192.168.1.10");
    CHECK(numeric_host(IpAddr::v4(0xfffefd09), buf) == "255.254.253.9");
    CHECK(numeric_host(*IpAddr::parse("::"), buf) == "::");
    CHECK(numeric_host(*IpAddr::parse("::ffff:10.0.0.1"), buf) == "::ffff:10.0.0.1");
}

TEST_CASE("the JSON escaper keeps valid UTF-8 and escapes everything else", "[model]") {
    CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
    CHECK(json_string("\n\t\x01") == R"("\n\t\u0001")");
    CHECK(json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
    CHECK(json_string("bad\xff\xc3") == R"("bad\u00ff\u00c3")");
    CHECK(json_string("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")");  // a surrogate
}

TEST_CASE("CSV fields are quoted only when they must be", "[model]") {
    fmt::memory_buffer b;
    append_csv_field(b, "plain");
    b.push_back('|');
    append_csv_field(b, "a,\"b\"");
    CHECK(fmt::to_string(b) == R"(plain|"a,""b""")");
}

TEST_CASE("the socket object has the contract's keys in order, with or without state", "[model]") {
    SocketRecord r;
    r.state = TcpState::listen;
    r.local.addr = IpAddr::v4(0);
    r.local.port = 22;
    r.inode = 7;
    r.cookie = 9;
    CHECK(
        socket_json(r, true) ==
        R"("netid":"tcp","family":"inet","state":"LISTEN","local_addr":"0.0.0.0","local_port":22,)"
        R"("peer_addr":"0.0.0.0","peer_port":0,"recv_q":0,"send_q":0,"inode":7,"uid":0,"cookie":9)");
    CHECK(socket_json(r, false).find("state") == std::string::npos);
    r.family = Family::unix_;
    r.netid = Netid::unix_;
    r.local.path = "/tmp/\xff";
    CHECK(socket_json(r, false).find(R"("local_addr":"/tmp/\u00ff")") != std::string::npos);
    fmt::memory_buffer csv;
    append_socket_csv(csv, r);
    CHECK(fmt::to_string(csv).rfind("unix,unix,LISTEN,/tmp/\xff,22,", 0) == 0);
    CHECK(socket_keys().size() == 12);
}

TEST_CASE("a process is labelled pid/comm", "[model]") {
    CHECK(process_label(Owner{42, "nginx", 3}) == "42/nginx");
}
