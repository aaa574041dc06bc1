// sockwatch: the event stream and --counts — one line per event or interval, flushed at once.
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>

#include "app.hpp"
#include "options.hpp"

namespace sockwatch {
namespace {

using Steady = std::chrono::steady_clock;

std::string sources_line(const socklab::watch::Monitor& m, const Options& o) {
    std::string line = fmt::format("sources: {} every {}s", m.sources(),
                                   std::chrono::duration<double>(o.interval).count());
    for (const auto& note : m.notes())
        line += fmt::format(" ({})", note);
    return line;
}

std::string counts_line(const socklab::watch::Monitor& monitor, const Options& o) {
    const auto counts = monitor.tracker().counts();
    const auto now = socklab::watch::Clock::now();
    return (o.jsonl ? socklab::watch::format_counts_json(now, counts)
                    : socklab::watch::format_counts_text(now, counts)) +
           "\n";
}

/// The --warn line when a threshold is crossed (then the exit status is 3).
bool report_warn(const socklab::watch::Monitor& monitor, const Options& o) {
    const auto counts = monitor.tracker().counts();
    const auto hit = socklab::watch::crossed(o.warns, counts);
    if (!hit) return false;
    socklab::app::error_line(
        "sockwatch", "warn",
        fmt::format("{} count {} exceeds {}", socklab::state_info(hit->state).json,
                    counts[static_cast<std::size_t>(hit->state)], hit->limit));
    return true;
}

/// Writes `text` to stdout. Into a pipe it goes in pieces of at most PIPE_BUF,
/// each after poll(2) says there is room: pipe(7) guarantees such a write does not
/// block, so the wait happens in poll, beside the stop pipe and the deadline, and
/// no signal can slip in between a check and a blocking write(2). Returns false
/// when output failed or a stop or the deadline came first.
bool write_out(socklab::app::Output& out, std::string_view text, int stop_fd, bool pipe,
               Steady::time_point deadline) {
    if (!pipe) return out.write(text);
    while (!text.empty()) {
        if (socklab::app::StopSignals::requested()) return false;
        const auto now = Steady::now();
        if (now >= deadline) return false;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        std::array<pollfd, 2> fds{{{STDOUT_FILENO, POLLOUT, 0}, {stop_fd, POLLIN, 0}}};
        const int timeout = deadline == Steady::time_point::max()
                                ? -1
                                : static_cast<int>(std::min<long long>(left, 60'000));
        if (::poll(fds.data(), fds.size(), timeout) < 0) {
            if (errno == EINTR) continue;  // the flag is looked at above
            return out.write(text);        // cannot wait: plain blocking write
        }
        if (fds[1].revents != 0) return false;
        if (fds[0].revents == 0) continue;  // time-out: the deadline is looked at above
        // POLLERR (the reader left) goes to write too: EPIPE ends output quietly.
        // Pieces end at a line end where one fits, so a stop between two pieces
        // never leaves half a line for the reader.
        auto n = std::min<std::size_t>(text.size(), PIPE_BUF);
        if (n < text.size()) {
            const auto nl = text.rfind('\n', n - 1);
            if (nl != std::string_view::npos) n = nl + 1;
        }
        if (!out.write(text.substr(0, n))) return false;
        text.remove_prefix(n);
    }
    return true;
}

}  // namespace

int run_stream(socklab::watch::Monitor& monitor, const Options& o, int stop_fd) {
    using socklab::app::StopSignals;
    // Said once, on stderr: which sources run and why a richer one does not
    // (without root: "tracepoint: mount tracefs ...: Operation not permitted").
    socklab::app::error_line("sockwatch", "", sources_line(monitor, o));
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
        write_out(out, counts_line(monitor, o), stop_fd, out_is_pipe, deadline);
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
            for (const auto& ev : step->events) {
                text += o.jsonl ? socklab::watch::format_event_json(ev)
                                : socklab::watch::format_event_text(ev);
                text += '\n';
                if (o.count && ++printed >= *o.count) {
                    done = true;
                    break;
                }
            }
        }
        // One batch per step, so `| grep` sees it at once. A failed write ends
        // the loop (out.ok()), but a crossed --warn still wins: exit 3. A stop
        // or the deadline ends a write waiting on a full pipe (write_out).
        if (!text.empty() && !write_out(out, text, stop_fd, out_is_pipe, deadline)) {
            if (StopSignals::requested() || Steady::now() >= deadline) break;
        }
        if (report_warn(monitor, o)) return out.finish("sockwatch", exit_warn);
        if (out_is_pipe && step->extra_ready.at(1)) break;  // the reader left
    }
    return out.finish("sockwatch", exit_ok);
}

}  // namespace sockwatch
