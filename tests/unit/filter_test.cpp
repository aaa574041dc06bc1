// Unit tests for the filter module: grammar, precedence, errors, states, evaluation and
// the kernel bytecode (checked against a model of the kernel's audit and interpreter).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "../fuzz/filter_oracle.hpp"
#include "socklab/filter.hpp"

using namespace socklab;
using namespace socklab::filter;

namespace {

std::vector<std::string> split(std::string_view text) {
    std::vector<std::string> out;
    std::istringstream in{std::string(text)};
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

ParseOptions offline() {
    ParseOptions o;
    o.resolve_hosts = false;
    o.port_range_file.clear();
    return o;
}

Result<Filter> parse_text(std::string_view text, StateMask defaults = all_states_mask) {
    const auto words = split(text);
    return parse(words, defaults, offline());
}

std::string error_of(std::string_view text) {
    const auto f = parse_text(text);
    return f ? std::string("(parsed)") : f.error().context;
}

std::string error_with(std::string_view text, const ParseOptions& o) {
    const auto f = parse(split(text), all_states_mask, o);
    return f ? std::string("(parsed)") : f.error().context;
}

std::string shape(std::string_view text) {
    const auto f = parse_text(text);
    return f ? describe(*f) : "error: " + f.error().context;
}

std::string selected(const Filter& f) {
    std::string out;
    for (const auto& s : oracle::samples())
        if (matches(f, s.record)) out.push_back(s.name);
    return out;
}

struct Case {
    std::string_view expr;
    std::string_view expect;  ///< names of the sample records (A..O) that match
};

// Samples (tests/fuzz/filter_oracle.hpp):
//  A tcp LISTEN 0.0.0.0:22          B tcp LISTEN [::]:80
//  C ESTAB 127.0.0.1:22 <- :40000   D ESTAB 127.0.0.1:40000 -> 127.0.0.1:22
//  E ESTAB [::1]:443 <- [::1]:50000 F ESTAB [::ffff:10.1.2.3]:8080 <- [::ffff:192.168.1.9]:33000
//  G TIME_WAIT 10.0.0.5:51000 -> 10.20.30.40:443   H SYN_SENT 192.168.1.2:45000 -> 93.184.216.34:80
//  I CLOSE_WAIT 127.0.0.2:8080 <- 127.0.0.3:1025   J udp 0.0.0.0:53
//  K ESTAB 10.0.0.1:1000 -> 10.0.0.2:2000 on ifindex 2
//  L unix /run/x.sock inode 22 peer 40001          M unix @0a1b2 inode 5000 peer 5001
//  N SYN_RECV [2001:db8::1]:443 <- [2001:db8::2]:60000   O FIN_WAIT2 127.0.0.1:33333 -> :9000
const Case kCases[] = {
    {"sport = :22", "ACL"},
    {"sport == 22", "ACL"},
    {"sport eq :ssh", "ACL"},
    {"sport :22", "ACL"},
    {"dport = :22", "D"},
    {"sport != :22", "BDEFGHIJKMNO"},
    {"sport ne 22", "BDEFGHIJKMNO"},
    {"sport >= :8080", "DFGHIO"},
    {"sport > 8080", "DGHO"},
    {"sport < :1024", "ABCEJKLN"},
    {"sport <= 443", "ABCEJLN"},
    {"sport ge 1024 and sport le 9000", "FIM"},
    {"dport gt :1024 && dport lt :60000", "CEFIKLMO"},
    {"dport geq 1024 & ! dport > 40000", "CFIKMO"},
    {"dport < :ssh", "ABJ"},
    {"dport = :http", "H"},
    {"src 127.0.0.1", "CDO"},
    {"src 127.0.0.0/8", "CDIO"},
    {"dst 127.0.0.0/8", "CDIO"},
    {"src 10.0.0.0/8", "FGK"},
    {"src 10.0.0.0/24", "GK"},
    {"src 10.1.2.3", "F"},
    {"src [::1]", "E"},
    {"src ::1", "E"},
    {"dst [::1]:50000", "E"},
    {"src [2001:db8::]/32", "N"},
    {"src 2001:db8::/32", "N"},
    {"src [::ffff:10.1.2.3]", "F"},
    {"dst 192.168.0.0/16", "F"},
    {"src 0.0.0.0/0", "ACDFGHIJKO"},
    {"src *", "ABCDEFGHIJKLMNO"},
    {"src *:22", "ACL"},
    {"dst 127.0.0.1:*", "CDO"},
    {"src 127.0.0.1:22", "C"},
    {"dst = 127.0.0.1:22", "D"},
    {"src 10.0.0.0/8:1000", "K"},
    {"not src 127.0.0.0/8", "ABEFGHJKLMN"},
    {"! dport = :22", "ABCEFGHIJKLMNO"},
    {"src != 127.0.0.1", "ABEFGHIJKLMN"},
    {"( sport = :22 or dport = :22 )", "ACDL"},
    {"sport = :22 or dport = :22 and src 127.0.0.1", "ACDL"},
    {"( sport = :22 or dport = :22 ) and src 127.0.0.1", "CD"},
    {"sport = :22 dport = :40000", "C"},
    {"sport=:22", "ACL"},
    {"(sport=:22)||(dport=:22)", "ACDL"},
    {"not ( src 127.0.0.0/8 or src 10.0.0.0/8 )", "ABEHJLMN"},
    {"not not sport = :22", "ACL"},
    {"( ( sport >= :1000 and sport <= :2000 ) or ( dport >= :1000 and dport <= :2000 ) ) "
     "and not src 127.0.0.0/8",
     "K"},
    {"dev 2", "K"},
    {"dev != 2", "ABCDEFGHIJLMNO"},
    {"autobound", "DGHMO"},
    {"not autobound and sport < 1024", "ABCEJKLN"},
    {"src unix:/run/*", "L"},
    {"dst unix:*", "LM"},
    {"src 10.0.0.5 or dst 10.0.0.2 or dst [2001:db8::2]", "GKN"},
    {"src 127.0.0.1 and ( dport = :22 or dport = :9000 )", "DO"},
    {"src 127.0.0.1 && !(dport=:22||dport=:9000)", "C"},
    {"sport > 65535", ""},
    {"sport <= 65535", "ABCDEFGHIJKLMNO"},
    {"dport = :40001 or dport = :65535", "L"},
    {"not sport >= 65535 and dport = :5001", "M"},
    // ss's base-0 ports, iproute2's short dotted forms, prefixes inside brackets.
    {"sport = :026", "ACL"},
    {"sport = :0x16", "ACL"},
    {"sport = 0X16", "ACL"},
    {"src 127/8", "CDIO"},
    {"dst 10/8", "GK"},
    {"src 10.0.0/24", "GK"},
    {"src 0/0", "ACDFGHIJKO"},
    {"src 127.1", ""},
    {"src 0x7f.0.0.1", "CDO"},
    {"src 0177.0.0.1", "CDO"},
    {"src [2001:db8::/32]", "N"},
    {"src [::/0]", "BEFN"},
    {"src [::ffff:10.0.0.0/104]", "F"},
    {"src [::ffff:10.0.0.0/104]:8080", "F"},
    {"src default", "ABCDEFGHIJKLMNO"},
    {"dst any", "ABCDEFGHIJKLMNO"},
    {"src unix:/RUN/*", "L"},
};

}  // namespace

TEST_CASE("every expression of the table selects exactly the expected records", "[filter]") {
    STATIC_REQUIRE(std::size(kCases) >= 40);
    for (const auto& c : kCases) {
        INFO(c.expr);
        const auto f = parse_text(c.expr);
        REQUIRE(f.ok());
        CHECK(selected(*f) == c.expect);
    }
}

TEST_CASE("the kernel bytecode passes the audit and agrees with user space on the table",
          "[filter]") {
    for (const auto& c : kCases) {
        INFO(c.expr);
        const auto f = parse_text(c.expr);
        REQUIRE(f.ok());
        const auto bc = compile_bytecode(*f);  // empty only when the expression is always true
        CHECK((!bc.empty() || selected(*f).size() >= 13));
        CHECK((bc.empty() || oracle::audit(bc)));
        for (const auto& s : oracle::samples()) {
            if (s.record.family == Family::unix_) continue;  // unix_diag takes no bytecode
            INFO(s.name);
            CHECK(oracle::kernel_accepts(*f, bc, s.record) == matches(*f, s.record));
        }
        CHECK_FALSE(oracle::check_words(split(c.expr)));
    }
}

TEST_CASE("and binds tighter than or; not tighter than and", "[filter]") {
    CHECK(shape("sport = :1 or sport = :2 and sport = :3") ==
          "(sport = :1 or (sport = :2 and sport = :3))");
    CHECK(shape("sport = :1 and sport = :2 or sport = :3") ==
          "((sport = :1 and sport = :2) or sport = :3)");
    CHECK(shape("not sport = :1 and sport = :2") == "(not sport = :1 and sport = :2)");
    CHECK(shape("sport = :1 sport = :2 or sport = :3") ==
          "((sport = :1 and sport = :2) or sport = :3)");
    CHECK(shape("sport = :1 || sport = :2 && sport = :3 | sport = :4") ==
          "(sport = :1 or (sport = :2 and sport = :3) or sport = :4)");
    CHECK(shape("( sport = :1 or sport = :2 ) and sport = :3") ==
          "((sport = :1 or sport = :2) and sport = :3)");
    CHECK(shape("sport < :10") == "not sport >= :10");
    CHECK(shape("dport > :10") == "not dport <= :10");
    CHECK(shape("not not dport = :10") == "dport = :10");
}

TEST_CASE("operators glued to words tokenise like the spaced forms", "[filter]") {
    CHECK(shape("sport=:22") == shape("sport = :22"));
    CHECK(shape("(sport>=:1024)") == shape("( sport >= :1024 )"));
    CHECK(shape("!(dport==:443)") == shape("! ( dport == :443 )"));
    CHECK(shape("src=[::1]:22||dst!=10.0.0.0/8") == shape("src = [::1]:22 || dst != 10.0.0.0/8"));
    const std::vector<std::string> words{"state", "established",
                                         "( dport = :443 or sport = :443 )"};
    const auto f = parse(words, all_states_mask, offline());
    REQUIRE(f.ok());
    CHECK(describe(*f) == "(dport = :443 or sport = :443)");
    CHECK(f->states == state_bit(TcpState::established));
}

TEST_CASE("bad filters give one message with the column and what was expected", "[filter]") {
    CHECK(error_of("dport = :") == "col 9: expected a port after ':'");
    CHECK(error_of("state established ( dport = : )") == "col 29: expected a port after ':'");
    CHECK(error_of("dst 127.0.0.1:") == "col 14: expected a port after ':'");
    CHECK(error_of("sport = :4294967296") == "col 10: port '4294967296' is out of range (0-65535)");
    CHECK(error_of("sport = :nosuchservice") == "col 10: unknown service 'nosuchservice'");
    CHECK(error_of("( sport = :22") == "col 14: expected ')' to close the '(' at col 1");
    CHECK(error_of("sport = :22 )") == "col 13: unexpected ')'");
    CHECK(error_of("src 10.0.0.0/33") == "col 14: expected a prefix length 0-32, got '33'");
    CHECK(error_of("state bogus") == "col 7: unknown state 'bogus'");
    CHECK(error_of("state") == "col 6: expected a state name after 'state'");
    CHECK(error_of("sport > *") == "col 9: expected a port number to compare with, got '*'");
    CHECK(error_of("src > 1.2.3.4") == "col 5: 'src' takes '=' or '!=', not '>'");
    CHECK(error_of("foo") ==
          "col 1: expected a condition (sport, dport, src, dst, dev, autobound, not, '('), "
          "got 'foo'");
    CHECK(error_of("sport") == "col 6: expected a port after 'sport'");
    CHECK(error_of("sport = :22 and") == "col 16: expected a condition at the end of the filter");
    CHECK(error_of("dst [::1") == "col 5: expected ']' to close the '['");
    CHECK(error_of("sport = 127.0.0.1:22") ==
          "col 9: 'sport' takes a port, not an address: '127.0.0.1:22' (use 'src')");
    CHECK(error_of("src nosuchhost.invalid") ==
          "col 5: expected an address or prefix, got 'nosuchhost.invalid'");
    CHECK(error_of("dev no-such-dev0") == "col 5: unknown device 'no-such-dev0'");
    CHECK(error_of("( )") == "col 3: expected a condition, got ')'");
    CHECK(error_of(std::string(100, '(')).find("nesting deeper than 64 levels") !=
          std::string::npos);
}

TEST_CASE("a state selection that leaves nothing is an error", "[filter]") {
    CHECK(error_of("state listen exclude listen") == "col 14: the state selection leaves no state");
    CHECK(error_of("exclude all") == "col 1: the state selection leaves no state");
    CHECK(parse_text("state listen exclude established").ok());
}

TEST_CASE("state words: the first state clears the default, the first exclude starts from all",
          "[filter]") {
    const StateMask def = connected_mask();
    auto f = parse_text("", def);
    REQUIRE(f.ok());
    CHECK(f->states == def);
    CHECK_FALSE(f->explicit_states);
    CHECK_FALSE(f->expr);

    f = parse_text("state established state listen", def);
    REQUIRE(f.ok());
    CHECK(f->states == (state_bit(TcpState::established) | state_bit(TcpState::listen)));
    CHECK(f->explicit_states);

    f = parse_text("exclude listen exclude time-wait", def);
    REQUIRE(f.ok());
    CHECK(f->states ==
          (all_states_mask & ~state_bit(TcpState::listen) & ~state_bit(TcpState::time_wait)));

    f = parse_text("state TIME_WAIT sport = :22 state LISTENING", def);
    REQUIRE(f.ok());
    CHECK(f->states == (state_bit(TcpState::time_wait) | state_bit(TcpState::listen)));
    CHECK(describe(*f) == "sport = :22");

    for (const auto& g : state_groups()) {
        INFO(g.name);
        f = parse_text("state " + std::string(g.name), def);
        REQUIRE(f.ok());
        CHECK(f->states == g.mask);
    }
    for (const auto& row : state_table()) {
        if (row.state == TcpState::unknown) continue;
        for (auto spelling : {row.json, row.ss, row.netstat, row.windows, row.label}) {
            INFO(spelling);
            f = parse_text("state " + std::string(spelling), def);
            REQUIRE(f.ok());
            CHECK((f->states & state_bit(row.state)) != 0);
        }
    }
}

TEST_CASE("matches() checks the state set before the expression", "[filter]") {
    const auto f = parse_text("state established sport = :22");
    REQUIRE(f.ok());
    CHECK(selected(*f) == "CL");  // A listens on :22, so only the established ones
    const auto g = parse_text("state synchronized exclude established");
    REQUIRE(g.ok());
    CHECK(selected(*g) == "GINO");  // ss's synchronized includes TIME_WAIT and SYN_RECV
    const auto h = parse_text("state syn-recv");
    REQUIRE(h.ok());
    CHECK(selected(*h) == "N");  // NEW_SYN_RECV request sockets count as SYN-RECV
    const auto b = parse_text("state bucket");
    REQUIRE(b.ok());
    CHECK(selected(*b) == "GN");
}

TEST_CASE("autobound uses the ephemeral range in user space", "[filter]") {
    auto f = parse_text("autobound");
    REQUIRE(f.ok());
    f->ephemeral_lo = 1000;
    f->ephemeral_hi = 2000;
    CHECK(selected(*f) == "KM");
}

TEST_CASE("the ephemeral range is read only for a filter that uses autobound", "[filter]") {
    char path[] = "/tmp/socklab-range-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    const std::string range = "40000\t40100\n";
    REQUIRE(::write(fd, range.data(), range.size()) == static_cast<ssize_t>(range.size()));
    ::close(fd);
    ParseOptions o = offline();
    o.port_range_file = path;
    const auto with = parse(split("autobound"), all_states_mask, o);
    const auto without = parse(split("sport = :22"), all_states_mask, o);
    ::unlink(path);
    REQUIRE(with.ok());
    REQUIRE(without.ok());
    CHECK(with->ephemeral_lo == 40000);
    CHECK(with->ephemeral_hi == 40100);
    CHECK(without->ephemeral_lo == Filter{}.ephemeral_lo);  // the file was not read
}

TEST_CASE("host names resolve to every address, or-ed", "[filter]") {
    const std::vector<std::string> words{"src", "localhost"};
    ParseOptions o = offline();
    o.resolve_hosts = true;
    const auto f = parse(words, all_states_mask, o);
    REQUIRE(f.ok());
    const std::string d = describe(*f);
    CHECK(d.find("src 127.0.0.1") != std::string::npos);
    CHECK((selected(*f) == "CDO" || selected(*f) == "CDEO"));
}

TEST_CASE("with only unix tables every operand is a path glob, as in ss -x", "[filter]") {
    ParseOptions o = offline();
    o.unix_only = true;
    const auto f = parse(split("src /run/*.sock or dport = :22"), all_states_mask, o);
    REQUIRE(f.ok());
    CHECK(describe(*f) == "(src unix:/run/*.sock or dst unix::22)");
    CHECK(selected(*f) == "L");
    const auto g = parse(split("src != unix:@*"), all_states_mask, o);
    REQUIRE(g.ok());
    CHECK(selected(*g).find('M') == std::string::npos);
    const auto bad = parse(split("sport >= :1024"), all_states_mask, o);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().context ==
          "col 7: 'sport' on unix sockets takes '=' or '!=' and a path, not '>='");
}

TEST_CASE("filter files split into words and skip comment lines", "[filter]") {
    const auto words =
        split_filter_text("# web traffic\n( dport = :443\n  or sport = :443 )\n  # x\n");
    CHECK(words ==
          std::vector<std::string>{"(", "dport", "=", ":443", "or", "sport", "=", ":443", ")"});
    CHECK(split_filter_text("").empty());
}

TEST_CASE("ports over 65535 are errors wherever they can only be inet ports", "[filter]") {
    ParseOptions inet = offline();
    inet.inet_only = true;
    // After an address the port is inet whatever tables are listed.
    CHECK(error_of("src 127.0.0.1:99999") == "col 15: port '99999' is out of range (0-65535)");
    CHECK(error_of("dst [::1]:65536") == "col 11: port '65536' is out of range (0-65535)");
    CHECK(error_of("dst 10.0.0.0/8:70000") == "col 16: port '70000' is out of range (0-65535)");
    CHECK(error_of("src [::1]/64:65536") == "col 14: port '65536' is out of range (0-65535)");
    CHECK(error_of("dst [::1]:65535") == "(parsed)");
    // A bare port too, even while unix tables are listed (a unix "port" is an inode).
    CHECK(error_of("sport = :70000") == "col 10: port '70000' is out of range (0-65535)");
    CHECK(error_of("sport = :0x10000") == "col 10: port '0x10000' is out of range (0-65535)");
    CHECK(error_with("sport = :70000", inet) == "col 10: port '70000' is out of range (0-65535)");
    CHECK(error_with("dport > 65536", inet) == "col 9: port '65536' is out of range (0-65535)");
    CHECK(error_with("src *:65536", inet) == "col 7: port '65536' is out of range (0-65535)");
    CHECK(error_with("dst :65536", inet) == "col 6: port '65536' is out of range (0-65535)");
    CHECK(error_with("sport = :65535", inet) == "(parsed)");
}

TEST_CASE("numbers read base 0 as in ss; short dotted forms as iproute2 reads them", "[filter]") {
    CHECK(shape("sport = :026") == shape("sport = :22"));
    CHECK(shape("dport = 0x16") == shape("dport = 22"));
    CHECK(error_of("sport = :08") ==
          "col 10: port '08' is not a number (a leading 0 is octal, 0x hex, as in ss)");
    CHECK(error_of("sport = :0x") ==
          "col 10: port '0x' is not a number (a leading 0 is octal, 0x hex, as in ss)");
    CHECK(shape("dst 127.1") == shape("dst 127.1.0.0"));
    CHECK(shape("dst 10") == shape("dst 10.0.0.0"));
    CHECK(shape("dst 193.233.7/24") == shape("dst 193.233.7.0/24"));
    CHECK(shape("dst 010.1") == shape("dst 8.1.0.0"));
    CHECK(shape("dst [fd00::/16]") == shape("dst [fd00::]/16"));
    CHECK(shape("dst [fd00::/16]:22") == shape("dst [fd00::]/16:22"));
    CHECK(error_of("dst 256.1") == "col 5: expected an address or prefix, got '256.1'");
    CHECK(error_of("dst 1.2.3.4.5") == "col 5: expected an address or prefix, got '1.2.3.4.5'");
    CHECK(error_of("dst 08.1") == "col 5: expected an address or prefix, got '08.1'");
    CHECK(error_of("dst 1a.2") == "col 5: expected an address or prefix, got '1a.2'");
    CHECK(error_of("sport = :22x") == "col 10: unknown service '22x'");
    CHECK(error_of("src 10/33") == "col 8: expected a prefix length 0-32, got '33'");
    CHECK(error_of("dst [fd00::/16]/16") == "col 16: a prefix length both inside and after '[]'");
    // One quoted argument or separate words: the same filter.
    const std::vector<std::string> one{"( dst [fd00::/16] or dst [::ffff:10.0.0.0/120] )"};
    const auto a = parse(one, all_states_mask, offline());
    REQUIRE(a.ok());
    CHECK(describe(*a) == shape("( dst [fd00::/16] or dst [::ffff:10.0.0.0/120] )"));
}

TEST_CASE("with -4 or -6 an address of the other family is an error, as in ss", "[filter]") {
    ParseOptions v4 = offline();
    v4.only_family = Family::inet;
    ParseOptions v6 = offline();
    v6.only_family = Family::inet6;
    CHECK(error_with("dst [::1]", v4) ==
          "col 5: '[::1]' is IPv6, but only IPv4 sockets are listed (-4)");
    CHECK(error_with("src 10.0.0.2", v6) ==
          "col 5: '10.0.0.2' is IPv4, but only IPv6 sockets are listed (-6)");
    CHECK(error_with("dst 10.0.0.2", v4) == "(parsed)");
    CHECK(error_with("dst [::ffff:10.0.0.2]", v6) == "(parsed)");
    CHECK(error_with("dst *:22", v6) == "(parsed)");
    CHECK(error_with("dst default", v4) == "(parsed)");
}

TEST_CASE("state words: syn-rcv as in ss 6.1, bound-inactive refused as there", "[filter]") {
    CHECK(parse_state_word("syn-rcv") == parse_state_word("syn-recv"));
    CHECK_FALSE(parse_state_word("bound-inactive"));
    // `closed` also asks for bound, inactive sockets (a documented difference).
    CHECK(parse_state_word("closed") ==
          (state_bit(TcpState::close) | state_bit(TcpState::bound_inactive)));
    CHECK(error_of("state bound-inactive") == "col 7: unknown state 'bound-inactive'");
}

TEST_CASE("filter files are checked and bounded before they are read", "[filter]") {
    const auto reason = [](const std::string& path) {
        const auto words = read_filter_file(path);
        if (words) return std::string("(read)");
        // Reasons without an errno are the whole context (as sockls prints them).
        const auto& e = words.error();
        return e.code == std::errc::invalid_argument ? e.context : e.message();
    };
    CHECK(reason("/").find("Is a directory") != std::string::npos);
    CHECK(reason("/dev/zero") == "/dev/zero: longer than 1024 KiB");
    CHECK(reason("/nonexistent/filter").find("No such file") != std::string::npos);
    char tmpl[] = "/tmp/socklab-filter-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    const std::string path = tmpl;
    constexpr char raw[] = "# comment\nsport = :22\ndst 10.0.0.1\0x\n";
    const std::string text(raw, sizeof raw - 1);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    CHECK(reason(path) == path + ": line 3: a NUL byte (not a text file)");
    REQUIRE(::ftruncate(fd, 0) == 0);
    REQUIRE(::pwrite(fd, "sport = :22\n", 12, 0) == 12);
    const auto words = read_filter_file(path);
    REQUIRE(words.ok());
    CHECK(*words == std::vector<std::string>{"sport", "=", ":22"});
    // 4 GiB (sparse): refused by its size, without reading it.
    REQUIRE(::ftruncate(fd, 4LL << 30) == 0);
    CHECK(reason(path) == path + ": longer than 1024 KiB");
    ::close(fd);
    ::unlink(path.c_str());
}

TEST_CASE("no expression compiles to no bytecode; long chains stay valid", "[filter]") {
    auto f = parse_text("state listen");
    REQUIRE(f.ok());
    CHECK(compile_bytecode(*f).empty());
    std::string many = "sport = :1";
    for (int i = 2; i < 400; ++i)
        many += " or ( sport = :" + std::to_string(i) + " and not src 10.0.0.0/8 )";
    f = parse_text(many);
    REQUIRE(f.ok());
    const auto bc = compile_bytecode(*f);
    REQUIRE_FALSE(bc.empty());
    CHECK(oracle::audit(bc));
    CHECK_FALSE(oracle::check_words(split(many)));
}

TEST_CASE("every file of the fuzz corpus parses or fails cleanly, never crashes", "[filter]") {
    const std::filesystem::path dir =
        std::filesystem::path(SOCKLAB_SOURCE_DIR) / "tests/fuzz/corpus/filter";
    REQUIRE(std::filesystem::is_directory(dir));
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string data{std::istreambuf_iterator<char>(in), {}};
        INFO(entry.path().filename().string());
        for (const bool unix_only : {false, true}) {
            const auto failure = oracle::check_words(oracle::words_of(data), unix_only);
            CHECK_FALSE(failure);
            if (failure) WARN(*failure);
        }
        ++files;
    }
    CHECK(files >= 20);
}
