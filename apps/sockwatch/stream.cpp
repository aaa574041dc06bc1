// sockwatch: the event stream and --counts — one line per event or interval, flushed at once.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "options.hpp"

namespace sockwatch {
namespace {

using Steady = std::chrono::steady_clock;

/// Writes the whole batch at once; false when stdout went away (EPIPE).
bool emit(const std::string& text) {
    if (text.empty()) return true;
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
        return false;
    return true;
}

std::string sources_line(const socklab::watch::Monitor& m, const Options& o) {
    std::string line = fmt::format("sockwatch: sources: {} every {}s", m.sources(),
                                   std::chrono::duration<double>(o.interval).count());
    for (const auto& note : m.notes())
        line += fmt::format(" ({})", note);
    return line;
}

}  // namespace

int run_stream(socklab::watch::Monitor& monitor, const Options& o, int signal_fd) {
    fmt::print(stderr, "{}\n", sources_line(monitor, o));
    std::fflush(stderr);
    const auto deadline = o.duration ? Steady::now() + *o.duration : Steady::time_point::max();
    std::uint64_t printed = 0;
    // A pipe's write end reports POLLERR once the reader is gone (`| head -1`):
    // watch it so we end then, not at the next event. Files and terminals are
    // always writable and are left out.
    struct stat st {};
    const bool out_is_pipe = ::fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
    const std::vector<int> extra =
        out_is_pipe ? std::vector<int>{signal_fd, STDOUT_FILENO} : std::vector<int>{signal_fd};
    while (Steady::now() < deadline) {
        auto step = monitor.step(extra);
        if (!step) {
            print_error(step.error());
            return exit_failure;
        }
        for (const auto& w : step->warnings)
            fmt::print(stderr, "sockwatch: {}\n", w);
        std::string out;
        bool done = false;
        if (o.mode == Mode::counts) {
            if (step->polled) {
                const auto counts = monitor.tracker().counts();
                const auto now = socklab::watch::Clock::now();
                out = (o.jsonl ? socklab::watch::format_counts_json(now, counts)
                               : socklab::watch::format_counts_text(now, counts)) +
                      "\n";
                done = o.count && ++printed >= *o.count;
            }
        } else {
            for (const auto& ev : step->events) {
                out += o.jsonl ? socklab::watch::format_event_json(ev)
                               : socklab::watch::format_event_text(ev);
                out += '\n';
                if (o.count && ++printed >= *o.count) {
                    done = true;
                    break;
                }
            }
        }
        if (!emit(out)) return errno == EPIPE ? exit_ok : exit_failure;
        if (const auto hit = socklab::watch::crossed(o.warns, monitor.tracker().counts())) {
            fmt::print(stderr, "sockwatch: warn: {} count {} exceeds {}\n",
                       socklab::state_info(hit->state).json,
                       monitor.tracker().counts()[static_cast<std::size_t>(hit->state)],
                       hit->limit);
            return exit_warn;
        }
        if (done || step->extra_ready.at(0)) break;
        if (out_is_pipe && step->extra_ready.at(1)) return exit_ok;  // the reader left
    }
    return exit_ok;
}

}  // namespace sockwatch
