// sockls: command-line parsing into sockls::Options (ss's flags first).
#include "options.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string_view>

#include "app.hpp"
#include "socklab/cli.hpp"
#include "socklab/listing.hpp"

namespace sockls {
namespace {

namespace output = socklab::output;

/// An empty value is a slip (`-N "$NS"` with NS unset), never "not given".
const CLI::Validator non_empty(
    [](const std::string& v) { return v.empty() ? std::string("empty value") : std::string(); }, "",
    "non-empty");

/// An option whose value is one word of a library keyword table: the table gives
/// CLI11's check and the help text, so no word list is typed here.
void keyword(CLI::App& app, const socklab::listing::Keywords& k, std::string& into,
             std::string_view help) {
    app.add_option(std::string(k.option), into, std::string(help) + k.text())
        ->check(non_empty)
        ->check(CLI::IsMember(k.strings()));
}

/// The path and name options, bound as strings and turned into optionals after parsing.
struct Paths {
    std::string netns, record, replay, filter_file;
};

void add_flags(CLI::App& app, Options& o, Paths& paths) {
    auto& r = o.request;
    app.add_flag("-t,--tcp", r.tcp, "TCP sockets");
    app.add_flag("-u,--udp", r.udp, "UDP sockets");
    app.add_flag("-x,--unix", r.unix_, "unix domain sockets");
    app.add_flag("-w,--raw", r.raw, "raw sockets");
    app.add_flag("-4,--ipv4", r.ipv4, "IPv4 only");
    app.add_flag("-6,--ipv6", r.ipv6, "IPv6 only");
    app.add_flag("-a,--all", r.all, "sockets in every state");
    app.add_flag("-l,--listening", r.listening, "listening sockets only");
    app.add_flag("-n,--numeric", r.numeric, "numeric ports (no service names)");
    app.add_flag("-r,--resolve", r.resolve, "resolve host names");
    app.add_flag("-p,--processes", r.processes, "owning processes (every owner)");
    app.add_flag("-e,--extended", r.extended, "uid, inode and socket cookie");
    app.add_flag("-o,--options", r.timers, "timers");
    app.add_flag("-i,--info", r.info, "TCP internals (tcp_info)");
    app.add_flag("-m,--memory", r.memory, "socket memory");
    app.add_flag("-H,--no-header", o.no_header, "no header line");
    app.add_flag("-O,--oneline", r.one_line, "one line per socket");
    app.add_flag("-s,--summary", r.summary, "per-state histogram");
    keyword(app, socklab::listing::group_by_keywords(), o.by, "count by ");
    keyword(app, socklab::listing::format_keywords(), o.format, "");
    app.add_flag("--json", o.json, "one JSON array");
    app.add_flag("--jsonl", o.jsonl, "one JSON object per line");
    app.add_flag("--csv", o.csv, "CSV with a header row");
    app.add_option("-N,--net", paths.netns, "list inside the named network namespace")
        ->check(non_empty);
    keyword(app, socklab::listing::source_keywords(), o.source, "");
    keyword(app, socklab::listing::family_keywords(), o.family, "only sockets of family ");
    app.add_option("-A,--query,--socket", o.query,
                   "ss's socket tables: all, inet, tcp, udp, raw, unix, unix_dgram, "
                   "unix_stream or unix_seqpacket (comma list, ! takes one away)")
        ->allow_extra_args(false);
    app.add_option("--record", paths.record, "also write the raw netlink dump to FILE")
        ->check(non_empty);
    app.add_option("--replay", paths.replay, "read sockets from a recorded dump")->check(non_empty);
    app.add_option("-F,--filter", paths.filter_file, "read the filter from FILE (- for stdin)")
        ->check(non_empty);
    app.add_flag("-K,--kill", r.kill, "destroy every matched socket (SOCK_DESTROY)");
    keyword(app, socklab::listing::filter_path_keywords(), o.filter_path,
            "where the filter runs (for tests): ");
    app.add_option("FILTER", r.filter, "state words and ss filter expression");
}

/// The first conflict between options, as its message (nc's one place), or null.
const char* conflict(const Options& o) {
    const auto& r = o.request;
    if ((o.json ? 1 : 0) + (o.jsonl ? 1 : 0) + (o.csv ? 1 : 0) + (o.format != "ss" ? 1 : 0) > 1)
        return "choose one of --format, --json, --jsonl and --csv";
    if (r.all && r.listening) return "cannot use -a and -l";
    if (r.summary && !o.by.empty()) return "cannot use -s and --by";
    if (o.record_path && o.replay_path) return "cannot use --record and --replay";
    if (r.kill && o.replay_path) return "cannot use --kill with --replay";
    if (o.filter_path == "kernel" && o.source == "proc")
        return "cannot use --filter-path kernel with --source proc";
    if (o.filter_path == "kernel" && o.replay_path)
        return "cannot use --filter-path kernel with --replay";
    return nullptr;
}

/// The request's values from the words CLI11 checked against the keyword tables;
/// the reason when -A's list is refused.
std::optional<std::string> complete(Options& o) {
    auto& r = o.request;
    r.format = o.json    ? output::Format::json
               : o.jsonl ? output::Format::jsonl
               : o.csv   ? output::Format::csv
                         : *output::parse_format(o.format);
    if (!o.by.empty()) r.by = output::parse_group_by(o.by);
    r.header = !o.no_header;
    if (!o.family.empty()) socklab::listing::apply_family(o.family, r);
    r.filter_path = *socklab::listing::parse_filter_path(o.filter_path);
    if (o.query.empty()) return std::nullopt;
    std::string list;
    for (const auto& q : o.query)
        list += (&q == &o.query.front() ? "" : ",") + q;
    return socklab::listing::apply_query(list, r);
}

}  // namespace

Parsed parse_options(int argc, char** argv) {
    Parsed parsed;
    CLI::App app{"sockls: list sockets, as ss and netstat do, faster and in JSON", "sockls"};
    app.set_version_flag("-V,--version", std::string("sockls ") + SOCKLAB_VERSION);
    app.positionals_at_end(false);
    Paths paths;
    add_flags(app, parsed.options, paths);
    if (auto s = socklab::cli::completion_request(app, argc, argv, socklab::cli::filter_args()))
        return std::fputs(s->c_str(), stdout), Parsed{{}, 0};
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
        if (const char* clash = conflict(parsed.options)) {
            socklab::app::error_line("sockls", "usage", clash);
            parsed.exit_code = socklab::app::exit_usage;
        }
        if (auto bad = complete(parsed.options); bad && !parsed.exit_code) {
            socklab::app::error_line("sockls", "-A", *bad);
            parsed.exit_code = socklab::app::exit_usage;
        }
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
