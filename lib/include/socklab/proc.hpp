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
    /// /proc/PID/fd we could not open for want of a file descriptor (EMFILE/ENFILE:
    /// a small `ulimit -n`). Counted apart: the cure is not root but more fds.
    std::size_t processes_out_of_fds = 0;
    /// The error opening or listing the /proc root itself (0 when it was read whole):
    /// then no process was looked at and every owner is unknown.
    int root_errno = 0;

    /// Some process (or /proc itself) could not be read, so owners may be missing.
    [[nodiscard]] bool incomplete() const {
        return processes_denied != 0 || processes_out_of_fds != 0 || root_errno != 0;
    }
};

/// Scans /proc/PID/fd for socket:[inode] links of the wanted inodes. Processes
/// whose fds we may not read are skipped and counted, never an error.
[[nodiscard]] OwnerMap scan_owners(const std::unordered_set<std::uint64_t>& wanted,
                                   const ScanOptions& options, ScanStats* stats = nullptr);

/// How many of the wanted inodes got no owner in `owners`. Only meaningful as
/// "hidden owners" when the scan was incomplete(): otherwise such a socket simply
/// has no process (held by the kernel, in flight in SCM_RIGHTS, another pid namespace).
[[nodiscard]] std::size_t unknown_owners(const std::unordered_set<std::uint64_t>& wanted,
                                         const OwnerMap& owners);

/// Fills record.owners from the map (inode 0 never matches).
void attach_owners(std::span<SocketRecord> records, const OwnerMap& owners);
/// Same, moving each owner list out of `owners` instead of copying it (halves the
/// owner memory at 100k sockets). An inode held by two records is given to the first.
void attach_owners(std::span<SocketRecord> records, OwnerMap&& owners);

/// An inode -> owners index kept across look-ups, for event streams that meet
/// sockets one at a time: an inode already known costs a hash look-up; only the
/// unknown ones start a scan of /proc, and that scan stops once each has an
/// owner. Inodes a scan did not find are remembered as misses (kernel-held
/// sockets, other PID namespaces, exited owners) and scanned again only when
/// asked, so a stream of them does not rescan /proc per event. Not thread-safe.
class OwnerIndex {
  public:
    /// `options.proc_root` is read; its other members are set per scan.
    explicit OwnerIndex(ScanOptions options = {});

    /// The owners of `inode`, or nullptr when not known (yet). Inode 0 never is.
    [[nodiscard]] const std::vector<Owner>* find(std::uint64_t inode) const;
    /// Scans /proc once for those of `inodes` not known yet (and not missed
    /// before, unless `retry_misses`); returns that scan's stats (all zero when
    /// nothing needed a scan).
    ScanStats resolve(std::span<const std::uint64_t> inodes, bool retry_misses = false);
    /// Drops what is known of `inode` (its socket is gone; the number may be reused).
    void forget(std::uint64_t inode);
    /// Known and missed inodes held (for the memory bound).
    [[nodiscard]] std::size_t size() const noexcept;
    /// How many /proc scans resolve() ran so far.
    [[nodiscard]] std::size_t scans() const noexcept;

  private:
    ScanOptions options_;
    OwnerMap known_;
    std::unordered_set<std::uint64_t> missed_;
    std::size_t scans_ = 0;
};

}  // namespace socklab::proc
