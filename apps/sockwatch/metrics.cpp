// sockwatch --metrics: the exporter beside the watch loop (METRICS in sockwatch(1)).
#include "socklab/metrics.hpp"
#include "app.hpp"
#include "options.hpp"

namespace sockwatch {
using socklab::TcpState;
using socklab::watch::EventKind;

std::function<void(const socklab::watch::Step&)> start_metrics(const Options& o) {
    socklab::metrics::CollectorOptions co;
    co.summary.max_processes = o.metrics_max_processes;
    auto at = socklab::metrics::parse_listen_address(o.metrics);
    auto started = socklab::metrics::Exporter::start(*at, co);
    if (!started) return print_error(started.error()), nullptr;
    std::shared_ptr<socklab::metrics::Exporter> x = std::move(started).value();
    socklab::app::error_line("sockwatch", "metrics", "serving " + x->url());
    return [x](const socklab::watch::Step& step) {
        for (const auto& e : step.events)  // births from CLOSE, deaths to CLOSE
            if (e.socket.netid == socklab::Netid::tcp)
                x->note_transition(e.kind == EventKind::new_ ? TcpState::close : e.old_state,
                                   e.kind == EventKind::gone ? TcpState::close : e.state);
        x->note_lost(step.warnings.size());
    };
}

int run_metrics(socklab::watch::Monitor& monitor, const Options& o, int stop_fd) {
    const auto until = o.duration ? std::chrono::steady_clock::now() + *o.duration
                                  : std::chrono::steady_clock::time_point::max();
    while (!socklab::app::StopSignals::requested() && std::chrono::steady_clock::now() < until) {
        auto step = monitor.step({&stop_fd, 1}, until);
        if (!step) return print_error(step.error()), exit_failure;
        o.tap(*step);
        if (step->extra_ready.at(0)) break;
    }
    return exit_ok;
}

}  // namespace sockwatch
