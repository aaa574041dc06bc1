// socklab app: where the host's sockets come from (sock_diag or /proc/net, and /proc owners).
#include <unordered_set>

#include "report.hpp"
#include "socklab/proc.hpp"

namespace socklab::app {

std::unique_ptr<diag::SocketSource> open_diag() {
    auto source = diag::open_source(diag::SourceKind::automatic);
    if (!source) return nullptr;
    return std::move(source.value());
}

Result<std::vector<SocketRecord>> read_host(bool procfs) {
    auto source =
        diag::open_source(procfs ? diag::SourceKind::procfs : diag::SourceKind::automatic);
    if (!source) return source.error();
    diag::Query q;  // every TCP socket, IPv4 and IPv6, every state ss can show
    auto records = (*source)->dump(q);
    if (!records) return records.error();
    std::unordered_set<std::uint64_t> wanted;
    wanted.reserve(records->size());
    for (const auto& r : *records)
        if (r.inode != 0) wanted.insert(r.inode);
    if (!wanted.empty()) proc::attach_owners(*records, proc::scan_owners(wanted, {}));
    return records;
}

}  // namespace socklab::app
