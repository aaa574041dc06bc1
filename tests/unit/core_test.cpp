// Unit tests for the core module: Result, Fd, Box, number and duration parsing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

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
