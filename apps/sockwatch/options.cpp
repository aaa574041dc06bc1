// sockwatch: CLI11 parsing and validation (one place, one message per conflict).
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>

#include "app.hpp"
#include "options.hpp"
#include "socklab/cli.hpp"
#include "socklab/metrics.hpp"

namespace sockwatch {

namespace {

using namespace std::chrono_literals;

/// -i accepts down to 10 ms: below that a dump of a busy host takes longer
/// than the interval and polling would never sleep.
constexpr auto min_interval = 10ms;

int usage(const std::string& what) {
    socklab::app::error_line("sockwatch", "", what + " (see --help)");
    return exit_usage;
}

/// --help and --version: checked like every other write to stdout (a full disk
/// is exit 1 and a message, a closed pipe ends quietly).
int print_and_exit(std::string_view text) {
    socklab::app::Output out;
    out.write(text);
    return out.finish("sockwatch", exit_ok);
}

/// Options that take a value: an empty one is a usage error, never "not given"
/// (`--count ''` used to run forever).
constexpr const char* valued_options[] = {"-i",         "--warn",    "--source",
                                          "--duration", "--count",   "-N",
                                          "--color",    "--metrics", "--metrics-max-processes"};

struct Raw {
    std::string interval = "1";
    std::string source = "auto";
    std::string color = "auto";
    std::string duration;
    std::string count;
    std::vector<std::string> warns;
    std::string max_processes = "50";
    bool events = false, counts = false, tcp = false, udp = false, v4 = false, v6 = false;
};

/// Turns the raw strings into typed options; returns an error message or "".
std::string validate(const Raw& raw, Options& o) {
    auto interval = socklab::parse_duration(raw.interval);
    if (!interval) return fmt::format("-i: {}", interval.error().context);
    if (*interval < min_interval)
        return fmt::format("-i: '{}' is below the minimum of 0.01 seconds", raw.interval);
    o.interval = *interval;
    auto source = socklab::watch::parse_source_choice(raw.source);
    if (!source)
        return fmt::format("--source: '{}' is not one of auto, poll, tracepoint", raw.source);
    o.source = *source;
    if (raw.color != "auto" && raw.color != "always" && raw.color != "never")
        return fmt::format("--color: '{}' is not one of auto, always, never", raw.color);
    o.color = raw.color;
    if (!raw.duration.empty()) {
        auto d = socklab::parse_duration(raw.duration);
        if (!d) return fmt::format("--duration: {}", d.error().context);
        if (d->count() == 0) return fmt::format("--duration: '{}' is not above zero", raw.duration);
        o.duration = *d;
    }
    if (!raw.count.empty()) {
        auto n = socklab::parse_uint(raw.count, 1, UINT64_MAX);
        if (!n) return fmt::format("--count: {}", n.error().context);
        o.count = *n;
    }
    for (const auto& w : raw.warns) {
        auto rule = socklab::watch::parse_warn(w);
        if (!rule) return fmt::format("--warn: {}", rule.error().context);
        o.warns.push_back(*rule);
    }
    if (raw.counts && raw.events) return "cannot use --counts and --events";
    if (raw.tcp || raw.udp) {
        o.selection.tcp = raw.tcp;
        o.selection.udp = raw.udp;
    }
    // The tracepoint fires for TCP only: asking for it on UDP alone would
    // silently watch with the other sources.
    if (o.source == socklab::watch::SourceChoice::tracepoint && !o.selection.tcp)
        return "cannot use --source tracepoint with -u alone (the tracepoint is TCP only)";
    for (const auto& w : o.filter_words)
        if (w.empty()) return "filter: empty word";
    if (raw.v4 != raw.v6) {
        o.selection.ipv4 = raw.v4;
        o.selection.ipv6 = raw.v6;
    }
    auto filter = socklab::filter::parse(o.filter_words, socklab::all_states_mask);
    if (!filter) return fmt::format("filter: {}", filter.error().context);
    o.selection.filter = std::move(filter).value();
    // Off a terminal the live table makes no sense: events, as `ss -E` would.
    if (raw.counts)
        o.mode = Mode::counts;
    else if (raw.events || o.jsonl || ::isatty(STDOUT_FILENO) == 0)
        o.mode = Mode::events;
    if (!o.metrics.empty()) {
        if (auto at = socklab::metrics::parse_listen_address(o.metrics); !at)
            return fmt::format("--metrics: {}", at.error().context);
        auto n = socklab::parse_uint(raw.max_processes, 1, 10000);
        if (!n) return fmt::format("--metrics-max-processes: {}", n.error().context);
        o.metrics_max_processes = *n;
        if (!raw.events && !raw.counts && !o.jsonl) o.mode = Mode::metrics;
        if (o.mode == Mode::metrics && !o.warns.empty())
            return "--warn needs --events, --jsonl or --counts beside --metrics";
    }
    return {};
}

}  // namespace

std::variant<Options, int> parse_options(int argc, char** argv) {
    CLI::App app{"sockwatch: live view and event stream of socket state changes", "sockwatch"};
    app.set_version_flag("--version", std::string("sockwatch ") + SOCKLAB_VERSION);
    Options o;
    Raw raw;
    app.add_option("-i,--interval", raw.interval, "Seconds between polls (default 1, min 0.01)");
    app.add_flag("--events", raw.events, "One line per event even on a terminal");
    app.add_flag("--jsonl", o.jsonl, "Events (or counts) as JSON lines");
    app.add_flag("--counts", raw.counts, "One line of per-state counts per interval");
    app.add_option("--warn", raw.warns, "STATE>N: exit 3 when the count of STATE exceeds N")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--source", raw.source, "auto, poll or tracepoint");
    app.add_option("--duration", raw.duration, "Stop after this long (1.5, 250ms, 2m)");
    app.add_option("--count", raw.count, "Stop after N events");
    app.add_option("-N,--net", o.netns, "Watch inside the named network namespace");
    app.add_option("--color", raw.color, "auto, always or never (NO_COLOR also turns it off)");
    app.add_option("--metrics", o.metrics, "ADDR:PORT: serve Prometheus GET /metrics there");
    app.add_option("--metrics-max-processes", raw.max_processes, "Process series (default 50)");
    app.add_flag("-t,--tcp", raw.tcp, "TCP sockets (the default)");
    app.add_flag("-u,--udp", raw.udp, "UDP sockets");
    app.add_flag("-4,--ipv4", raw.v4, "IPv4 only");
    app.add_flag("-6,--ipv6", raw.v6, "IPv6 only");
    app.add_option("filter", o.filter_words, "FILTER: the sockls filter language");
    if (auto s = socklab::cli::completion_request(app, argc, argv, socklab::cli::filter_args()))
        return print_and_exit(*s);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return print_and_exit(app.help());
    } catch (const CLI::CallForVersion&) {
        return print_and_exit(std::string("sockwatch ") + SOCKLAB_VERSION + "\n");
    } catch (const CLI::ParseError& e) {
        return usage(e.what());
    }
    for (const char* name : valued_options)
        for (const auto& v : app.get_option(name)->results())
            if (v.empty()) return usage(fmt::format("{}: empty value", name));
    if (auto err = validate(raw, o); !err.empty()) return usage(err);
    return o;
}

void print_error(const socklab::Error& e) {
    socklab::app::error_line("sockwatch", e.context, socklab::app::reason(e.code));
}

}  // namespace sockwatch
