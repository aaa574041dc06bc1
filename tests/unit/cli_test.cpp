// socklab::cli: option values and the bash script from a CLI::App's own tables.
#include <catch2/catch.hpp>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "socklab/cli.hpp"
#include "socklab/model.hpp"

namespace cli = socklab::cli;
using Words = std::vector<std::string>;

TEST_CASE("an IsMember check gives the option's words", "[cli]") {
    CLI::App app{"t", "t"};
    std::string v;
    auto* o = app.add_option("--format", v, "how")->check(CLI::IsMember({"ss", "json", "csv"}));
    CHECK(cli::value_words(*o) == Words{"ss", "json", "csv"});
}

TEST_CASE("a check described a|b gives its words", "[cli]") {
    CLI::App app{"t", "t"};
    std::string v;
    auto* o = app.add_option("--family", v, "4 (127.0.0.1, default) or 6 (::1)")
                  ->check(CLI::Validator([](const std::string&) { return std::string(); }, "4|6"));
    CHECK(cli::value_words(*o) == Words{"4", "6"});
}

TEST_CASE("a help text's a|b|c list or leading 'a, b or c' gives the words", "[cli]") {
    CLI::App app{"t", "t"};
    std::string a, b, c, d;
    auto* eof = app.add_option("--on-eof", a, "at stdin EOF: shutdown|close|rst|wait");
    auto* color = app.add_option("--color", b, "auto, always or never (NO_COLOR also)");
    auto* two = app.add_option("--two", c, "poll or tracepoint");
    auto* prose = app.add_option("-i", d, "Seconds between polls (default 1, min 0.01)");
    CHECK(cli::value_words(*eof) == Words{"shutdown", "close", "rst", "wait"});
    CHECK(cli::value_words(*color) == Words{"auto", "always", "never"});
    CHECK(cli::value_words(*two) == Words{"poll", "tracepoint"});
    CHECK(cli::value_words(*prose).empty());
}

TEST_CASE("prose that merely contains commas or 'or' gives no words", "[cli]") {
    CLI::App app{"t", "t"};
    std::string a, b, c;
    auto* port = app.add_option("-p", a, "source port (connect) or listen port (-l)");
    auto* dur = app.add_option("--duration", b, "Stop after this long (1.5, 250ms, 2m)");
    auto* keep = app.add_option("--keep", c, "SO_KEEPALIVE [=IDLE,INTVL,CNT]");
    CHECK(cli::value_words(*port).empty());
    CHECK(cli::value_words(*dur).empty());
    CHECK(cli::value_words(*keep).empty());
}

TEST_CASE("state words are every state and group the filter accepts", "[cli]") {
    const auto words = cli::state_words();
    for (const char* w :
         {"established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait",
          "close-wait", "last-ack", "listen", "closing", "all", "connected"})
        CHECK(std::find(words.begin(), words.end(), std::string(w)) != words.end());
    for (const auto& w : words)
        CHECK(socklab::parse_state_word(w).has_value());
}

TEST_CASE("the script lists flags, values, subcommands and hides hidden options", "[cli]") {
    CLI::App app{"t", "tool"};
    std::string color, hold, secret, net;
    bool flag = false;
    app.add_option("--color", color, "c")->check(CLI::IsMember({"auto", "never"}));
    app.add_option("-N,--net", net, "namespace");
    app.add_option("--secret", secret, "s")->group("");
    app.fallthrough();
    auto* run = app.add_subcommand("run", "r");
    run->add_option("--hold", hold, "seconds");
    run->add_flag("-q", flag, "quiet");
    run->add_option("STATE", hold, "the state");
    const auto script = cli::bash_completion(app, "tool", {{"listen", "time-wait"}, false});
    CHECK(script.find("complete -o default -F _socklab_complete_tool tool") != std::string::npos);
    CHECK(script.find("--color) COMPREPLY=($(compgen -W 'auto never'") != std::string::npos);
    CHECK(script.find("ip netns list") != std::string::npos);
    CHECK(script.find("--secret") == std::string::npos);
    CHECK(script.find("compgen -W 'run'") != std::string::npos);
    CHECK(script.find("compgen -W 'listen time-wait'") != std::string::npos);
    CHECK(script.find("'-h --help --hold -q --color -N --net'") != std::string::npos);
}

TEST_CASE("the script is answered only to TOOL --bash-completion alone", "[cli]") {
    CLI::App app{"t", "t"};
    const char* alone[] = {"/usr/bin/sockls", "--bash-completion"};
    const char* more[] = {"sockls", "--bash-completion", "-t"};
    const char* other[] = {"sockls", "-t"};
    const auto script = cli::completion_request(app, 2, alone, cli::Positionals{});
    REQUIRE(script.has_value());
    CHECK(script->find("-F _socklab_complete_sockls sockls") != std::string::npos);
    CHECK_FALSE(cli::completion_request(app, 3, more, cli::Positionals{}).has_value());
    CHECK_FALSE(cli::completion_request(app, 2, other, cli::Positionals{}).has_value());
}
