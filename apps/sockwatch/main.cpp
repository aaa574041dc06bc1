// sockwatch: live view and event stream of socket state changes (sockwatch(1)).

#include <csignal>

#include "app.hpp"
#include "options.hpp"
#include "socklab/diag.hpp"
#include "socklab/watch.hpp"

namespace sockwatch {
namespace {

int run(Options o) {
    if (!o.netns.empty()) {
        if (auto r = socklab::diag::enter_netns(o.netns); !r) {
            print_error(r.error());
            return exit_failure;
        }
    }
    // SIGINT, SIGTERM and SIGHUP set a flag and wake a self-pipe the loops poll;
    // the handlers have no SA_RESTART, so a write blocked on a full stdout pipe
    // returns (EINTR or a partial count) and the tracefs instance is removed by
    // ordinary code below, within a moment of the signal. (A signalfd needs the
    // signals blocked, and a blocked write(2) never returns for them.)
    auto stop = socklab::app::StopSignals::install();
    if (!stop) {
        print_error(socklab::errno_error("pipe"));
        return exit_failure;
    }
    auto source = socklab::diag::open_source(socklab::diag::SourceKind::automatic);
    if (!source) {
        print_error(source.error());
        return exit_failure;
    }
    auto options = socklab::watch::monitor_options(o.selection, o.interval, o.source);
    options.owners = o.mode != Mode::counts;
    auto monitor = socklab::watch::Monitor::open(std::move(source).value(), std::move(options));
    if (!monitor) {
        print_error(monitor.error());
        return exit_failure;
    }
    auto baseline = (*monitor)->start();
    if (!baseline) {
        print_error(baseline.error());
        return exit_failure;
    }
    if (!o.metrics.empty() && !(o.tap = start_metrics(o))) return exit_failure;
    const int rc = o.mode == Mode::metrics ? run_metrics(**monitor, o, stop->fd())
                   : o.mode == Mode::live
                       ? run_live(**monitor, o, stop->fd(), std::move(baseline).value())
                       : run_stream(**monitor, o, stop->fd());
    if (auto r = (*monitor)->close(); !r) {
        print_error(r.error());
        return rc == exit_ok ? exit_failure : rc;
    }
    return rc;
}

}  // namespace
}  // namespace sockwatch

int main(int argc, char** argv) {
    // Before anything opens a descriptor: a netlink socket on a closed fd 1
    // would receive our own output.
    if (!socklab::app::ensure_std_fds()) return socklab::app::exit_runtime;
    std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is an EPIPE we handle, not a death
    return socklab::app::guarded("sockwatch", [&] {
        auto parsed = sockwatch::parse_options(argc, argv);
        if (const int* rc = std::get_if<int>(&parsed)) return *rc;
        return sockwatch::run(std::get<sockwatch::Options>(parsed));
    });
}
