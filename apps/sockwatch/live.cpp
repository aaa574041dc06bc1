// sockwatch: the full-screen live table — events in, keys in, a frame out per change.
#include <unistd.h>

#include <vector>

#include "app.hpp"
#include "options.hpp"
#include "socklab/term.hpp"

namespace sockwatch {
namespace {

using namespace std::chrono_literals;
using socklab::term::Key;

/// Owner look-ups read all of /proc: at most once a second, whatever -i is.
constexpr auto owner_scan_every = 1s;

}  // namespace

int run_live(socklab::watch::Monitor& monitor, const Options& o, int stop_fd,
             std::vector<socklab::watch::Event> baseline) {
    auto screen = socklab::term::Screen::open(socklab::app::use_color(o.color, STDOUT_FILENO));
    if (!screen) {
        print_error(screen.error());
        return exit_failure;
    }
    socklab::term::LiveTable table;
    table.apply(baseline, socklab::watch::Clock::now(), false);
    const auto deadline = o.duration ? std::chrono::steady_clock::now() + *o.duration
                                     : std::chrono::steady_clock::time_point::max();
    socklab::term::StatusInfo status;
    status.sources = monitor.sources();
    status.message = socklab::watch::format_missing_sources(monitor);
    status.interval = o.interval;
    socklab::term::Prompt prompt;
    auto last_scan = std::chrono::steady_clock::time_point{};
    // Keys come from stdin only when it is a terminal: /dev/null (or a file) is
    // always readable and would turn the wait into a busy loop.
    const std::vector<int> extra = ::isatty(STDIN_FILENO) == 1
                                       ? std::vector<int>{stop_fd, STDIN_FILENO}
                                       : std::vector<int>{stop_fd};
    bool running = true;
    bool redraw = true;  // paused: draw only after a key (the PAUSED mark, the prompt)
    while (running && !socklab::app::StopSignals::requested() &&
           std::chrono::steady_clock::now() < deadline) {
        const auto now = socklab::watch::Clock::now();
        table.expire(now);
        if (std::chrono::steady_clock::now() - last_scan >= owner_scan_every) {
            socklab::term::fill_processes(table);
            last_scan = std::chrono::steady_clock::now();
        }
        if (!status.paused || redraw)
            (*screen)->draw(table.render((*screen)->cols(), (*screen)->rows(), status));
        redraw = false;
        auto step = monitor.step(extra, deadline);
        if (!step) {
            screen->reset();
            print_error(step.error());
            return exit_failure;
        }
        table.apply(step->events, socklab::watch::Clock::now());
        table.apply_traffic(step->traffic, socklab::watch::Clock::now());
        if (socklab::app::StopSignals::requested() || step->extra_ready.at(0)) break;
        for (auto k = (*screen)->read_key(); k.key != Key::none; k = (*screen)->read_key()) {
            redraw = true;
            const int page = std::max(1, (*screen)->rows() - 2);
            if (socklab::term::handle_key(k, table, prompt, status, page) ==
                socklab::term::KeyAction::quit)
                running = false;
        }
        const auto counts = monitor.tracker().counts();
        if (const auto hit = socklab::watch::crossed(o.warns, counts)) {
            screen->reset();
            socklab::app::error_line("sockwatch", "warn",
                                     socklab::watch::format_warn(*hit, counts));
            return exit_warn;
        }
    }
    return exit_ok;
}

}  // namespace sockwatch
