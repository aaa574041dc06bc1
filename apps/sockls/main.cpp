// sockls: list sockets like ss and netstat: parse, open the source, run the listing, report.
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>

#include "app.hpp"
#include "options.hpp"
#include "socklab/diag.hpp"
#include "socklab/filter.hpp"
#include "socklab/listing.hpp"

namespace {

using namespace socklab;
using sockls::Options;

int fail(int code, std::string_view what, std::string_view why) {
    app::error_line("sockls", what, why);
    return code;
}

/// A library error as one line's reason: errors without an errno carry their
/// whole reason in the context (make_error(invalid_argument, ...)).
std::string why(const Error& e) {
    if (e.code == std::errc::invalid_argument && !e.context.empty()) return e.context;
    if (e.context.empty()) return app::reason(e.code);
    return e.context + ": " + app::reason(e.code);
}

int fail(const listing::Failure& f) {
    return fail(f.usage ? app::exit_usage : app::exit_runtime, f.what, why(f.error));
}

Result<std::unique_ptr<diag::SocketSource>> open_source(const Options& o) {
    if (o.replay_path) return diag::make_replay_source(*o.replay_path);
    constexpr diag::SourceKind kinds[] = {diag::SourceKind::automatic, diag::SourceKind::netlink,
                                          diag::SourceKind::procfs};
    auto live = diag::open_source(kinds[static_cast<int>(*listing::parse_source(o.source))]);
    // ss's TCPDIAG_FILE: TCP from that dump (ss -D's or ours), the rest live.
    if (!live || !o.tcpdiag_file) return live;
    return diag::make_tcp_file_source(*o.tcpdiag_file, std::move(*live));
}

/// -p must not drop owners silently: say once how many stayed unknown, and why.
void report_hidden_owners(std::size_t unknown, const proc::ScanStats& stats) {
    app::error_line("sockls", "-p",
                    fmt::format("owners of {} socket{} unknown: {}", unknown,
                                unknown == 1 ? "" : "s", listing::hidden_because(stats)));
}

int run(Options& o, app::Output& out) {
    // The filter words: from -F FILE ('#' lines are comments; checked and bounded
    // before it is read), then the command line's. A file that cannot be read is a
    // runtime failure; a bad filter in it is usage.
    if (o.filter_file) {
        auto words = filter::read_filter_file(*o.filter_file);
        if (!words) return fail(app::exit_runtime, "-F", why(words.error()));
        o.request.filter.insert(o.request.filter.begin(), words->begin(), words->end());
    }
    if (auto bad = listing::refusal(o.request)) return fail(*bad);
    // Into the namespace before the plan: `autobound` reads that namespace's
    // ephemeral port range.
    if (o.netns) {
        if (auto r = diag::enter_netns(*o.netns); !r)
            return fail(app::exit_runtime, "netns " + *o.netns, app::reason(r.error().code));
    }
    listing::Plan plan;
    if (auto bad = listing::make_plan(o.request, plan)) return fail(*bad);
    if (o.record_path) {
        if (auto r = diag::record_dump(plan.query, *o.record_path); !r)
            return fail(app::exit_runtime, "record", why(r.error()));
    }
    auto src = open_source(o);
    if (!src)
        return fail(app::exit_runtime, o.replay_path || o.tcpdiag_file ? "replay" : "open",
                    why(src.error()));
    // -s: ss -s's totals of this namespace's /proc first (not for a recorded dump
    // nor in JSON/CSV).
    if (o.request.summary && !o.replay_path && o.request.format == output::Format::ss) {
        auto totals = diag::read_ss_totals();
        if (!totals) return fail(app::exit_runtime, "-s", why(totals.error()));
        out.write(diag::format_ss_totals(*totals));
    }
    listing::Hooks hooks;
    hooks.owners_hidden = report_hidden_owners;
    const auto res = listing::run(
        plan, **src, [&out](std::string_view s) { out.write(s); }, hooks);
    return res.failure ? fail(*res.failure) : app::exit_ok;
}

int sockls_main(int argc, char** argv) {
    auto parsed = sockls::parse_options(argc, argv);
    if (const char* f = std::getenv("TCPDIAG_FILE")) parsed.options.tcpdiag_file = f;
    // --help and --version went through stdio: check that it reached stdout.
    if (parsed.exit_code) return app::finish_stdio("sockls", *parsed.exit_code);
    app::Output out;
    const int rc = run(parsed.options, out);
    return out.finish("sockls", rc);
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything is opened: a netlink socket on a closed fd 1 would receive
    // our own listing.
    if (!socklab::app::ensure_std_fds()) return socklab::app::exit_runtime;
    // A reader that goes away (`| head`) is EPIPE from write(2), handled by Output.
    std::signal(SIGPIPE, SIG_IGN);
    return socklab::app::guarded("sockls", [&] { return sockls_main(argc, argv); });
}
