// Unit tests for the lab module: scenarios on loopback, explanations, doctor rules.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "socklab/lab.hpp"

using namespace socklab;
using namespace std::chrono_literals;

namespace {

// A small /proc/net/tcp reader, enough to find a socket's state by its 4-tuple.
class ProcNetTcp final : public diag::SocketSource {
  public:
    Result<std::vector<SocketRecord>> dump(const diag::Query& q) override {
        std::vector<SocketRecord> out;
        if (q.ipv4) read("/proc/net/tcp", Family::inet, out);
        if (q.ipv6) read("/proc/net/tcp6", Family::inet6, out);
        return out;
    }
    std::string_view name() const override { return "test-procfs"; }

  private:
    static Endpoint endpoint(const std::string& text, Family family) {
        Endpoint e;
        e.addr.family = family;
        const auto colon = text.find(':');
        const std::string hex = text.substr(0, colon);
        // Each 32-bit word is printed as a host-order (little-endian) number.
        for (std::size_t w = 0; w * 8 < hex.size(); ++w)
            for (std::size_t b = 0; b < 4; ++b)
                e.addr.bytes[w * 4 + b] = static_cast<std::uint8_t>(
                    std::stoul(hex.substr(w * 8 + (3 - b) * 2, 2), nullptr, 16));
        e.port = static_cast<std::uint32_t>(std::stoul(text.substr(colon + 1), nullptr, 16));
        return e;
    }
    static void read(const char* path, Family family, std::vector<SocketRecord>& out) {
        std::ifstream in(path);
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string sl, local, peer, st;
            fields >> sl >> local >> peer >> st;
            SocketRecord r;
            r.family = family;
            r.local = endpoint(local, family);
            r.peer = endpoint(peer, family);
            r.state = state_from_kernel(static_cast<unsigned>(std::stoul(st, nullptr, 16)));
            out.push_back(r);
        }
    }
};

std::string family_label(Family f) {
    return f == Family::inet ? "IPv4" : "IPv6";
}

}  // namespace

TEST_CASE("every scenario reaches its state on loopback, IPv4 and IPv6", "[lab]") {
    ProcNetTcp source;
    for (const Family family : {Family::inet, Family::inet6}) {
        for (const auto& info : lab::scenarios()) {
            INFO(info.name << " " << family_label(family));
            auto s = lab::Scenario::start(info.id, {.family = family});
            if (!s) FAIL(s.error().message());
            auto ok = s->verify(2s, &source);
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
    ProcNetTcp source;
    for (const auto id : {lab::ScenarioId::fin_wait1, lab::ScenarioId::close_wait,
                          lab::ScenarioId::syn_recv, lab::ScenarioId::last_ack}) {
        auto s = lab::Scenario::start(id);
        REQUIRE(s);
        const auto ports = s->ports();
        s->release();
        auto gone = [&] {
            auto all = source.dump({});
            return std::none_of(all->begin(), all->end(), [&](const SocketRecord& r) {
                return std::find(ports.begin(), ports.end(), r.local.port) != ports.end();
            });
        };
        bool clean = false;
        for (int i = 0; i < 200 && !(clean = gone()); ++i)
            std::this_thread::sleep_for(10ms);
        INFO(lab::scenario_info(id).name);
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
