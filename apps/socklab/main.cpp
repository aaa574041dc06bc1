// socklab: reproduce any TCP state on loopback, explain it, and diagnose this host.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "app.hpp"
#include "socklab/cli.hpp"
#include "socklab/lab.hpp"
#include "socklab/report.hpp"

namespace {

using namespace socklab;
using std::chrono::milliseconds;

constexpr std::string_view tool = "socklab";

struct Options {
    std::string state;
    std::string hold = "30";
    std::string pause = "1";
    std::string family = "4";
    std::string color = "auto";
    bool raw_doctor = false;
};

int fail(const std::string& what, const std::string& why, int code = app::exit_runtime) {
    app::error_line(tool, what, why);
    return code;
}

/// A duration option: "0" is "until Ctrl-C"; anything above 0 but below 1 ms is
/// rounded up to 1 ms (it must never turn into 0, which would mean forever).
Result<milliseconds> parse_secs(const std::string& text, const char* option) {
    if (text.empty())
        return make_error(std::errc::invalid_argument, std::string(option) + ": empty value");
    auto d = parse_duration(text);
    if (!d)
        return make_error(std::errc::invalid_argument,
                          std::string(option) + ": " + d.error().message());
    auto ms = std::chrono::duration_cast<milliseconds>(*d);
    if (d->count() > 0 && ms.count() == 0) ms = milliseconds(1);
    return ms;
}

/// Everything a command needs: the printer, checked stdout, and the stop signals.
struct Session {
    const report::Printer& printer;
    app::Output& out;
    const app::StopSignals& stop;

    /// Writes text; false when stdout failed or a stop signal interrupted the write.
    bool write(const std::string& text) const { return out.write(text); }
};

/// Waits `d` (0: forever) or until a stop signal; true when a signal came.
bool hold_for(const app::StopSignals& stop, milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (!app::StopSignals::requested()) {
        int wait_ms = -1;
        if (d.count() > 0) {
            const auto left =
                std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            wait_ms = static_cast<int>(std::min<long long>(left.count(), 60'000));
        }
        pollfd p{stop.fd(), POLLIN, 0};
        ::poll(&p, 1, wait_ms);  // EINTR: the loop looks at the flag again
    }
    return true;
}

lab::StartOptions start_options(const Options& o) {
    lab::StartOptions s;
    s.family = o.family == "6" ? Family::inet6 : Family::inet;
    return s;
}

int cmd_explain(const Options& o, const Session& s, bool state_given) {
    if (!state_given) {
        s.write(s.printer.diagram());
        return 0;
    }
    if (o.state.empty()) return fail("explain", "empty state name (socklab list shows them)", 2);
    const auto scenario = lab::parse_scenario(o.state);
    const auto state = parse_state(o.state);
    const lab::Explanation* e = scenario == lab::ScenarioId::rst ? &lab::explain_rst()
                                : state                          ? lab::explain(*state)
                                                                 : nullptr;
    if (e == nullptr)
        return fail("explain", "unknown state '" + o.state + "' (socklab list shows them)", 2);
    const auto sysctls = lab::make_proc_sysctl_reader();
    s.write(s.printer.explanation(*e, *sysctls));
    return 0;
}

int cmd_run(const Options& o, const Session& s) {
    if (o.state.empty()) return fail("run", "empty state name (socklab list shows them)", 2);
    const auto id = lab::parse_scenario(o.state);
    if (!id) return fail("run", "unknown state '" + o.state + "' (socklab list shows them)", 2);
    auto hold = parse_secs(o.hold, "--hold");
    if (!hold) return fail("run", hold.error().context, 2);
    auto source = report::open_diag();
    auto sc = lab::Scenario::start(*id, start_options(o));
    if (!sc) return fail("run", sc.error().message());
    if (auto ok = sc->verify(milliseconds(2000), source.get()); !ok)
        return fail("run", ok.error().message());
    // A write that fails or is interrupted ends the hold at once; the scenario's
    // destructor releases every socket on the way out.
    if (!s.write(s.printer.scenario(report::snapshot(*sc, source.get()), true)) ||
        !s.write(s.printer.look(sc->info(), sc->sides())) || !s.write(s.printer.holding(*hold)))
        return 0;
    const bool interrupted = hold_for(s.stop, *hold);
    sc->release();
    s.write(s.printer.released(sc->info(), interrupted));
    return 0;
}

int cmd_tour(const Options& o, const Session& s) {
    auto pause = parse_secs(o.pause, "--pause");
    if (!pause) return fail("tour", pause.error().context, 2);
    auto source = report::open_diag();
    std::size_t n = 0;
    for (const auto& info : lab::scenarios()) {
        if (!s.write(s.printer.tour_step(++n, lab::scenarios().size()))) return 0;
        auto sc = lab::Scenario::start(info.id, start_options(o));
        if (!sc) return fail("tour", sc.error().message());
        if (auto ok = sc->verify(milliseconds(2000), source.get()); !ok)
            return fail("tour", ok.error().message());
        if (!s.write(s.printer.scenario(report::snapshot(*sc, source.get()), false))) return 0;
        if (pause->count() > 0 && hold_for(s.stop, *pause)) return 0;
        if (app::StopSignals::requested()) return 0;
        sc->release();
    }
    s.write(s.printer.tour_end());
    return 0;
}

int cmd_doctor(const Options& o, const Session& s) {
    auto records = report::read_host(o.raw_doctor);
    if (!records) return fail("doctor", records.error().message());
    const auto sysctls = lab::make_proc_sysctl_reader();
    s.write(s.printer.doctor(lab::diagnose(*records, *sysctls)));
    return 0;
}

/// CLI11's help and version text, written through the checked output.
int print_exit(const CLI::App& cli, const CLI::Error& e, app::Output& out) {
    if (e.get_exit_code() != 0) return fail("usage", e.what(), 2);
    std::string text;
    if (dynamic_cast<const CLI::CallForVersion*>(&e) != nullptr)
        text = std::string(e.what()) + "\n";
    else
        text = cli.help();
    out.write(text);
    return out.finish(tool, app::exit_ok);
}

int run(int argc, char** argv) {
    app::Output out;
    Options o;
    CLI::App cli{"socklab: reproduce any TCP state on loopback, explain it, diagnose this host"};
    cli.set_version_flag("-V,--version", std::string("socklab ") + SOCKLAB_VERSION);
    cli.require_subcommand(0, 1);
    cli.fallthrough();  // --color after the command works too
    cli.add_option("--color", o.color, "colour: auto (terminal, no NO_COLOR), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));

    auto* list = cli.add_subcommand("list", "the states and the scenarios that reproduce them");
    auto* run = cli.add_subcommand("run", "hold one state on loopback and show both ends");
    run->add_option("STATE", o.state, "a state in any spelling (FIN_WAIT_1, fin-wait-1...) or rst")
        ->required();
    run->add_option("--hold", o.hold, "seconds to hold the state (default 30; 0: until Ctrl-C)");
    const auto family_check = CLI::Validator(
        [](const std::string& v) -> std::string {
            return v == "4" || v == "6" ? "" : "must be 4 (127.0.0.1) or 6 (::1), not '" + v + "'";
        },
        "4|6");
    run->add_option("--family", o.family, "4 (127.0.0.1, default) or 6 (::1)")->check(family_check);
    auto* tour = cli.add_subcommand("tour", "every state in turn, briefly");
    tour->add_option("--pause", o.pause, "seconds to show each state (default 1)");
    tour->add_option("--family", o.family, "4 (default) or 6")->check(family_check);
    auto* explain = cli.add_subcommand("explain", "who enters a state, how it leaves, its sysctls");
    auto* explain_state =
        explain->add_option("STATE", o.state, "a state in any spelling or rst; none: the diagram");
    auto* doctor = cli.add_subcommand("doctor", "per-state counts by port and process, anomalies");
    doctor->add_flag("--procfs", o.raw_doctor, "read /proc/net instead of sock_diag");
    if (auto script = socklab::cli::completion_request(cli, argc, argv, lab::scenarios()))
        return out.write(*script), out.finish(tool, app::exit_ok);

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return print_exit(cli, e, out);
        return fail("usage", std::string(e.what()) + " (socklab --help)", 2);
    }
    if (cli.get_subcommands().empty())
        return fail("usage", "a command is required: list, run, tour, explain or doctor", 2);

    const bool color = app::use_color(o.color, STDOUT_FILENO);
    const report::Printer printer(color);
    auto stop = app::StopSignals::install();
    if (!stop) return fail("signals", app::reason(std::error_code(errno, std::system_category())));
    const Session s{printer, out, *stop};
    int rc = app::exit_ok;
    if (list->parsed())
        s.write(printer.list());
    else if (run->parsed())
        rc = cmd_run(o, s);
    else if (tour->parsed())
        rc = cmd_tour(o, s);
    else if (explain->parsed())
        rc = cmd_explain(o, s, explain_state->count() > 0);
    else if (doctor->parsed())
        rc = cmd_doctor(o, s);
    return out.finish(tool, rc);
}

}  // namespace

int main(int argc, char** argv) {
    if (!app::ensure_std_fds()) return app::exit_runtime;
    // A closed stdout (| head) is EPIPE from write(2), not a signal death: the
    // scenario then unwinds and releases its sockets.
    std::signal(SIGPIPE, SIG_IGN);
    return app::guarded(tool, [&] { return run(argc, argv); });
}
