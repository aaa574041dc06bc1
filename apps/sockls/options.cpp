// sockls: command-line parsing into sockls::Options (ss's flags first).
#include "options.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string_view>

#include "app.hpp"

namespace sockls {
namespace {

/// An empty value is a slip (`-N "$NS"` with NS unset), never "not given".
const CLI::Validator non_empty(
    [](const std::string& v) { return v.empty() ? std::string("empty value") : std::string(); }, "",
    "non-empty");

/// The path and name options, bound as strings and turned into optionals after parsing.
struct Paths {
    std::string netns, record, replay, filter_file;
};

void add_flags(CLI::App& app, Options& o, Paths& paths) {
    app.add_flag("-t,--tcp", o.tcp, "TCP sockets");
    app.add_flag("-u,--udp", o.udp, "UDP sockets");
    app.add_flag("-x,--unix", o.unix_, "unix domain sockets");
    app.add_flag("-w,--raw", o.raw, "raw sockets");
    app.add_flag("-4,--ipv4", o.ipv4, "IPv4 only");
    app.add_flag("-6,--ipv6", o.ipv6, "IPv6 only");
    app.add_flag("-a,--all", o.all, "sockets in every state");
    app.add_flag("-l,--listening", o.listening, "listening sockets only");
    app.add_flag("-n,--numeric", o.numeric, "numeric ports (no service names)");
    app.add_flag("-r,--resolve", o.resolve, "resolve host names");
    app.add_flag("-p,--processes", o.processes, "owning processes (every owner)");
    app.add_flag("-e,--extended", o.extended, "uid, inode and socket cookie");
    app.add_flag("-o,--options", o.timers, "timers");
    app.add_flag("-i,--info", o.info, "TCP internals (tcp_info)");
    app.add_flag("-m,--memory", o.memory, "socket memory");
    app.add_flag("-H,--no-header", o.no_header, "no header line");
    app.add_flag("-O,--oneline", o.one_line, "one line per socket");
    app.add_flag("-s,--summary", o.summary, "per-state histogram");
    app.add_option("--by", o.by, "count by port, process or peer")
        ->check(non_empty)
        ->check(CLI::IsMember({"port", "process", "peer"}));
    app.add_option("--format", o.format, "ss, netstat or windows (or json, jsonl, csv)")
        ->check(non_empty)
        ->check(CLI::IsMember({"ss", "netstat", "windows", "json", "jsonl", "csv"}));
    app.add_flag("--json", o.json, "one JSON array");
    app.add_flag("--jsonl", o.jsonl, "one JSON object per line");
    app.add_flag("--csv", o.csv, "CSV with a header row");
    app.add_option("-N,--net", paths.netns, "list inside the named network namespace")
        ->check(non_empty);
    app.add_option("--source", o.source, "auto, netlink or proc")
        ->check(non_empty)
        ->check(CLI::IsMember({"auto", "netlink", "proc"}));
    app.add_option("--record", paths.record, "also write the raw netlink dump to FILE")
        ->check(non_empty);
    app.add_option("--replay", paths.replay, "read sockets from a recorded dump")->check(non_empty);
    app.add_option("-F,--filter", paths.filter_file, "read the filter from FILE (- for stdin)")
        ->check(non_empty);
    app.add_flag("-K,--kill", o.kill, "destroy every matched socket (SOCK_DESTROY)");
    app.add_option("--filter-path", o.filter_path,
                   "where the filter runs: both, kernel or user (for tests)")
        ->check(non_empty)
        ->check(CLI::IsMember({"both", "kernel", "user"}));
    app.add_option("FILTER", o.filter, "state words and ss filter expression");
}

}  // namespace

Parsed parse_options(int argc, char** argv) {
    Parsed parsed;
    CLI::App app{"sockls: list sockets, as ss and netstat do, faster and in JSON", "sockls"};
    app.set_version_flag("-V,--version", std::string("sockls ") + SOCKLAB_VERSION);
    app.positionals_at_end(false);
    Paths paths;
    add_flags(app, parsed.options, paths);
    // CLI11 2.1 reads `--net=` as `--net` and takes the next word as its value
    // (`--net= -t` is the namespace "-t"): an empty `--opt=` is refused first.
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") break;
        if (arg.size() > 3 && arg.substr(0, 2) == "--" && arg.back() == '=') {
            socklab::app::error_line("sockls", "usage",
                                     fmt::format("{}: empty value", arg.substr(0, arg.size() - 1)));
            parsed.exit_code = socklab::app::exit_usage;
            return parsed;
        }
    }
    try {
        app.parse(argc, argv);
        const auto given = [&](const char* name, const std::string& v) {
            return app.count(name) != 0 ? std::optional<std::string>(v) : std::nullopt;
        };
        parsed.options.netns = given("--net", paths.netns);
        parsed.options.record_path = given("--record", paths.record);
        parsed.options.replay_path = given("--replay", paths.replay);
        parsed.options.filter_file = given("--filter", paths.filter_file);
    } catch (const CLI::CallForHelp& e) {
        std::fputs(app.help().c_str(), stdout);
        parsed.exit_code = 0;
    } catch (const CLI::CallForVersion& e) {
        std::fputs((std::string(e.what()) + "\n").c_str(), stdout);
        parsed.exit_code = 0;
    } catch (const CLI::ParseError& e) {
        socklab::app::error_line("sockls", "usage", e.what());
        parsed.exit_code = socklab::app::exit_usage;
    }
    return parsed;
}

}  // namespace sockls
