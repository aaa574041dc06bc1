// Unit tests for the core module: Result, Fd, Box, number and duration parsing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>

#include <span>
#include <string>
#include <vector>

#include "socklab/core.hpp"

using namespace socklab;

TEST_CASE("Fd closes exactly once and moves ownership", "[core]") {
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    {
        Fd a(raw);
        Fd b(std::move(a));
        CHECK_FALSE(a.valid());
        CHECK(b.get() == raw);
    }
    CHECK(::fcntl(raw, F_GETFD) == -1);
}

TEST_CASE("Result carries a value or an error with context", "[core]") {
    Result<int> ok = 5;
    CHECK(ok.ok());
    CHECK(*ok == 5);
    Result<int> bad = errno_error("connect 127.0.0.1:9", ECONNREFUSED);
    CHECK_FALSE(bad.ok());
    CHECK(bad.error().message() == "connect 127.0.0.1:9: Connection refused");
    Result<void> v;
    CHECK(v.ok());
}

TEST_CASE("Box copies deeply", "[core]") {
    Box<int> a(3);
    Box<int> b = a;
    *b = 4;
    CHECK(*a == 3);
    CHECK(*b == 4);
    Box<int> none;
    CHECK_FALSE(none);
}

TEST_CASE("parse_uint refuses wrap-around, signs and junk", "[core]") {
    CHECK(*parse_uint("65535", 1, 65535) == 65535);
    CHECK_FALSE(parse_uint("65536", 1, 65535));
    CHECK_FALSE(parse_uint("99999", 1, 65535));
    CHECK_FALSE(parse_uint("0", 1, 65535));
    CHECK_FALSE(parse_uint("-1", 0, 10));
    CHECK_FALSE(parse_uint("abc", 0, 10));
    CHECK_FALSE(parse_uint("12x", 0, 100));
    CHECK_FALSE(parse_uint("", 0, 10));
    CHECK_FALSE(parse_uint("99999999999999999999999", 0, ~0ULL));
}

TEST_CASE("parse_duration understands units", "[core]") {
    using namespace std::chrono;
    CHECK(*parse_duration("2") == seconds(2));
    CHECK(*parse_duration("250ms") == milliseconds(250));
    CHECK(*parse_duration("1.5s") == milliseconds(1500));
    CHECK(*parse_duration("1m") == minutes(1));
    CHECK_FALSE(parse_duration("-1"));
    CHECK_FALSE(parse_duration("x"));
    CHECK_FALSE(parse_duration("nan"));
}

TEST_CASE("times format as RFC 3339 with microseconds", "[core]") {
    const auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1234567));
    const std::string s = format_time_us(t, false);
    CHECK(s.size() == 26);
    CHECK(s.substr(19) == ".234567");
}

TEST_CASE("read_all stops one byte past its bound; read_file names the path", "[core]") {
    const socklab::Fd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    REQUIRE(zero);
    const auto endless = socklab::read_all(zero.get(), 4096);
    REQUIRE_FALSE(endless);
    CHECK(endless.error().code == std::errc::file_too_large);
    const socklab::Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const auto empty = socklab::read_all(null.get(), 10);
    REQUIRE(empty);
    CHECK(empty->empty());
    const auto missing = socklab::read_file("/nonexistent/socklab", 10);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().context == "/nonexistent/socklab");
    CHECK(missing.error().code == std::errc::no_such_file_or_directory);
    const auto dir = socklab::read_file("/", 10);
    REQUIRE_FALSE(dir);
    CHECK(dir.error().code == std::errc::is_a_directory);
}

TEST_CASE("write_all and read_exact move every byte through a pipe", "[core]") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    socklab::Fd r(p[0]), w(p[1]);
    const std::string text(10000, 'x');
    REQUIRE(socklab::write_all(w.get(), std::as_bytes(std::span(text))));
    REQUIRE(w.close());
    CHECK_FALSE(w.valid());
    std::vector<std::byte> back(20000);
    const auto got = socklab::read_exact(r.get(), back);
    REQUIRE(got);
    CHECK(*got == text.size());
    CHECK(socklab::Fd().close());  // closing nothing succeeds
}

TEST_CASE("Fd::close reports close(2)'s error", "[core]") {
    socklab::Fd bad(1 << 20);  // no such descriptor: EBADF
    const auto r = bad.close();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::bad_file_descriptor);
    CHECK_FALSE(bad.valid());
}

TEST_CASE("reason is the error's message in lower case", "[core]") {
    CHECK(reason(std::make_error_code(std::errc::connection_refused)) == "connection refused");
    CHECK(reason(std::error_code()) == "unknown error");
}

TEST_CASE("the error line stays one line whatever it names", "[core]") {
    CHECK(error_line_text("sockcat", "connect 127.0.0.1:9", "connection refused") ==
          "sockcat: connect 127.0.0.1:9: connection refused\n");
    CHECK(error_line_text("sockls", "", "usage") == "sockls: usage\n");
    CHECK(error_line_text("t", std::string_view("a\nb\rc\0d", 7), "x\ny") ==
          "t: a\\nb\\rc\\0d: x\\ny\n");
}

TEST_CASE("colour: always and never win; auto needs a terminal and no NO_COLOR", "[core]") {
    CHECK(color_wanted("always", false, "1"));
    CHECK_FALSE(color_wanted("never", true, nullptr));
    CHECK(color_wanted("auto", true, nullptr));
    CHECK(color_wanted("auto", true, ""));  // set but empty: no-color.org says colour
    CHECK_FALSE(color_wanted("auto", true, "1"));
    CHECK_FALSE(color_wanted("auto", false, nullptr));
}

TEST_CASE("FdWriter writes everything and tells a gone reader from an error", "[core]") {
    std::array<int, 2> p{};
    REQUIRE(::pipe2(p.data(), O_CLOEXEC) == 0);
    Fd r(p[0]), w(p[1]);
    FdWriter out(w.get());
    REQUIRE(out.write("hello\n"));
    std::array<char, 16> buf{};
    CHECK(::read(r.get(), buf.data(), buf.size()) == 6);
    ::signal(SIGPIPE, SIG_IGN);  // EPIPE instead of a signal death, as every tool does
    r.reset();                   // the reader goes away
    CHECK_FALSE(out.write("more"));
    CHECK(out.reader_gone());
    CHECK_FALSE(out.error());
    FdWriter bad(-1);
    CHECK_FALSE(bad.write("x"));
    REQUIRE(bad.error());
    CHECK(*bad.error() == std::error_code(EBADF, std::system_category()));
    CHECK_FALSE(bad.stop_requested());
}
