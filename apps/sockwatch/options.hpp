// sockwatch: the command line, parsed and validated into one options struct.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/filter.hpp"
#include "socklab/watch.hpp"

namespace sockwatch {

enum class Mode { live, events, counts, metrics };

struct Options {
    Mode mode = Mode::live;
    bool jsonl = false;
    socklab::watch::Selection selection;  ///< -t -u -4 -6 and FILTER
    std::chrono::nanoseconds interval = std::chrono::seconds(1);
    socklab::watch::SourceChoice source = socklab::watch::SourceChoice::automatic;
    std::vector<socklab::watch::WarnRule> warns;
    std::optional<std::chrono::nanoseconds> duration;
    std::optional<std::uint64_t> count;
    std::string netns;
    std::string color = "auto";  ///< --color: auto, always, never (app::use_color)
    std::vector<std::string> filter_words;
    std::string metrics;  ///< --metrics ADDR:PORT; empty: none
    std::size_t metrics_max_processes = 50;
    std::function<void(const socklab::watch::Step&)> tap;  ///< fed every step (--metrics)
};

/// Exit codes (EXIT STATUS in sockwatch(1)).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_warn = 3;

/// Parses argv. On --help/--version/usage errors prints and returns the exit code.
[[nodiscard]] std::variant<Options, int> parse_options(int argc, char** argv);

/// "sockwatch: what: why" on stderr.
void print_error(const socklab::Error& e);

/// Runs the event stream or --counts until --duration, --count, a stop signal
/// (`stop_fd` readable), the reader leaving or a crossed --warn; returns the exit
/// code. The first --counts line is the counts of the snapshot start() took.
[[nodiscard]] int run_stream(socklab::watch::Monitor& monitor, const Options& options, int stop_fd);
/// --metrics: serves GET /metrics (the address on stderr); the tap it returns owns the
/// server and feeds it the steps' transitions. Empty after printing an error.
[[nodiscard]] std::function<void(const socklab::watch::Step&)> start_metrics(const Options& o);
/// --metrics without --events/--counts/--jsonl: only steps the monitor for the tap.
[[nodiscard]] int run_metrics(socklab::watch::Monitor& monitor, const Options& o, int stop_fd);
/// Runs the full-screen live table; returns the exit code.
[[nodiscard]] int run_live(socklab::watch::Monitor& monitor, const Options& options, int stop_fd,
                           std::vector<socklab::watch::Event> baseline);

}  // namespace sockwatch
