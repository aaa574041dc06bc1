// sockwatch: the event stream and --counts — one line per event or interval, flushed at once.
#include <sys/stat.h>
#include <unistd.h>

#include "app.hpp"
#include "options.hpp"

namespace sockwatch {
namespace {

using Steady = std::chrono::steady_clock;

std::string counts_line(const socklab::watch::Monitor& monitor, const Options& o) {
    return socklab::watch::format_counts_line(socklab::watch::Clock::now(),
                                              monitor.tracker().counts(), o.jsonl);
}

/// The --warn line when a threshold is crossed (then the exit status is 3).
bool report_warn(const socklab::watch::Monitor& monitor, const Options& o) {
    const auto counts = monitor.tracker().counts();
    const auto hit = socklab::watch::crossed(o.warns, counts);
    if (!hit) return false;
    socklab::app::error_line("sockwatch", "warn", socklab::watch::format_warn(*hit, counts));
    return true;
}

}  // namespace

int run_stream(socklab::watch::Monitor& monitor, const Options& o, int stop_fd) {
    using socklab::app::StopSignals;
    // Said once, on stderr: which sources run and why a richer one does not
    // (without root: "tracepoint: mount tracefs ...: Operation not permitted").
    socklab::app::error_line("sockwatch", "",
                             socklab::watch::format_sources_line(monitor, o.interval));
    socklab::app::Output out;
    const auto deadline = o.duration ? Steady::now() + *o.duration : Steady::time_point::max();
    std::uint64_t printed = 0;
    // A pipe's write end reports POLLERR once the reader is gone (`| head -1`):
    // watch it so we end then, not at the next event. Files and terminals are
    // always writable and are left out.
    struct stat st {};
    const bool out_is_pipe = ::fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
    const std::vector<int> extra =
        out_is_pipe ? std::vector<int>{stop_fd, STDOUT_FILENO} : std::vector<int>{stop_fd};
    bool done = false;
    // The first --counts line is the snapshot start() took: at once, not one
    // interval later (`--counts -i 10` used to be silent for 10 s).
    if (o.mode == Mode::counts) {
        socklab::app::write_polled(out, counts_line(monitor, o), stop_fd, out_is_pipe, deadline);
        done = o.count && ++printed >= *o.count;
        if (report_warn(monitor, o)) return out.finish("sockwatch", exit_warn);
    }
    // Bounded by the deadline, --count, a stop signal and the reader: each is
    // looked at after every step, and a step never waits past the deadline.
    while (!done && out.ok() && !StopSignals::requested() && Steady::now() < deadline) {
        auto step = monitor.step(extra, deadline);
        if (!step) {
            print_error(step.error());
            return out.finish("sockwatch", exit_failure);
        }
        if (o.tap) o.tap(*step);
        if (StopSignals::requested() || step->extra_ready.at(0)) break;
        for (const auto& w : step->warnings)
            socklab::app::error_line("sockwatch", "", w);
        std::string text;
        if (o.mode == Mode::counts) {
            if (step->polled) {
                text = counts_line(monitor, o);
                done = o.count && ++printed >= *o.count;
            }
        } else {
            const std::uint64_t left = o.count ? *o.count - printed : UINT64_MAX;
            printed += socklab::watch::append_event_lines(text, step->events, o.jsonl, left);
            done = o.count && printed >= *o.count;
        }
        // One batch per step, so `| grep` sees it at once. A failed write ends
        // the loop (out.ok()), but a crossed --warn still wins: exit 3. A stop
        // or the deadline ends a write waiting on a full pipe (write_polled).
        if (!text.empty() &&
            !socklab::app::write_polled(out, text, stop_fd, out_is_pipe, deadline)) {
            if (StopSignals::requested() || Steady::now() >= deadline) break;
        }
        if (report_warn(monitor, o)) return out.finish("sockwatch", exit_warn);
        if (out_is_pipe && step->extra_ready.at(1)) break;  // the reader left
    }
    return out.finish("sockwatch", exit_ok);
}

}  // namespace sockwatch
