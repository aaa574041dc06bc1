// metrics: one scrape — a sock_diag dump, owners from a cache, the kernel counters.
#include <chrono>

#include "socklab/metrics.hpp"

namespace socklab::metrics {

OwnerCache::OwnerCache(std::string proc_root, std::chrono::milliseconds refresh)
    : proc_root_(std::move(proc_root)), refresh_(refresh) {}

void OwnerCache::attach(std::span<SocketRecord> records, std::chrono::steady_clock::time_point now,
                        bool force) {
    std::unordered_set<std::uint64_t> present, unknown;
    present.reserve(records.size());
    for (const auto& r : records) {
        if (r.inode == 0) continue;
        present.insert(r.inode);
        if (owners_.count(r.inode) == 0 && ownerless_.count(r.inode) == 0) unknown.insert(r.inode);
    }
    // Forget what left, so the cache is bounded by the live sockets.
    std::erase_if(owners_, [&](const auto& kv) { return present.count(kv.first) == 0; });
    std::erase_if(ownerless_, [&](std::uint64_t inode) { return present.count(inode) == 0; });
    const bool due = lookups_ == 0 || force || now - last_ >= refresh_;
    if (!unknown.empty() && due) {
        // Only the new inodes, and the walk stops once each has an owner.
        proc::ScanOptions o;
        o.proc_root = proc_root_;
        o.stop_when_all_found = true;
        auto found = proc::scan_owners(unknown, o);
        ++lookups_;
        last_ = now;
        for (auto inode : unknown) {
            const auto it = found.find(inode);
            if (it != found.end() && !it->second.empty())
                owners_.emplace(inode, it->second.front());
            else
                ownerless_.insert(inode);
        }
    }
    for (auto& r : records) {
        if (r.inode == 0) continue;
        if (const auto it = owners_.find(r.inode); it != owners_.end()) r.owners = {it->second};
    }
}

Collector::Collector(std::unique_ptr<diag::SocketSource> source,
                     std::unique_ptr<SysctlReader> sysctls, CollectorOptions options)
    : source_(std::move(source)),
      sysctls_(std::move(sysctls)),
      options_(std::move(options)),
      owners_(options_.proc_root, options_.owner_refresh) {}

Collector::~Collector() = default;

void Collector::note_transition(TcpState from, TcpState to, std::uint64_t n) {
    std::lock_guard lock(mu_);
    transitions_[{display_state(from), display_state(to)}] += n;
}

void Collector::note_lost(std::uint64_t n) {
    std::lock_guard lock(mu_);
    lost_ += n;
}

Result<HostSample> Collector::sample() {
    diag::Query q;
    q.tcp = true;
    q.udp = true;
    auto records = source_->dump(q);
    if (!records) return records.error();
    owners_.attach(*records, std::chrono::steady_clock::now());
    HostSample s;
    summarize(*records, options_.summary, s);
    auto counters = read_counters(options_.proc_root);
    if (!counters) return counters.error();
    s.counters = std::move(counters).value();
    read_sysctls(*sysctls_, s);
    std::lock_guard lock(mu_);
    s.transitions = transitions_;
    s.events_lost = lost_;
    return s;
}

Result<std::string> Collector::scrape() {
    const auto t0 = std::chrono::steady_clock::now();
    auto s = sample();
    if (!s) return s.error();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    s->scrape_seconds = took.count();
    return render(*s);
}

Result<std::unique_ptr<Exporter>> Exporter::start(const Endpoint& at, CollectorOptions options,
                                                  ServerOptions server) {
    auto source = diag::open_source(diag::SourceKind::automatic);
    if (!source) return source.error();
    std::unique_ptr<Exporter> x(new Exporter);
    x->collector_ = std::make_shared<Collector>(std::move(source).value(),
                                                make_proc_sysctl_reader(), std::move(options));
    auto s = Server::start(
        at, [c = x->collector_] { return c->scrape(); }, server);
    if (!s) return s.error();
    x->server_ = std::move(s).value();
    return x;
}

std::string Exporter::url() const {
    return "http://" + host_port(address().addr, std::to_string(address().port)) + "/metrics";
}

}  // namespace socklab::metrics
