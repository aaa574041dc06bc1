// socklab: reproduce any TCP state on loopback, explain it, and diagnose this host.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <string>
#include <variant>

#include "app.hpp"
#include "socklab/cli.hpp"
#include "socklab/lab.hpp"
#include "socklab/report.hpp"

namespace {

using namespace socklab;
using std::chrono::milliseconds;

constexpr std::string_view tool = "socklab";

struct Options {
    std::string state, hold = "30", pause = "1", family = "4", color = "auto", pcap;
    std::string interval = "1";
    bool raw_doctor = false, segments = false, queued_fin = false, json = false;
};

int fail(const std::string& what, const std::string& why, int code = app::exit_runtime) {
    app::error_line(tool, what, why);
    return code;
}

/// The printer, checked stdout (write: false on failure) and the stop signals (hold: true).
struct Session {
    const report::Printer& printer;
    app::Output& out;
    const app::StopSignals& stop;

    bool write(const std::string& text) const { return out.write(text); }
    bool hold(milliseconds d) const {
        return lab::hold(stop.fd(), d, &app::StopSignals::requested);
    }
};

/// Starts scenario `id`, prints it (with its ladder and --pcap file under --segments);
/// the scenario, or the exit code.
std::variant<lab::Scenario, int> show(const Options& o, const Session& s, lab::ScenarioId id,
                                      lab::PrivateNetwork& net, bool full) {
    const auto family = o.family == "6" ? Family::inet6 : Family::inet;
    auto shown = report::start_shown(id, {family, milliseconds(5000), o.segments, o.queued_fin},
                                     net, milliseconds(2000));
    if (!shown) return fail(full ? "run" : "tour", shown.error().message());
    if (!o.pcap.empty())
        if (auto r = report::write_pcap(o.pcap, shown->view); !r)
            return fail("--pcap", r.error().message());
    if (!s.write(s.printer.scenario(shown->view, full)) ||
        (o.segments && !s.write(s.printer.ladder(shown->view))))
        return 0;
    return std::move(shown->scenario);
}

/// The usage error of a STATE that names no scenario or explanation.
int bad_state(const char* what, const std::string& state) {
    return fail(what,
                state.empty() ? "empty state name (socklab list shows them)"
                              : "unknown state '" + state + "' (socklab list shows them)",
                2);
}

int cmd_explain(const Options& o, const Session& s, bool state_given) {
    const lab::Explanation* e = state_given ? lab::explain_word(o.state) : nullptr;
    if (state_given && e == nullptr) return bad_state("explain", o.state);
    s.write(e ? s.printer.explanation(*e, *lab::make_proc_sysctl_reader()) : s.printer.diagram());
    return 0;
}

int cmd_run(const Options& o, const Session& s) {
    const auto id = lab::parse_scenario(o.state);
    if (!id) return bad_state("run", o.state);
    auto hold = lab::parse_hold(o.hold, "--hold");
    if (!hold) return fail("run", hold.error().context, 2);
    lab::PrivateNetwork net;
    auto shown = show(o, s, *id, net, true);
    if (auto* rc = std::get_if<int>(&shown)) return *rc;
    auto& sc = std::get<lab::Scenario>(shown);
    // A failed or interrupted write ends at once; the destructor releases every socket.
    const auto via = o.segments ? s.printer.nsenter_prefix(::getpid(), net.user_namespace()) : "";
    if ((o.segments && !s.write(s.printer.nsenter(::getpid(), net.user_namespace()))) ||
        !s.write(s.printer.look(sc.info(), sc.sides(), via)) || !s.write(s.printer.holding(*hold)))
        return 0;
    const bool interrupted = s.hold(*hold);
    sc.release();
    s.write(s.printer.released(sc.info(), interrupted));
    return 0;
}

int cmd_tour(const Options& o, const Session& s) {
    auto pause = lab::parse_hold(o.pause, "--pause");
    if (!pause) return fail("tour", pause.error().context, 2);
    lab::PrivateNetwork net;
    std::size_t n = 0;
    for (const auto& info : lab::scenarios()) {
        if (!s.write(s.printer.tour_step(++n, lab::scenarios().size()))) return 0;
        auto shown = show(o, s, info.id, net, false);
        if (auto* rc = std::get_if<int>(&shown)) return *rc;
        if ((pause->count() > 0 && s.hold(*pause)) || app::StopSignals::requested()) return 0;
        std::get<lab::Scenario>(shown).release();
    }
    s.write(s.printer.tour_end());
    return 0;
}

int cmd_doctor(const Options& o, const Session& s) {
    auto every = lab::parse_hold(o.interval, "--interval");
    if (!every || every->count() == 0)
        return fail("usage", every ? "--interval: must be above 0" : every.error().context, 2);
    const auto sysctls = lab::make_proc_sysctl_reader();
    auto r = report::doctor_host(o.raw_doctor, *every, *sysctls,
                                 [&](milliseconds d) { return s.hold(d); });
    if (!r) return fail("doctor", r.error().message());
    s.write(o.json ? report::doctor_json(*r) : s.printer.doctor(*r) + s.printer.doctor_rates(*r));
    return r->findings.empty() ? app::exit_ok : app::exit_threshold;
}

/// CLI11's help and version text, written through the checked output.
int print_exit(const CLI::App& cli, const CLI::Error& e, app::Output& out) {
    if (e.get_exit_code() != 0) return fail("usage", e.what(), 2);
    const bool version = dynamic_cast<const CLI::CallForVersion*>(&e) != nullptr;
    out.write(version ? std::string(e.what()) + "\n" : cli.help());
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
    auto* tour = cli.add_subcommand("tour", "every state in turn, briefly");
    run->add_option("STATE", o.state, "a state in any spelling (FIN_WAIT_1, fin-wait-1...) or rst")
        ->required();
    run->add_option("--hold", o.hold, "seconds to hold the state (default 30; 0: until Ctrl-C)");
    const auto family_check = CLI::Validator(
        [](const std::string& v) -> std::string {
            return v == "4" || v == "6" ? "" : "must be 4 (127.0.0.1) or 6 (::1), not '" + v + "'";
        },
        "4|6");
    for (auto* c : {run, tour}) {
        c->add_option("--family", o.family, "4 (127.0.0.1, default) or 6 (::1)")
            ->check(family_check);
        auto* seg = c->add_flag("--segments", o.segments,
                                "capture the segments in a private namespace, show the ladder");
        c->add_flag("--queued-fin", o.queued_fin, "keep the FIN queued behind data (no FIN sent)")
            ->needs(seg);
        if (c == run)
            c->add_option("--pcap", o.pcap, "write the segments to FILE (pcap)")->needs(seg);
    }
    tour->add_option("--pause", o.pause, "seconds to show each state (default 1)");
    auto* explain = cli.add_subcommand("explain", "who enters a state, how it leaves, its sysctls");
    auto* explain_state =
        explain->add_option("STATE", o.state, "a state in any spelling or rst; none: the diagram");
    auto* doctor = cli.add_subcommand("doctor", "per-state counts by port and process, anomalies");
    doctor->add_flag("--procfs", o.raw_doctor, "read /proc/net instead of sock_diag");
    doctor->add_option("--interval", o.interval, "seconds between the two counter samples (1)");
    doctor->add_flag("--json", o.json, "one JSON object for scripts");
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

    const report::Printer printer(app::use_color(o.color, STDOUT_FILENO));
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
