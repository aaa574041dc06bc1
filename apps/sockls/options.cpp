// sockls: command-line parsing into sockls::Options (ss's flags first).
#include "options.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

namespace sockls {
namespace {

void add_flags(CLI::App& app, Options& o) {
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
        ->check(CLI::IsMember({"port", "process", "peer"}));
    app.add_option("--format", o.format, "ss, netstat or windows (or json, jsonl, csv)")
        ->check(CLI::IsMember({"ss", "netstat", "windows", "json", "jsonl", "csv"}));
    app.add_flag("--json", o.json, "one JSON array");
    app.add_flag("--jsonl", o.jsonl, "one JSON object per line");
    app.add_flag("--csv", o.csv, "CSV with a header row");
    app.add_option("-N,--net", o.netns, "list inside the named network namespace");
    app.add_option("--source", o.source, "auto, netlink or proc")
        ->check(CLI::IsMember({"auto", "netlink", "proc"}));
    app.add_option("--record", o.record_path, "also write the raw netlink dump to FILE");
    app.add_option("--replay", o.replay_path, "read sockets from a recorded dump");
    app.add_option("-F,--filter", o.filter_file, "read the filter from FILE");
    app.add_flag("-K,--kill", o.kill, "destroy every matched socket (SOCK_DESTROY)");
    app.add_option("--filter-path", o.filter_path,
                   "where the filter runs: both, kernel or user (for tests)")
        ->check(CLI::IsMember({"both", "kernel", "user"}));
    app.add_option("FILTER", o.filter, "state words and ss filter expression");
}

}  // namespace

Parsed parse_options(int argc, char** argv) {
    Parsed parsed;
    CLI::App app{"sockls: list sockets, as ss and netstat do, faster and in JSON", "sockls"};
    app.set_version_flag("-V,--version", std::string("sockls ") + SOCKLAB_VERSION);
    app.positionals_at_end(false);
    add_flags(app, parsed.options);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        std::fputs(app.help().c_str(), stdout);
        parsed.exit_code = 0;
    } catch (const CLI::CallForVersion& e) {
        std::fputs((std::string(e.what()) + "\n").c_str(), stdout);
        parsed.exit_code = 0;
    } catch (const CLI::ParseError& e) {
        std::fputs(fmt::format("sockls: usage: {}\n", e.what()).c_str(), stderr);
        parsed.exit_code = 2;
    }
    return parsed;
}

}  // namespace sockls
