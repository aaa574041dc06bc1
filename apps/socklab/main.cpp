// socklab: reproduce any TCP state on loopback, explain it, and diagnose this host.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "report.hpp"
#include "socklab/lab.hpp"

namespace {

using namespace socklab;
using std::chrono::milliseconds;

struct Options {
    std::string state;
    std::string hold = "30";
    std::string pause = "1";
    int family = 4;
    std::string color = "auto";
    bool raw_doctor = false;
};

int fail(const std::string& what, const std::string& why, int code = 1) {
    std::fflush(stdout);
    std::fprintf(stderr, "socklab: %s: %s\n", what.c_str(), why.c_str());
    return code;
}

Result<milliseconds> parse_secs(const std::string& text, const char* option) {
    auto d = parse_duration(text);
    if (!d)
        return make_error(std::errc::invalid_argument,
                          std::string(option) + ": " + d.error().message());
    return std::chrono::duration_cast<milliseconds>(*d);
}

/// Blocks SIGINT and SIGTERM so that Ctrl-C ends a hold through sigtimedwait and the
/// scenario is released by its destructor, never by a signal handler.
sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    return set;
}

/// Waits `d` (0: forever) or until a stop signal; true when a signal came.
bool hold_for(const sigset_t& set, milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    for (;;) {
        timespec ts{};
        timespec* tp = nullptr;
        if (d.count() > 0) {
            const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
            ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
            tp = &ts;
        }
        const int sig = sigtimedwait(&set, nullptr, tp);
        if (sig > 0) return true;
        if (sig < 0 && errno == EAGAIN) return false;
    }
}

lab::StartOptions start_options(const Options& o) {
    lab::StartOptions s;
    s.family = o.family == 6 ? Family::inet6 : Family::inet;
    return s;
}

int cmd_list(const app::Printer& out) {
    out.list();
    return 0;
}

int cmd_explain(const Options& o, const app::Printer& out) {
    if (o.state.empty()) {
        out.diagram();
        return 0;
    }
    const auto state = parse_state(o.state);
    const lab::Explanation* e = state ? lab::explain(*state) : nullptr;
    if (e == nullptr)
        return fail("explain", "unknown state '" + o.state + "' (socklab list shows them)", 2);
    const auto sysctls = lab::make_proc_sysctl_reader();
    out.explanation(*e, *sysctls);
    return 0;
}

int cmd_run(const Options& o, const app::Printer& out) {
    const auto id = lab::parse_scenario(o.state);
    if (!id) return fail("run", "unknown state '" + o.state + "' (socklab list shows them)", 2);
    auto hold = parse_secs(o.hold, "--hold");
    if (!hold) return fail("run", hold.error().context, 2);
    const sigset_t stop = block_stop_signals();
    auto source = app::open_diag();
    auto s = lab::Scenario::start(*id, start_options(o));
    if (!s) return fail("run", s.error().message());
    if (auto ok = s->verify(milliseconds(2000), source.get()); !ok)
        return fail("run", ok.error().message());
    out.scenario(*s, source.get(), true);
    out.look(*s);
    out.holding(*hold);
    const bool interrupted = hold_for(stop, *hold);
    s->release();
    out.released(*s, interrupted);
    return 0;
}

int cmd_tour(const Options& o, const app::Printer& out) {
    auto pause = parse_secs(o.pause, "--pause");
    if (!pause) return fail("tour", pause.error().context, 2);
    const sigset_t stop = block_stop_signals();
    auto source = app::open_diag();
    std::size_t n = 0;
    for (const auto& info : lab::scenarios()) {
        out.tour_step(++n, lab::scenarios().size(), info);
        auto s = lab::Scenario::start(info.id, start_options(o));
        if (!s) return fail("tour", s.error().message());
        if (auto ok = s->verify(milliseconds(2000), source.get()); !ok)
            return fail("tour", ok.error().message());
        out.scenario(*s, source.get(), false);
        if (pause->count() > 0 && hold_for(stop, *pause)) return 0;
        s->release();
    }
    out.tour_end();
    return 0;
}

int cmd_doctor(const Options& o, const app::Printer& out) {
    auto records = app::read_host(o.raw_doctor);
    if (!records) return fail("doctor", records.error().message());
    const auto sysctls = lab::make_proc_sysctl_reader();
    out.doctor(lab::diagnose(*records, *sysctls));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // line-flushed even into a pipe
    Options o;
    CLI::App cli{"socklab: reproduce any TCP state on loopback, explain it, diagnose this host"};
    cli.set_version_flag("--version", std::string("socklab ") + SOCKLAB_VERSION);
    cli.require_subcommand(1);
    cli.fallthrough();  // --color after the command works too
    cli.add_option("--color", o.color, "colour: auto (terminal, no NO_COLOR), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));

    auto* list = cli.add_subcommand("list", "the states and the scenarios that reproduce them");
    auto* run = cli.add_subcommand("run", "hold one state on loopback and show both ends");
    run->add_option("STATE", o.state, "a state in any spelling (FIN_WAIT_1, fin-wait-1...) or rst")
        ->required();
    run->add_option("--hold", o.hold, "seconds to hold the state (default 30; 0: until Ctrl-C)");
    auto* family = run->add_option("--family", o.family, "4 (127.0.0.1, default) or 6 (::1)")
                       ->check(CLI::IsMember({4, 6}));
    auto* tour = cli.add_subcommand("tour", "every state in turn, briefly");
    tour->add_option("--pause", o.pause, "seconds to show each state (default 1)");
    tour->add_option("--family", o.family, "4 (default) or 6")->check(CLI::IsMember({4, 6}));
    auto* explain = cli.add_subcommand("explain", "who enters a state, how it leaves, its sysctls");
    explain->add_option("STATE", o.state, "a state in any spelling; none: the state diagram");
    auto* doctor = cli.add_subcommand("doctor", "per-state counts by port and process, anomalies");
    doctor->add_flag("--procfs", o.raw_doctor, "read /proc/net instead of sock_diag");
    (void)family;

    try {
        cli.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return cli.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string why = e.what();
        return fail("usage", why + " (socklab --help)", 2);
    }

    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    const bool color =
        o.color == "always" || (o.color == "auto" && tty && std::getenv("NO_COLOR") == nullptr);
    const app::Printer out(color);
    // A closed stdout (| head) is a write error, not a signal: the exception
    // unwinds through the scenario, which releases its sockets on the way.
    ::signal(SIGPIPE, SIG_IGN);
    try {
        if (list->parsed()) return cmd_list(out);
        if (run->parsed()) return cmd_run(o, out);
        if (tour->parsed()) return cmd_tour(o, out);
        if (explain->parsed()) return cmd_explain(o, out);
        if (doctor->parsed()) return cmd_doctor(o, out);
    } catch (const std::system_error& e) {
        if (e.code().value() == EPIPE) return 0;
        return fail("output", e.what());
    } catch (const std::exception& e) {
        return fail("error", e.what());
    }
    return fail("usage", "no command (socklab --help)", 2);
}
