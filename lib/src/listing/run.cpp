// listing: the streaming pipeline (filter -> blocks -> render), -p's two passes, counts and --kill.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "socklab/listing.hpp"

namespace socklab::listing {
namespace {

/// Records handed on together: enough for stable ss column widths, small enough
/// that a listing of any size stays within a few MiB (ss flushes every few MiB).
constexpr std::size_t block_size = 1024;

using BlockFn = std::function<void(std::vector<SocketRecord>&)>;

/// What each record still has to pass in user space. The kernel already applied the
/// state mask and the bytecode to netlink's inet sockets; ss checks them again, and so
/// do we unless --filter-path kernel. Unix, /proc and replay records always need it,
/// and so do raw ones: the netlink source reads them from /proc on kernels without
/// raw_diag.
struct UserFilter {
    filter::Filter full;
    filter::Filter states_only;  ///< for netlink inet records with --filter-path kernel
    bool trust_kernel = false;
    std::uint8_t unix_types = kAllUnixTypes;  ///< -A unix_stream...: the unix types listed

    [[nodiscard]] bool pass(const SocketRecord& r) const {
        if (r.netid == Netid::unix_ &&
            (unix_types & (1U << static_cast<unsigned>(r.unix_type))) == 0)
            return false;
        const bool kernel_filtered = r.netid != Netid::unix_ && r.netid != Netid::raw;
        return filter::matches(trust_kernel && kernel_filtered ? states_only : full, r);
    }
};

/// Streams every record that passes the filter, block by block, never holding
/// the whole listing.
Result<void> for_each_block(diag::SocketSource& src, const std::vector<diag::Query>& queries,
                            const UserFilter& flt, const BlockFn& each) {
    std::vector<SocketRecord> block;
    block.reserve(block_size);
    for (const auto& q : queries) {
        auto res = src.dump_each(q, [&](std::span<SocketRecord> batch) -> Result<void> {
            for (auto& rec : batch) {
                if (!flt.pass(rec)) continue;
                block.push_back(std::move(rec));
                if (block.size() == block_size) {
                    each(block);
                    block.clear();
                }
            }
            return {};
        });
        if (!res) return res.error();
    }
    if (!block.empty()) each(block);
    return {};
}

/// One run's state: the plan, the seams with their defaults filled in, the outcome.
struct Runner {
    const Plan& plan;
    diag::SocketSource& src;
    const output::Sink& sink;
    Hooks hooks;
    std::unique_ptr<output::Resolver> own_resolver;
    UserFilter flt;
    Outcome out;

    void failed(std::string what, Error e, bool usage = false) {
        if (!out.failure) out.failure = Failure{std::move(what), std::move(e), usage};
    }

    /// The owners of `inodes`, counting those left unknown by an incomplete scan:
    /// -p must not drop owners silently. A replayed dump's inodes are not this
    /// host's sockets now: no owner is looked up for them.
    proc::OwnerMap owners_of(const std::unordered_set<std::uint64_t>& inodes) {
        if (inodes.empty() || src.name() == "replay") return {};
        auto owners = hooks.scan_owners(inodes, out.scan);
        if (out.scan.incomplete()) out.owners_unknown = proc::unknown_owners(inodes, owners);
        if (out.owners_unknown != 0 && hooks.owners_hidden)
            hooks.owners_hidden(out.owners_unknown, out.scan);
        return owners;
    }

    void render(const std::vector<SocketRecord>& records) {
        output::StreamRenderer renderer(render_options(plan, hooks.resolver), sink);
        renderer.add(records);
        renderer.finish();
    }

    /// The whole matched listing in memory: for -s, --by and --kill, which need it all.
    std::optional<std::vector<SocketRecord>> collect() {
        std::vector<SocketRecord> all;
        auto res = for_each_block(src, plan.tables, flt, [&](std::vector<SocketRecord>& block) {
            std::move(block.begin(), block.end(), std::back_inserter(all));
        });
        if (!res) {
            failed("dump", res.error());
            return std::nullopt;
        }
        out.matched = all.size();
        return all;
    }

    /// SOCK_DESTROY every matched inet socket (the kernel cannot destroy unix sockets;
    /// ss -K skips them too), then lists the ones destroyed, like ss -K.
    void kill(std::vector<SocketRecord>& records) {
        std::erase_if(records, [](const SocketRecord& r) { return r.netid == Netid::unix_; });
        if (records.empty()) {
            failed("kill", make_error(std::errc::invalid_argument, "no socket matched the filter"));
            return;
        }
        std::erase_if(records, [&](const SocketRecord& r) {
            auto res = hooks.destroy(r);
            // ENOENT: the socket closed between the dump and now, which is what we wanted.
            if (res || res.error().code == std::errc::no_such_file_or_directory) return !res;
            if (out.destroy_failed++ == 0) failed("kill", res.error());
            return true;
        });
        out.destroyed = records.size();
        if (!records.empty()) render(records);
    }

    void counts(std::vector<SocketRecord>& all) {
        const auto ropts = render_options(plan, hooks.resolver);
        if (plan.request.summary) {
            output::render_summary(all, ropts, sink);
            return;
        }
        if (*plan.request.by == output::GroupBy::process) {
            std::unordered_set<std::uint64_t> wanted;
            wanted.reserve(all.size());
            for (const auto& r : all)
                if (r.inode != 0) wanted.insert(r.inode);
            proc::attach_owners(all, owners_of(wanted));
        }
        output::render_groups(all, *plan.request.by, ropts, sink);
    }

    /// The listing, streamed: with -p a first pass collects the wanted inodes so
    /// /proc is scanned once for exactly those, then the second pass renders.
    void stream() {
        proc::OwnerMap owners;
        if (plan.request.processes) {
            std::unordered_set<std::uint64_t> inodes;
            auto res = for_each_block(src, plan.tables, flt, [&](std::vector<SocketRecord>& block) {
                for (const auto& r : block)
                    if (r.inode != 0) inodes.insert(r.inode);
            });
            if (!res) return failed("dump", res.error());
            owners = owners_of(inodes);
        }
        output::StreamRenderer renderer(render_options(plan, hooks.resolver), sink);
        auto res = for_each_block(src, plan.tables, flt, [&](std::vector<SocketRecord>& block) {
            if (plan.request.processes) proc::attach_owners(block, std::move(owners));
            out.matched += block.size();
            renderer.add(block);
        });
        if (!res) return failed("dump", res.error());
        renderer.finish();
    }

    void go() {
        if (plan.request.filter_path == FilterPath::kernel) {
            // --source proc and --replay are refused as usage errors before; this is
            // `auto` falling back to /proc on a kernel without sock_diag.
            if (src.name() != "netlink")
                return failed("filter",
                              make_error(std::errc::invalid_argument,
                                         fmt::format("--filter-path kernel needs netlink, not {}",
                                                     src.name())));
            flt.states_only.expr = nullptr;
            flt.trust_kernel = !plan.query.bytecode.empty();
        }
        if (!plan.request.kill && !plan.request.summary && !plan.request.by) return stream();
        auto all = collect();
        if (!all) return;
        if (plan.request.kill) return kill(*all);
        counts(*all);
    }
};

}  // namespace

Outcome run(const Plan& plan, diag::SocketSource& source, const output::Sink& sink,
            const Hooks& hooks) {
    Runner r{plan,  source,  sink,
             hooks, nullptr, UserFilter{plan.filter, plan.filter, false, plan.request.unix_types},
             {}};
    if (!r.hooks.scan_owners)
        r.hooks.scan_owners = [](const std::unordered_set<std::uint64_t>& inodes,
                                 proc::ScanStats& stats) {
            return proc::scan_owners(inodes, proc::ScanOptions{}, &stats);
        };
    if (!r.hooks.destroy) r.hooks.destroy = diag::destroy_socket;
    if (r.hooks.resolver == nullptr) {
        r.own_resolver = output::make_system_resolver();
        r.hooks.resolver = r.own_resolver.get();
    }
    r.go();
    return std::move(r.out);
}

}  // namespace socklab::listing
