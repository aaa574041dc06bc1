// Unit tests of the live table model: highlights, expiry, sorting, filtering, scrolling, lines.
#include <catch2/catch.hpp>

#include "socklab/term.hpp"

using namespace socklab;
using namespace socklab::term;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point(std::chrono::seconds(1'800'000'000));

watch::Event ev(watch::EventKind kind, std::uint64_t row, std::uint32_t lport, std::uint32_t pport,
                TcpState state) {
    watch::Event e;
    e.kind = kind;
    e.row = row;
    e.state = kind == watch::EventKind::gone ? TcpState::close : state;
    e.old_state = state;
    e.socket.netid = Netid::tcp;
    e.socket.family = Family::inet;
    e.socket.local.addr = IpAddr::v4(0x7f000001);
    e.socket.peer.addr = IpAddr::v4(pport == 0 ? 0 : 0x7f000001);
    e.socket.local.port = lport;
    e.socket.peer.port = pport;
    e.socket.state = e.state;
    e.socket.inode = 1000 + row;
    return e;
}

std::vector<Line> body(const LiveTable& t, int height = 10) {
    auto lines = t.render(100, height, StatusInfo{"poll", 1s, false, "", ""});
    REQUIRE(lines.size() == static_cast<std::size_t>(height));
    return {lines.begin() + 1, lines.end() - 1};
}

bool has(const std::vector<Line>& lines, std::string_view text, Mark mark) {
    for (const auto& l : lines)
        if (l.text.find(text) != std::string::npos && l.mark == mark) return true;
    return false;
}

}  // namespace

TEST_CASE("new rows are marked added, changes changed, closed rows closed then removed", "[term]") {
    LiveTable t(2s);
    t.apply(std::vector{ev(watch::EventKind::new_, 1, 80, 0, TcpState::listen)}, t0, false);
    CHECK(has(body(t), "127.0.0.1:80", Mark::none));
    t.apply(std::vector{ev(watch::EventKind::new_, 2, 80, 5000, TcpState::established)}, t0);
    CHECK(has(body(t), "127.0.0.1:5000", Mark::added));
    t.expire(t0 + 3s);
    CHECK(has(body(t), "127.0.0.1:5000", Mark::none));
    t.apply(std::vector{ev(watch::EventKind::change, 2, 80, 5000, TcpState::close_wait)}, t0 + 3s);
    CHECK(has(body(t), "CLOSE_WAIT", Mark::changed));
    t.apply(std::vector{ev(watch::EventKind::gone, 2, 80, 5000, TcpState::close_wait)}, t0 + 4s);
    CHECK(has(body(t), "127.0.0.1:5000", Mark::closed));
    t.expire(t0 + 5s);
    CHECK(t.size() == 2);
    t.expire(t0 + 6s);
    CHECK(t.size() == 1);
}

TEST_CASE("a GONE for a row never shown is ignored", "[term]") {
    LiveTable t;
    t.apply(std::vector{ev(watch::EventKind::gone, 0, 80, 5000, TcpState::close)}, t0);
    CHECK(t.size() == 0);
}

TEST_CASE("the status line counts live rows per state and names source and interval", "[term]") {
    LiveTable t;
    t.apply(std::vector{ev(watch::EventKind::new_, 1, 80, 0, TcpState::listen),
                        ev(watch::EventKind::new_, 2, 80, 5000, TcpState::close_wait),
                        ev(watch::EventKind::new_, 3, 80, 5001, TcpState::close_wait),
                        ev(watch::EventKind::gone, 3, 80, 5001, TcpState::close_wait)},
            t0);
    const auto lines = t.render(160, 6, StatusInfo{"destroy+poll", 250ms, true, "", ""});
    const std::string& status = lines.back().text;
    CHECK(status.find("CLOSE_WAIT 1  LISTEN 1") != std::string::npos);
    CHECK(status.find("destroy+poll every 0.25s") != std::string::npos);
    CHECK(status.find("PAUSED") != std::string::npos);
    CHECK(lines.front().bold);
    CHECK(lines.front().text.find("Local Address") != std::string::npos);
}

TEST_CASE("s cycles the sort key and the rows follow it", "[term]") {
    LiveTable t;
    t.apply(std::vector{ev(watch::EventKind::new_, 1, 90, 1000, TcpState::established),
                        ev(watch::EventKind::new_, 2, 80, 2000, TcpState::close_wait)},
            t0);
    CHECK(t.sort() == SortKey::local);
    auto b = body(t);
    CHECK(b[0].text.find("127.0.0.1:80 ") != std::string::npos);
    t.cycle_sort();
    CHECK(t.sort() == SortKey::remote);
    b = body(t);
    CHECK(b[0].text.find("127.0.0.1:1000") != std::string::npos);
    t.cycle_sort();
    CHECK(t.sort() == SortKey::state);
    b = body(t);
    CHECK(b[0].text.find("ESTABLISHED") != std::string::npos);
    for (int i = 0; i < 5; ++i)
        t.cycle_sort();
    CHECK(t.sort() == SortKey::local);
    t.cycle_sort(-1);
    CHECK(t.sort() == SortKey::received);
}

TEST_CASE("the filter hides rows, reports bad input and clears", "[term]") {
    LiveTable t;
    t.apply(std::vector{ev(watch::EventKind::new_, 1, 80, 0, TcpState::listen),
                        ev(watch::EventKind::new_, 2, 80, 5000, TcpState::established)},
            t0, false);
    REQUIRE(t.set_filter("state listening").ok());
    auto b = body(t);
    CHECK(has(b, "LISTEN", Mark::none));
    CHECK_FALSE(has(b, "ESTABLISHED", Mark::none));
    auto bad = t.set_filter("state nosuch");
    CHECK_FALSE(bad.ok());
    CHECK(t.filter_text() == "state listening");
    REQUIRE(t.set_filter("  ").ok());
    CHECK(has(body(t), "ESTABLISHED", Mark::none));
}

TEST_CASE("scrolling is clamped to the rows there are", "[term]") {
    LiveTable t;
    std::vector<watch::Event> evs;
    for (std::uint32_t i = 0; i < 30; ++i)
        evs.push_back(ev(watch::EventKind::new_, i + 1, 1000 + i, 80, TcpState::established));
    t.apply(evs, t0, false);
    t.scroll(5);
    CHECK(body(t)[0].text.find("127.0.0.1:1005") != std::string::npos);
    t.scroll(1000);
    auto b = body(t);  // 8 body lines: the last 8 rows
    CHECK(b[0].text.find("127.0.0.1:1022") != std::string::npos);
    CHECK(b.back().text.find("127.0.0.1:1029") != std::string::npos);
    t.scroll(-5000);
    CHECK(body(t)[0].text.find("127.0.0.1:1000") != std::string::npos);
}

TEST_CASE("process names fill rows by inode once", "[term]") {
    LiveTable t;
    t.apply(std::vector{ev(watch::EventKind::new_, 1, 80, 0, TcpState::listen)}, t0);
    CHECK(t.inodes_without_process() == std::vector<std::uint64_t>{1001});
    t.set_processes({{1001, "nginx/42"}});
    CHECK(t.inodes_without_process().empty());
    CHECK(has(body(t), "nginx/42", Mark::added));
    // A later change keeps the name.
    t.expire(t0 + 3s);
    t.apply(std::vector{ev(watch::EventKind::change, 1, 80, 0, TcpState::close)}, t0 + 5s);
    CHECK(has(body(t), "nginx/42", Mark::changed));
}

TEST_CASE("lines fit the terminal width and tiny terminals get nothing", "[term]") {
    LiveTable t;
    t.apply(std::vector{ev(watch::EventKind::new_, 1, 80, 5000, TcpState::established)}, t0);
    for (const auto& l : t.render(40, 5, StatusInfo{}))
        CHECK(l.text.size() == 40);
    CHECK(t.render(10, 5, StatusInfo{}).empty());
    CHECK(t.render(80, 2, StatusInfo{}).empty());
}

TEST_CASE("the prompt replaces the status line while typing", "[term]") {
    LiveTable t;
    const auto lines = t.render(80, 4, StatusInfo{"poll", 1s, false, "/state est", ""});
    CHECK(lines.back().text.substr(0, 10) == "/state est");
}

namespace {

KeyPress key(Key k) {
    return KeyPress{k, 0};
}
KeyPress letter(char c) {
    return KeyPress{Key::character, c};
}

}  // namespace

TEST_CASE("q quits, p and space pause, s sorts, other letters do nothing", "[term]") {
    LiveTable table;
    Prompt prompt;
    StatusInfo status;
    CHECK(handle_key(letter('x'), table, prompt, status, 5) == KeyAction::none);
    CHECK(handle_key(letter('p'), table, prompt, status, 5) == KeyAction::none);
    CHECK(status.paused);
    CHECK(handle_key(letter(' '), table, prompt, status, 5) == KeyAction::none);
    CHECK_FALSE(status.paused);
    CHECK(handle_key(letter('s'), table, prompt, status, 5) == KeyAction::none);
    CHECK(table.sort() == SortKey::remote);
    CHECK(handle_key(letter('q'), table, prompt, status, 5) == KeyAction::quit);
    CHECK(handle_key(letter('Q'), table, prompt, status, 5) == KeyAction::quit);
}

TEST_CASE("arrows, pages, Home and End scroll the table", "[term]") {
    LiveTable table;
    std::vector<watch::Event> events;
    for (std::uint64_t i = 1; i <= 20; ++i)
        events.push_back(ev(watch::EventKind::new_, i, static_cast<std::uint32_t>(1000 + i), 80,
                            TcpState::established));
    table.apply(events, t0, false);
    Prompt prompt;
    StatusInfo status;
    const auto first = [&] { return body(table).front().text.substr(0, 40); };
    const std::string top = first();
    (void)handle_key(key(Key::down), table, prompt, status, 5);
    const std::string one = first();
    CHECK(one != top);
    (void)handle_key(key(Key::up), table, prompt, status, 5);
    CHECK(first() == top);
    (void)handle_key(key(Key::page_down), table, prompt, status, 5);
    (void)handle_key(key(Key::page_up), table, prompt, status, 5);
    CHECK(first() == top);
    (void)handle_key(key(Key::end), table, prompt, status, 5);
    CHECK(body(table).back().text.find(":1020") != std::string::npos);
    (void)handle_key(key(Key::home), table, prompt, status, 5);
    CHECK(first() == top);
}

TEST_CASE("/ opens an empty prompt, Enter applies, Escape keeps, empty Enter clears", "[term]") {
    LiveTable table;
    table.apply(std::vector{ev(watch::EventKind::new_, 1, 1001, 80, TcpState::established),
                            ev(watch::EventKind::new_, 2, 1002, 0, TcpState::listen)},
                t0, false);
    Prompt prompt;
    StatusInfo status;
    status.message = "old";
    (void)handle_key(letter('/'), table, prompt, status, 5);
    CHECK(prompt.active);
    CHECK(status.message.empty());
    CHECK(status.prompt.rfind("/   (no filter", 0) == 0);
    // While typing, q is text, not quit.
    for (const char c : std::string("state listenq"))
        CHECK(handle_key(letter(c), table, prompt, status, 5) == KeyAction::none);
    (void)handle_key(key(Key::backspace), table, prompt, status, 5);
    CHECK(status.prompt == "/state listen");
    (void)handle_key(key(Key::enter), table, prompt, status, 5);
    CHECK_FALSE(prompt.active);
    CHECK(status.prompt.empty());
    CHECK(table.filter_text() == "state listen");
    CHECK(body(table).front().text.find("LISTEN") != std::string::npos);
    CHECK(body(table).front().text.find("ESTAB") == std::string::npos);
    // Reopened empty, the filter in force only as a hint; typing does not append to it.
    (void)handle_key(letter('/'), table, prompt, status, 5);
    CHECK(prompt.line.text().empty());
    CHECK(status.prompt.find("now: state listen") != std::string::npos);
    for (const char c : std::string("sport 1001"))
        (void)handle_key(letter(c), table, prompt, status, 5);
    CHECK(status.prompt == "/sport 1001");
    (void)handle_key(key(Key::enter), table, prompt, status, 5);
    CHECK(table.filter_text() == "sport 1001");
    // A bad filter is reported and the old one stays.
    (void)handle_key(letter('/'), table, prompt, status, 5);
    (void)handle_key(letter('('), table, prompt, status, 5);
    (void)handle_key(key(Key::enter), table, prompt, status, 5);
    CHECK(status.message.rfind("filter: ", 0) == 0);
    CHECK(table.filter_text() == "sport 1001");
    // Escape keeps the filter, whatever was typed.
    (void)handle_key(letter('/'), table, prompt, status, 5);
    (void)handle_key(letter('x'), table, prompt, status, 5);
    (void)handle_key(key(Key::escape), table, prompt, status, 5);
    CHECK_FALSE(prompt.active);
    CHECK(table.filter_text() == "sport 1001");
    // Empty Enter clears it: both rows again.
    (void)handle_key(letter('/'), table, prompt, status, 5);
    (void)handle_key(key(Key::enter), table, prompt, status, 5);
    CHECK(table.filter_text().empty());
    CHECK(status.message.empty());
    CHECK(has(body(table), ":1001", Mark::none));
    CHECK(has(body(table), ":1002", Mark::none));
}

TEST_CASE("the line editor: characters, Backspace, Ctrl-U, Ctrl-W, Enter, Escape", "[term]") {
    LineEditor e;
    const auto type = [&](std::string_view s) {
        for (const char c : s)
            CHECK(e.edit(letter(c)) == LineEditor::Outcome::editing);
    };
    CHECK(e.edit(key(Key::backspace)) == LineEditor::Outcome::editing);  // empty: nothing
    CHECK(e.text().empty());
    type("state est");
    CHECK(e.text() == "state est");
    (void)e.edit(key(Key::backspace));
    CHECK(e.text() == "state es");
    (void)e.edit(key(Key::kill_word));
    CHECK(e.text() == "state ");
    (void)e.edit(key(Key::kill_word));
    CHECK(e.text().empty());
    type("dport 80  ");
    (void)e.edit(key(Key::kill_word));  // trailing blanks go with the word before them
    CHECK(e.text() == "dport ");
    (void)e.edit(key(Key::kill_word));
    (void)e.edit(key(Key::kill_word));  // nothing left: stays empty
    CHECK(e.text().empty());
    type("   ");
    (void)e.edit(key(Key::kill_word));
    CHECK(e.text().empty());
    type("sport 7777");
    (void)e.edit(key(Key::kill_line));
    CHECK(e.text().empty());
    type("a");
    CHECK(e.edit(key(Key::up)) == LineEditor::Outcome::editing);  // unknown keys: no change
    CHECK(e.text() == "a");
    CHECK(e.edit(key(Key::enter)) == LineEditor::Outcome::submit);
    CHECK(e.edit(key(Key::escape)) == LineEditor::Outcome::cancel);
    CHECK(e.text() == "a");
    e.clear();
    CHECK(e.text().empty());
}

TEST_CASE("sorting by received bytes puts the busiest first, r reverses, the header says",
          "[term]") {
    LiveTable t;
    std::vector<watch::Event> events;
    for (std::uint64_t i = 1; i <= 3; ++i) {
        auto e = ev(watch::EventKind::new_, i, static_cast<std::uint32_t>(1000 + i), 80,
                    TcpState::established);
        TcpInfo ti;
        ti.bytes_received = i == 2 ? 50000 : i * 10;
        ti.bytes_acked = 7 * i;
        e.socket.tcp_info = ti;
        events.push_back(std::move(e));
    }
    t.apply(events, t0, false);
    Prompt prompt;
    StatusInfo status;
    for (int i = 0; i < 6 && t.sort() != SortKey::received; ++i)
        (void)handle_key(letter('>'), t, prompt, status, 5);
    REQUIRE(t.sort() == SortKey::received);
    auto lines = t.render(120, 10, StatusInfo{});
    CHECK(lines.front().text.find("Recvv") != std::string::npos);
    CHECK(lines.back().text.find("sort received") != std::string::npos);
    CHECK(lines.at(1).text.find(":1002") != std::string::npos);
    CHECK(lines.at(1).text.find(" 50000 ") != std::string::npos);
    CHECK(lines.at(3).text.find(":1001") != std::string::npos);
    (void)handle_key(letter('r'), t, prompt, status, 5);
    lines = t.render(120, 10, StatusInfo{});
    CHECK(lines.front().text.find("Recv^") != std::string::npos);
    CHECK(lines.back().text.find("sort received reversed") != std::string::npos);
    CHECK(lines.at(1).text.find(":1001") != std::string::npos);
    (void)handle_key(letter('<'), t, prompt, status, 5);
    CHECK(t.sort() == SortKey::sent);
}

TEST_CASE("cut text shows the mark, addresses are as wide as their content, help fits", "[term]") {
    LiveTable t;
    auto e = ev(watch::EventKind::new_, 1, 43210, 9600, TcpState::established);
    e.socket.family = Family::inet6;
    e.socket.local.addr = *IpAddr::parse("2001:db8:1234:5678:9abc:def0:1234:5678");
    e.socket.peer.addr = e.socket.local.addr;
    t.apply(std::vector{e, ev(watch::EventKind::new_, 2, 80, 0, TcpState::listen)}, t0, false);
    const StatusInfo status{"destroy+poll", 1s, false, "", ""};
    auto lines = t.render(80, 6, status);
    REQUIRE(lines.size() == 6);
    for (const auto& l : lines)
        CHECK(l.text.size() == 80);
    // The long IPv6 address is cut, with the mark; the port is not silently lost.
    CHECK(has(lines, "[2001:db8:1234:> [2001:db8:1234:> ESTABLISHED", Mark::none));
    // The key help fits: whole, not cut.
    CHECK(lines.back().text.ends_with("| q p s</> r /"));
    CHECK(lines.back().text.find("destroy+poll every 1s") != std::string::npos);
    // Narrower still: the status text is cut with the mark, the help stays whole.
    lines = t.render(50, 6, status);
    CHECK(lines.back().text.ends_with("> | q p s</> r /"));
    // Wide enough: nothing is cut, the full help shows, the IPv4 rows are not padded to the width.
    lines = t.render(200, 6, status);
    CHECK(has(lines, "[2001:db8:1234:5678:9abc:def0:1234:5678]:43210 [", Mark::none));
    CHECK(lines.back().text.find("q quit p pause s/</> sort r reverse / filter") !=
          std::string::npos);
    LiveTable narrow;
    narrow.apply(std::vector{ev(watch::EventKind::new_, 1, 80, 5000, TcpState::established)}, t0,
                 false);
    lines = narrow.render(200, 4, status);
    CHECK(lines.at(1).text.find("127.0.0.1:80    127.0.0.1:5000") != std::string::npos);
}

TEST_CASE("traffic samples move Sent/Recv of live rows and re-sort them", "[term]") {
    LiveTable t;
    t.apply(std::vector{ev(watch::EventKind::new_, 1, 1001, 80, TcpState::established),
                        ev(watch::EventKind::new_, 2, 1002, 80, TcpState::established)},
            t0, false);
    for (int i = 0; i < 6 && t.sort() != SortKey::received; ++i)
        t.cycle_sort(1);
    REQUIRE(t.sort() == SortKey::received);
    watch::TrafficSample s;
    s.row = 2;
    s.time = t0 + 1s;
    s.bytes_sent = 1234;
    s.bytes_received = 98765;
    watch::TrafficSample unknown = s;
    unknown.row = 99;
    t.apply_traffic(std::vector{s, unknown}, t0 + 1s);
    const auto b = body(t);
    CHECK(b.at(0).text.find(":1002") != std::string::npos);
    CHECK(b.at(0).text.find(" 98765 ") != std::string::npos);
    CHECK(b.at(0).text.find(" 1234 ") != std::string::npos);
    CHECK(t.size() == 2);
}
