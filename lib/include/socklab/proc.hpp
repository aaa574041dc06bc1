// proc: which processes own which socket inodes (the -p column).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/model.hpp"

namespace socklab::proc {

/// inode -> every (pid, comm, fd) holding it. One hash map sized to the work,
/// so lookups stay O(1) at 100k sockets (ss and netstat chain 256/211 buckets).
using OwnerMap = std::unordered_map<std::uint64_t, std::vector<Owner>>;

struct ScanOptions {
    std::string proc_root = "/proc";
    /// Stop reading /proc once every wanted inode has one owner. Faster, but a
    /// socket shared by several processes may then list only some of them.
    bool stop_when_all_found = false;
    /// Map every socket inode found, ignoring `wanted` (and stop_when_all_found):
    /// lets a caller scan first and then stream the dump, attaching owners batch
    /// by batch without holding every record (as ss -p does).
    bool all_sockets = false;
};

struct ScanStats {
    std::size_t processes_scanned = 0;
    std::size_t fds_read = 0;
    std::size_t processes_denied = 0;  ///< /proc/PID/fd we could not read (no rights)
};

/// Scans /proc/PID/fd for socket:[inode] links of the wanted inodes. Processes
/// whose fds we may not read are skipped and counted, never an error.
[[nodiscard]] OwnerMap scan_owners(const std::unordered_set<std::uint64_t>& wanted,
                                   const ScanOptions& options, ScanStats* stats = nullptr);

/// Fills record.owners from the map (inode 0 never matches).
void attach_owners(std::span<SocketRecord> records, const OwnerMap& owners);
/// Same, moving each owner list out of `owners` instead of copying it (halves the
/// owner memory at 100k sockets). An inode held by two records is given to the first.
void attach_owners(std::span<SocketRecord> records, OwnerMap&& owners);

}  // namespace socklab::proc
