// Unit tests for the listing module: ss's defaults, table order, the streamed pipeline, -p, counts,
// --kill.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "../golden/records.hpp"
#include "socklab/listing.hpp"

namespace {

using namespace socklab;
using listing::Request;

const std::string kGolden = SOCKLAB_GOLDEN_DIR;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A source over fixed records: hands each table's records in batches of `batch`,
/// counting the dumps, as the netlink source streams datagrams.
class FakeSource : public diag::SocketSource {
  public:
    explicit FakeSource(std::vector<SocketRecord> records, std::string name = "fake")
        : records_(std::move(records)), name_(std::move(name)) {}
    Result<std::vector<SocketRecord>> dump(const diag::Query& q) override {
        std::vector<SocketRecord> out;
        for (const auto& r : records_) {
            const bool table =
                (r.netid == Netid::tcp && q.tcp) || (r.netid == Netid::udp && q.udp) ||
                (r.netid == Netid::raw && q.raw) || (r.netid == Netid::unix_ && q.unix_);
            if (table && (q.states & state_bit(r.state)) != 0) out.push_back(r);
        }
        return out;
    }
    Result<void> dump_each(const diag::Query& q, const diag::RecordBatchSink& sink) override {
        ++dumps;
        if (fail_with) return make_error(*fail_with, "dump");
        auto all = dump(q);
        for (std::size_t i = 0; i < all->size(); i += batch) {
            const std::size_t n = std::min(batch, all->size() - i);
            if (auto r = sink(std::span(*all).subspan(i, n)); !r) return r;
        }
        return {};
    }
    [[nodiscard]] std::string_view name() const override { return name_; }

    int dumps = 0;
    std::size_t batch = 300;
    std::optional<std::errc> fail_with;

  private:
    std::vector<SocketRecord> records_;
    std::string name_;
};

std::unique_ptr<diag::SocketSource> replay() {
    auto src = diag::make_replay_source(kGolden + "/dumps/mix.dump");
    REQUIRE(src.ok());
    return std::move(*src);
}

listing::Plan plan_of(const Request& r) {
    listing::Plan plan;
    const auto bad = listing::make_plan(r, plan);
    INFO((bad ? bad->error.context : std::string()));
    REQUIRE_FALSE(bad);
    return plan;
}

struct Ran {
    std::string text;
    listing::Outcome outcome;
};

Ran run(const Request& r, diag::SocketSource& src, const listing::Hooks& hooks = {}) {
    Ran out;
    out.outcome = listing::run(
        plan_of(r), src, [&](std::string_view s) { out.text += s; }, hooks);
    return out;
}

Request tan() {
    Request r;
    r.tcp = r.all = r.numeric = true;
    return r;
}

/// `n` established TCP sockets on ports 10000+i, inodes 1000+i.
std::vector<SocketRecord> established(std::size_t n) {
    std::vector<SocketRecord> out;
    for (std::size_t i = 0; i < n; ++i) {
        auto r = golden::tcp(TcpState::established, "127.0.0.1",
                             static_cast<std::uint32_t>(10000 + i), "127.0.0.1", 80);
        r.inode = 1000 + i;
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

TEST_CASE("ss's default tables and families follow the flags given", "[listing]") {
    const auto none = listing::default_query(Request{});
    CHECK((none.tcp && none.udp && none.raw && none.unix_ && none.ipv4 && none.ipv6));
    Request v4;
    v4.ipv4 = true;
    const auto q4 = listing::default_query(v4);
    CHECK((q4.tcp && q4.udp && q4.raw && !q4.unix_ && q4.ipv4 && !q4.ipv6));
    Request t;
    t.tcp = true;
    t.info = true;
    const auto qt = listing::default_query(t);
    CHECK((qt.tcp && !qt.udp && !qt.raw && !qt.unix_ && qt.ipv4 && qt.ipv6 && qt.want_info));
    Request x6;
    x6.unix_ = x6.ipv6 = true;
    const auto qx = listing::default_query(x6);
    CHECK((qx.unix_ && !qx.tcp && !qx.ipv4 && qx.ipv6));
}

TEST_CASE("ss's default states per option set and dialect", "[listing]") {
    Request r;
    CHECK(listing::default_states(r) == connected_mask());
    CHECK((listing::default_states(r) & state_bit(TcpState::listen)) == 0);
    r.format = output::Format::netstat;
    const auto netstat = listing::default_states(r);
    CHECK((netstat & state_bit(TcpState::time_wait)) != 0);
    CHECK((netstat & (state_bit(TcpState::listen) | state_bit(TcpState::close))) == 0);
    r.listening = true;
    CHECK(listing::default_states(r) == (state_bit(TcpState::listen) | state_bit(TcpState::close)));
    r.listening = false;
    r.all = true;
    CHECK(listing::default_states(r) == all_states_mask);
    // -u or -w alone: ESTABLISHED only, so ss's State column goes; with -t it stays.
    Request u;
    u.udp = true;
    CHECK(listing::default_states(u) == state_bit(TcpState::established));
    u.raw = true;
    CHECK(listing::single_state(listing::default_states(u)));
    u.tcp = true;
    CHECK(listing::default_states(u) == connected_mask());
}

TEST_CASE("tables are listed in each dialect's order", "[listing]") {
    diag::Query q;
    q.tcp = q.udp = q.raw = q.unix_ = true;
    auto order = [](const std::vector<diag::Query>& qs) {
        std::string s;
        for (const auto& t : qs) {
            REQUIRE((t.tcp ? 1 : 0) + (t.udp ? 1 : 0) + (t.raw ? 1 : 0) + (t.unix_ ? 1 : 0) == 1);
            s += t.tcp ? "t" : t.udp ? "u" : t.raw ? "w" : "x";
        }
        return s;
    };
    CHECK(order(listing::table_queries(q, output::Format::ss)) == "xwut");
    CHECK(order(listing::table_queries(q, output::Format::json)) == "xwut");
    CHECK(order(listing::table_queries(q, output::Format::netstat)) == "tuwx");
    CHECK(order(listing::table_queries(q, output::Format::windows)) == "tuwx");
    q.raw = q.unix_ = false;
    CHECK(order(listing::table_queries(q, output::Format::netstat)) == "tu");
}

TEST_CASE("one displayed state hides the State column", "[listing]") {
    CHECK(listing::single_state(state_bit(TcpState::established)));
    CHECK(listing::single_state(state_bit(TcpState::syn_recv) | state_bit(TcpState::new_syn_recv)));
    CHECK(listing::single_state(state_bit(TcpState::close) | state_bit(TcpState::bound_inactive)));
    CHECK_FALSE(listing::single_state(state_bit(TcpState::listen) | state_bit(TcpState::close)));
    CHECK_FALSE(listing::single_state(0));
    CHECK_FALSE(listing::single_state(connected_mask()));
}

TEST_CASE("keyword tables feed the parsers and list their words", "[listing]") {
    for (const auto& k : {listing::format_keywords(), listing::group_by_keywords(),
                          listing::source_keywords(), listing::filter_path_keywords()}) {
        REQUIRE(k.words.size() >= 3);
        CHECK(k.strings().size() == k.words.size());
        for (const auto w : k.words)
            CHECK(k.text().find(w) != std::string::npos);
        CHECK(k.text().find(" or " + std::string(k.words.back())) != std::string::npos);
    }
    for (const auto w : listing::format_keywords().words)
        CHECK(output::parse_format(w).has_value());
    for (const auto w : listing::group_by_keywords().words)
        CHECK(output::parse_group_by(w).has_value());
    CHECK(listing::source_keywords().text() == "auto, netlink or proc");
    CHECK(listing::parse_source("proc") == listing::SourceChoice::procfs);
    CHECK(listing::parse_filter_path("kernel") == listing::FilterPath::kernel);
    CHECK_FALSE(listing::parse_source("kernel"));
    CHECK_FALSE(listing::parse_filter_path("none"));
}

TEST_CASE("the replayed dump renders as the golden files", "[listing]") {
    struct Case {
        const char* file;
        std::function<void(Request&)> set;
    };
    const std::vector<Case> cases = {
        {"all.ss", [](Request& r) { r.all = r.numeric = true; }},
        {"all_columns.ss",
         [](Request& r) { r.all = r.numeric = r.extended = r.timers = r.info = r.memory = true; }},
        {"tcp.netstat", [](Request& r) { r = tan(), r.format = output::Format::netstat; }},
        {"all.netstat",
         [](Request& r) { r.all = r.numeric = true, r.format = output::Format::netstat; }},
        {"tcp.windows", [](Request& r) { r = tan(), r.format = output::Format::windows; }},
        {"all.jsonl",
         [](Request& r) {
             r.all = r.extended = r.timers = r.info = r.memory = true;
             r.format = output::Format::jsonl;
         }},
        {"all.json", [](Request& r) { r.all = true, r.format = output::Format::json; }},
        {"all.csv",
         [](Request& r) {
             r.all = r.numeric = r.timers = r.memory = true;
             r.format = output::Format::csv;
         }},
        {"established.ss",
         [](Request& r) {
             r = tan(), r.filter = {"state", "established"};
         }},
        {"summary.ss", [](Request& r) { r.all = r.summary = true; }},
        {"by_port.ss", [](Request& r) { r = tan(), r.by = output::GroupBy::port; }},
        {"filtered.ss",
         [](Request& r) {
             r = tan();
             r.filter = {"( sport = :80 or dport > :1024 ) and not src ::1"};
         }},
    };
    for (const auto& c : cases) {
        INFO(c.file);
        Request r;
        c.set(r);
        auto src = replay();
        const auto got = run(r, *src);
        CHECK_FALSE(got.outcome.failure);
        CHECK(got.text == read_file(kGolden + "/replay/" + c.file));
    }
}

TEST_CASE("the filter runs on every record and the listing streams in blocks of 1024",
          "[listing]") {
    auto records = established(3000);
    // Every other socket talks to port 81 instead: the filter keeps the other half.
    for (std::size_t i = 0; i < records.size(); i += 2)
        records[i].peer.port = 81;
    // One wide address in the second block of matched rows: ss's columns are measured
    // per block, so only that block's rows get wider.
    auto& wide = records[2 * 1100 + 1];
    wide.local.addr = golden::addr("2001:db8:1234:5678:9abc:def0:1234:5678");
    wide.family = wide.local.addr.family;
    FakeSource src(records);
    auto r = tan();
    r.header = false;
    r.filter = {"dport = :80"};
    const auto got = run(r, src);
    CHECK_FALSE(got.outcome.failure);
    CHECK(got.outcome.matched == 1500);
    std::vector<std::string> lines;
    std::istringstream in(got.text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    REQUIRE(lines.size() == 1500);
    CHECK(got.text.find(":81") == std::string::npos);
    CHECK(lines[0].size() == lines[1023].size());
    CHECK(lines[1024].size() > lines[1023].size());
    CHECK(lines[1024].size() == lines[1499].size());
    CHECK(src.dumps == 1);  // one pass without -p
}

TEST_CASE(
    "processes (-p): owners are scanned once, for exactly the matched inodes, in a first pass",
    "[listing]") {
    FakeSource src(established(1500));
    auto r = tan();
    r.processes = true;
    r.filter = {"sport < :10010"};
    int scans = 0;
    listing::Hooks hooks;
    hooks.scan_owners = [&](const std::unordered_set<std::uint64_t>& inodes, proc::ScanStats&) {
        ++scans;
        CHECK(inodes.size() == 10);
        proc::OwnerMap m;
        for (const auto i : inodes)
            m[i] = {Owner{static_cast<int>(i), "fake", 3}};
        return m;
    };
    const auto got = run(r, src, hooks);
    CHECK(scans == 1);
    CHECK(src.dumps == 2);  // the inode pass, then the rendering pass
    CHECK(got.outcome.matched == 10);
    CHECK(got.outcome.owners_unknown == 0);
    CHECK(got.text.find("users:((\"fake\",pid=1000,fd=3))") != std::string::npos);
    CHECK(got.text.find("pid=1009,") != std::string::npos);
}

TEST_CASE("processes (-p): the run counts the owners an incomplete scan hid, and says why",
          "[listing]") {
    FakeSource src(established(4));
    auto r = tan();
    r.processes = true;
    listing::Hooks hooks;
    hooks.scan_owners = [](const std::unordered_set<std::uint64_t>&, proc::ScanStats& st) {
        st.processes_denied = 2;
        st.processes_out_of_fds = 1;
        return proc::OwnerMap{{1000, {Owner{7, "mine", 4}}}};
    };
    std::size_t told = 0;
    hooks.owners_hidden = [&](std::size_t unknown, const proc::ScanStats& st) {
        told = unknown;
        CHECK(st.processes_denied == 2);
    };
    std::string text;
    const auto outcome = listing::run(
        plan_of(r), src,
        [&](std::string_view s) {
            CHECK(told == 3);
            text += s;
        },
        hooks);
    const Ran got{text, outcome};
    CHECK(told == 3);  // before the first row, as sockls printed it
    CHECK(got.outcome.owners_unknown == 3);
    CHECK(listing::hidden_because(got.outcome.scan) ==
          "out of file descriptors; 2 processes not readable: run as root");
    proc::ScanStats root;
    root.root_errno = EACCES;
    CHECK(listing::hidden_because(root) == "/proc: permission denied");
    // A complete scan hides nothing, even where a socket has no owner.
    hooks.scan_owners = [](const std::unordered_set<std::uint64_t>&, proc::ScanStats&) {
        return proc::OwnerMap{};
    };
    FakeSource again(established(4));
    CHECK(run(r, again, hooks).outcome.owners_unknown == 0);
}

TEST_CASE("counting by process (--by process) attaches owners before counting", "[listing]") {
    FakeSource src(established(3));
    auto r = tan();
    r.by = output::GroupBy::process;
    listing::Hooks hooks;
    hooks.scan_owners = [](const std::unordered_set<std::uint64_t>& inodes, proc::ScanStats&) {
        proc::OwnerMap m;
        for (const auto i : inodes)
            m[i] = {Owner{42, "counted", 5}};
        return m;
    };
    const auto got = run(r, src, hooks);
    CHECK(got.outcome.matched == 3);
    CHECK(got.text.find("counted") != std::string::npos);
    CHECK(got.text.find("42") != std::string::npos);
}

TEST_CASE("kill (-K) is refused without a filter", "[listing]") {
    Request r;
    r.kill = true;
    const auto bad = listing::refusal(r);
    REQUIRE(bad);
    CHECK(bad->what == "kill");
    CHECK(bad->usage);
    listing::Plan plan;
    CHECK(listing::make_plan(r, plan));
    r.filter = {"sport = :22"};
    CHECK_FALSE(listing::refusal(r));
}

TEST_CASE("kill (-K) destroys the matched inet sockets and lists what it destroyed", "[listing]") {
    auto r = tan();
    r.kill = true;
    r.filter = {"sport = :58935 or dport = :58935"};
    std::vector<std::uint32_t> asked;
    listing::Hooks hooks;
    hooks.destroy = [&](const SocketRecord& rec) -> Result<void> {
        asked.push_back(rec.local.port);
        // The CLOSE_WAIT side closed meanwhile (ENOENT); the client of the
        // FIN_WAIT2 pair is refused.
        if (rec.state == TcpState::close_wait)
            return make_error(std::errc::no_such_file_or_directory, "destroy");
        if (rec.local.port == 43712)
            return make_error(std::errc::operation_not_permitted, "destroy");
        return {};
    };
    auto src = replay();
    const auto got = run(r, *src, hooks);
    CHECK(asked.size() == 5);  // listener, two ESTAB ends, FIN_WAIT2, CLOSE_WAIT
    CHECK(got.outcome.destroyed == 3);
    CHECK(got.outcome.destroy_failed == 1);
    REQUIRE(got.outcome.failure);
    CHECK(got.outcome.failure->what == "kill");
    CHECK_FALSE(got.outcome.failure->usage);
    CHECK(got.text.find("43698") != std::string::npos);
    CHECK(got.text.find("43712") == std::string::npos);
}

TEST_CASE("kill (-K) with nothing to destroy is a runtime failure", "[listing]") {
    auto r = tan();
    r.kill = true;
    r.filter = {"sport = :1"};
    listing::Hooks hooks;
    hooks.destroy = [](const SocketRecord&) -> Result<void> {
        FAIL("nothing matched, nothing may be destroyed");
        return {};
    };
    auto src = replay();
    const auto got = run(r, *src, hooks);
    REQUIRE(got.outcome.failure);
    CHECK(got.outcome.failure->error.context == "no socket matched the filter");
    CHECK(got.text.empty());
}

TEST_CASE("failures come back in the outcome, never printed", "[listing]") {
    auto r = tan();
    r.filter = {"sport", "="};
    listing::Plan plan;
    const auto bad = listing::make_plan(r, plan);
    REQUIRE(bad);
    CHECK(bad->what == "filter");
    CHECK(bad->usage);

    FakeSource broken(established(2));
    broken.fail_with = std::errc::no_buffer_space;
    const auto dumped = run(tan(), broken);
    REQUIRE(dumped.outcome.failure);
    CHECK(dumped.outcome.failure->what == "dump");
    CHECK(dumped.outcome.failure->error.code == std::errc::no_buffer_space);

    auto k = tan();
    k.filter_path = listing::FilterPath::kernel;
    FakeSource procfs(established(2), "procfs");
    const auto kernel = run(k, procfs);
    REQUIRE(kernel.outcome.failure);
    CHECK(kernel.outcome.failure->error.context ==
          "--filter-path kernel needs netlink, not procfs");
    CHECK(procfs.dumps == 0);
}

TEST_CASE("a replayed dump's sockets get no live owners with -p", "[listing]") {
    auto r = tan();
    r.processes = true;
    listing::Hooks hooks;
    int scans = 0;
    hooks.scan_owners = [&](const std::unordered_set<std::uint64_t>&, proc::ScanStats&) {
        ++scans;
        return proc::OwnerMap{};
    };
    auto src = replay();
    const auto got = run(r, *src, hooks);
    CHECK_FALSE(got.outcome.failure);
    CHECK(got.outcome.matched > 0);
    CHECK(scans == 0);
    FakeSource live(established(2));
    CHECK_FALSE(run(r, live, hooks).outcome.failure);
    CHECK(scans == 1);
}

TEST_CASE("filter path kernel still filters raw sockets in user space", "[listing]") {
    auto raw = golden::tcp(TcpState::close, "0.0.0.0", 1, "0.0.0.0", 0);
    raw.netid = Netid::raw;
    auto other = raw;
    other.local.port = 58;
    FakeSource src({raw, other}, "netlink");
    Request r;
    r.raw = r.all = r.numeric = true;
    r.filter = {"sport", "=", ":58"};
    r.filter_path = listing::FilterPath::kernel;
    const auto got = run(r, src);
    CHECK(got.outcome.matched == 1);
}

TEST_CASE("windows format with -o scans owners for the PID column", "[listing]") {
    auto r = tan();
    r.format = output::Format::windows;
    CHECK_FALSE(plan_of(r).request.processes);
    r.timers = true;
    CHECK(plan_of(r).request.processes);
    r.format = output::Format::ss;
    CHECK_FALSE(plan_of(r).request.processes);
}

TEST_CASE("ss's -A QUERY: tables, unix types, '!', refusals", "[listing]") {
    const auto unix_bit = [](UnixType t) { return 1U << static_cast<unsigned>(t); };
    Request r;
    CHECK_FALSE(listing::apply_query("inet", r));
    CHECK((r.tcp && r.udp && r.raw && !r.unix_));
    Request d;
    CHECK_FALSE(listing::apply_query("unix_dgram,unix_seqpacket", d));
    CHECK((d.unix_ && !d.tcp && !d.udp && !d.raw));
    CHECK(d.unix_types == (unix_bit(UnixType::dgram) | unix_bit(UnixType::seqpacket)));
    Request a;
    CHECK_FALSE(listing::apply_query("all,!tcp,!unix_stream", a));
    CHECK((!a.tcp && a.udp && a.raw && a.unix_));
    CHECK(a.unix_types == (listing::kAllUnixTypes & ~unix_bit(UnixType::stream)));
    Request t;  // -t then -A udp: both tables
    t.tcp = true;
    CHECK_FALSE(listing::apply_query("udp", t));
    CHECK((t.tcp && t.udp && !t.unix_));
    Request bad;
    CHECK(listing::apply_query("tcp,nosuch", bad).value_or("").find("\"nosuch\" is not") == 0);
    CHECK(listing::apply_query("tcp,", bad).value_or("").find("\"\" is not") == 0);
    CHECK(listing::apply_query("netlink", bad) == "netlink sockets are not listed by sockls");
    CHECK(listing::apply_query("packet", bad) == "packet sockets are not listed by sockls");
    Request none;
    CHECK(listing::apply_query("!tcp", none) == "no socket tables to show with such query");
}

TEST_CASE("ss -A unix_dgram: the dgram type alone, without a Netid column", "[listing]") {
    Request r;
    r.all = true;
    r.header = true;
    REQUIRE_FALSE(listing::apply_query("unix_dgram", r));
    const auto plan = plan_of(r);
    CHECK_FALSE(listing::render_options(plan, nullptr).show_netid);
    REQUIRE_FALSE(listing::apply_query("unix_stream", r));
    CHECK(listing::render_options(plan_of(r), nullptr).show_netid);
}

TEST_CASE("ss -A unix_seqpacket: no other unix type is listed", "[listing]") {
    std::vector<SocketRecord> recs;
    for (const auto t : {UnixType::stream, UnixType::dgram, UnixType::seqpacket}) {
        SocketRecord u;
        u.netid = Netid::unix_;
        u.unix_type = t;
        u.state = TcpState::close;
        u.inode = 7 + static_cast<unsigned>(t);
        recs.push_back(u);
    }
    FakeSource src(recs);
    Request r;
    r.all = true;
    REQUIRE_FALSE(listing::apply_query("unix_seqpacket", r));
    const auto got = run(r, src);
    CHECK(got.outcome.matched == 1);
    Request both;
    both.all = true;
    REQUIRE_FALSE(listing::apply_query("unix,!unix_dgram", both));
    CHECK(run(both, src).outcome.matched == 2);
}

TEST_CASE("ss's -f FAMILY: inet -4, inet6 -6, unix -x", "[listing]") {
    CHECK(listing::family_keywords().text() == "inet, inet6 or unix");
    Request r;
    listing::apply_family("inet6", r);
    const auto q = listing::default_query(r);
    CHECK((q.ipv6 && !q.ipv4 && q.tcp && !q.unix_));
    Request x;
    listing::apply_family("unix", x);
    const auto qx = listing::default_query(x);
    CHECK((qx.unix_ && !qx.tcp && !qx.udp));
}
