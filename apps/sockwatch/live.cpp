// sockwatch: the full-screen live table — events in, keys in, a frame out per change.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "app.hpp"
#include "options.hpp"
#include "socklab/proc.hpp"
#include "socklab/term.hpp"

namespace sockwatch {
namespace {

using namespace std::chrono_literals;
using socklab::term::Key;

/// Owner look-ups read all of /proc: at most once a second, whatever -i is.
constexpr auto owner_scan_every = 1s;

bool want_color(const Options& o) {
    if (o.color == ColorChoice::never) return false;
    const char* no_color = std::getenv("NO_COLOR");  // https://no-color.org: any non-empty value
    if (o.color == ColorChoice::automatic && no_color != nullptr && *no_color != '\0') return false;
    return true;
}

void fill_processes(socklab::term::LiveTable& table) {
    const auto missing = table.inodes_without_process();
    if (missing.empty()) return;
    const std::unordered_set<std::uint64_t> wanted(missing.begin(), missing.end());
    const auto owners = socklab::proc::scan_owners(wanted, {});
    std::unordered_map<std::uint64_t, std::string> names;
    for (const auto& [inode, list] : owners)
        if (!list.empty()) names[inode] = fmt::format("{}/{}", list.front().comm, list.front().pid);
    table.set_processes(names);
}

/// What the screen cannot see, said once on the status line until the next key:
/// "no tracepoint: permission denied" (each note is "SOURCE: what: why").
std::string missing_sources(const socklab::watch::Monitor& monitor) {
    std::string out;
    for (const auto& note : monitor.notes()) {
        const auto name = note.substr(0, note.find(':'));
        const auto why = note.rfind(": ");
        out += fmt::format("{}no {}: {}", out.empty() ? "" : "; ", name,
                           why == std::string::npos ? note : note.substr(why + 2));
    }
    return out;
}

/// Typing a filter after `/`: Enter applies, Escape cancels.
struct Prompt {
    bool active = false;
    std::string text;
};

/// Handles one key; returns false when the user asked to quit.
bool handle_key(const socklab::term::KeyPress& k, socklab::term::LiveTable& table, Prompt& prompt,
                bool& paused, std::string& message, int page) {
    if (prompt.active) {
        if (k.key == Key::enter) {
            prompt.active = false;
            auto r = table.set_filter(prompt.text);
            message = r ? std::string() : "filter: " + r.error().context;
        } else if (k.key == Key::escape) {
            prompt.active = false;
        } else if (k.key == Key::backspace) {
            if (!prompt.text.empty()) prompt.text.pop_back();
        } else if (k.key == Key::character) {
            prompt.text += k.ch;
        }
        return true;
    }
    switch (k.key) {
        case Key::up:
            table.scroll(-1);
            break;
        case Key::down:
            table.scroll(1);
            break;
        case Key::page_up:
            table.scroll(-page);
            break;
        case Key::page_down:
            table.scroll(page);
            break;
        case Key::home:
            table.scroll_to(0);
            break;
        case Key::end:
            table.scroll_to(1L << 30);
            break;
        case Key::character:
            if (k.ch == 'q' || k.ch == 'Q') return false;
            if (k.ch == 'p' || k.ch == ' ') paused = !paused;
            if (k.ch == 's') table.cycle_sort();
            if (k.ch == '/') {
                prompt.active = true;
                prompt.text = table.filter_text();
                message.clear();
            }
            break;
        default:
            break;
    }
    return true;
}

}  // namespace

int run_live(socklab::watch::Monitor& monitor, const Options& o, int stop_fd,
             std::vector<socklab::watch::Event> baseline) {
    auto screen = socklab::term::Screen::open(want_color(o));
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
    status.message = missing_sources(monitor);
    status.interval = o.interval;
    Prompt prompt;
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
            fill_processes(table);
            last_scan = std::chrono::steady_clock::now();
        }
        status.prompt = prompt.active ? "/" + prompt.text : std::string();
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
        if (socklab::app::StopSignals::requested() || step->extra_ready.at(0)) break;
        for (auto k = (*screen)->read_key(); k.key != Key::none; k = (*screen)->read_key()) {
            redraw = true;
            if (!handle_key(k, table, prompt, status.paused, status.message,
                            std::max(1, (*screen)->rows() - 2)))
                running = false;
        }
        if (const auto hit = socklab::watch::crossed(o.warns, monitor.tracker().counts())) {
            screen->reset();
            socklab::app::error_line(
                "sockwatch", "warn",
                fmt::format("{} count {} exceeds {}", socklab::state_info(hit->state).json,
                            monitor.tracker().counts()[static_cast<std::size_t>(hit->state)],
                            hit->limit));
            return exit_warn;
        }
    }
    return exit_ok;
}

}  // namespace sockwatch
