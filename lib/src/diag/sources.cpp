// Choosing a source (the one fallback), the replay source, and entering a netns.
#include <fcntl.h>
#include <sched.h>

#include <algorithm>
#include <memory>
#include <string>

#include "diag/dump_file.hpp"
#include "socklab/detail/netlink_decode.hpp"
#include "socklab/diag.hpp"

namespace socklab::diag {
namespace {

/// Decodes a recorded dump with the live decoder. The recording may hold more
/// than the query asks for, so the kernel's part of the work (which dumps, which
/// states) is redone here; bytecode is not evaluated.
class ReplaySource final : public SocketSource {
  public:
    explicit ReplaySource(DumpFile file) : file_(std::move(file)) {}

    Result<std::vector<SocketRecord>> dump(const Query& query) override {
        std::vector<SocketRecord> out;
        for (const detail::DumpRequest request : detail::plan_requests(query)) {
            const StateMask mask = detail::kernel_states(query, request.netid);
            const std::size_t first = out.size();
            for (const DumpFrame& frame : file_.frames) {
                if (!(frame.request == request)) continue;
                auto decoded = detail::decode_replies(frame.bytes, request, out);
                if (!decoded) return decoded.error();
            }
            const auto unwanted = [mask](const SocketRecord& r) {
                return (mask & state_bit(r.state)) == 0;
            };
            out.erase(std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                                     unwanted),
                      out.end());
        }
        return out;
    }

    std::string_view name() const override { return "replay"; }

  private:
    DumpFile file_;
};

/// TCP from a recorded dump, the rest live: how ss honours TCPDIAG_FILE.
class TcpFileSource final : public SocketSource {
  public:
    TcpFileSource(std::unique_ptr<SocketSource> file, std::unique_ptr<SocketSource> live)
        : file_(std::move(file)), live_(std::move(live)) {}

    Result<std::vector<SocketRecord>> dump(const Query& query) override {
        std::vector<SocketRecord> out;
        auto sink = [&out](std::span<SocketRecord> batch) -> Result<void> {
            out.insert(out.end(), std::make_move_iterator(batch.begin()),
                       std::make_move_iterator(batch.end()));
            return {};
        };
        if (auto r = dump_each(query, sink); !r) return r.error();
        return out;
    }

    Result<void> dump_each(const Query& query, const RecordBatchSink& sink) override {
        if (query.tcp) {
            Query tcp = query;
            tcp.udp = tcp.raw = tcp.unix_ = false;
            if (auto r = file_->dump_each(tcp, sink); !r) return r;
        }
        if (!query.udp && !query.raw && !query.unix_) return {};
        Query rest = query;
        rest.tcp = false;
        return live_->dump_each(rest, sink);
    }

    std::string_view name() const override { return "replay"; }

  private:
    std::unique_ptr<SocketSource> file_;
    std::unique_ptr<SocketSource> live_;
};

}  // namespace

Result<std::unique_ptr<SocketSource>> make_tcp_file_source(std::string path,
                                                           std::unique_ptr<SocketSource> live) {
    auto file = make_replay_source(std::move(path));
    if (!file) return file.error();
    return std::unique_ptr<SocketSource>(
        std::make_unique<TcpFileSource>(std::move(*file), std::move(live)));
}

Result<std::unique_ptr<SocketSource>> make_replay_source(std::string path) {
    auto file = read_dump_file(path);
    if (!file) return file.error();
    return std::unique_ptr<SocketSource>(std::make_unique<ReplaySource>(std::move(*file)));
}

Result<std::unique_ptr<SocketSource>> open_source(SourceKind kind) {
    switch (kind) {
        case SourceKind::netlink:
            return make_netlink_source();
        case SourceKind::procfs:
            return make_procfs_source();
        case SourceKind::automatic: {
            // Kernels without sock_diag (or sandboxes that forbid NETLINK_SOCK_DIAG)
            // still have /proc/net: ss makes the same choice.
            auto netlink = make_netlink_source();
            if (netlink) return netlink;
            return make_procfs_source();
        }
    }
    return make_error(std::errc::invalid_argument, "open source: unknown kind");
}

Result<void> enter_netns(const std::string& name) {
    const std::string context = "netns " + name;
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
        return make_error(std::errc::invalid_argument, context);
    }
    const Fd fd(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error(context);
    if (::setns(fd.get(), CLONE_NEWNET) != 0) return errno_error(context);
    return {};
}

}  // namespace socklab::diag
