// Maps socket inodes to the processes holding them by reading /proc/PID/fd links.
#include "socklab/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

namespace socklab::proc {
namespace {

/// Reads a directory with getdents64 into one reused buffer: no DIR* and no
/// allocation per entry, which matters at 100k fds.
class DirReader {
  public:
    /// Calls fn(name) for every entry except "." and ".." until fn returns false.
    /// False on a read error (errno says which).
    template <class Fn>
    bool for_each(int dirfd, Fn&& fn) {
        for (;;) {
            const auto n = ::getdents64(dirfd, buf_.data(), buf_.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return false;
            if (n == 0) return true;
            std::size_t at = 0;
            const auto end = static_cast<std::size_t>(n);
            constexpr std::size_t name_at = offsetof(dirent64, d_name);
            while (at + name_at <= end) {
                unsigned short reclen = 0;
                std::memcpy(&reclen, buf_.data() + at + offsetof(dirent64, d_reclen),
                            sizeof reclen);
                if (reclen <= name_at || at + reclen > end) return false;
                const char* name = buf_.data() + at + name_at;
                const std::string_view sv(name, ::strnlen(name, reclen - name_at));
                if (sv != "." && sv != ".." && !fn(sv)) return true;
                at += reclen;
            }
        }
    }

  private:
    std::array<char, 32768> buf_{};
};

template <class T>
std::optional<T> parse_decimal(std::string_view s) {
    T value{};
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return value;
}

/// "socket:[12345]" -> 12345; anything else (pipes, files, anon inodes) -> nullopt.
std::optional<std::uint64_t> socket_inode(std::string_view link) {
    constexpr std::string_view prefix = "socket:[";
    if (link.size() < prefix.size() + 2 || link.substr(0, prefix.size()) != prefix ||
        link.back() != ']') {
        return std::nullopt;
    }
    return parse_decimal<std::uint64_t>(
        link.substr(prefix.size(), link.size() - prefix.size() - 1));
}

/// The process name from /proc/PID/comm without its newline; empty if unreadable.
std::string read_comm(int proc_dirfd, std::string_view pid) {
    std::string path(pid);
    path += "/comm";
    const Fd fd(::openat(proc_dirfd, path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    auto text = read_all(fd.get(), 64);  // TASK_COMM_LEN is 16: 64 is plenty
    if (!text || text->empty()) return {};
    if (text->back() == '\n') text->pop_back();
    return std::move(*text);
}

/// The scan of one /proc tree: the map, the counters, and when to stop.
class Scanner {
  public:
    Scanner(const std::unordered_set<std::uint64_t>& wanted, const ScanOptions& options,
            ScanStats& stats)
        : wanted_(wanted), options_(options), stats_(stats) {
        owners_.reserve(wanted.size());
    }

    void run() {
        if (wanted_.empty() && !options_.all_sockets) return;
        const Fd root(::open(options_.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!root) {
            stats_.root_errno = errno;
            return;
        }
        DirReader pids;
        const bool listed = pids.for_each(root.get(), [&](std::string_view name) {
            const auto pid = parse_decimal<int>(name);
            if (pid) scan_process(root.get(), name, *pid);
            // Checked between processes, so one process's fds are listed whole.
            return !done();
        });
        if (!listed) stats_.root_errno = errno;
    }

    OwnerMap take() { return std::move(owners_); }

  private:
    bool done() const { return options_.stop_when_all_found && owners_.size() == wanted_.size(); }

    void scan_process(int root, std::string_view pid_text, int pid) {
        std::string path(pid_text);
        path += "/fd";
        const Fd dir(::openat(root, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) {
            // A process that exited meanwhile is simply gone; EMFILE/ENFILE is our own
            // fd limit (open(2)); anything else (EACCES for other users' processes
            // without CAP_SYS_PTRACE, proc(5)) is denied.
            if (errno == EMFILE || errno == ENFILE)
                ++stats_.processes_out_of_fds;
            else if (errno != ENOENT)
                ++stats_.processes_denied;
            return;
        }
        ++stats_.processes_scanned;
        std::optional<std::string> comm;  // read once, only if the process holds a wanted socket
        std::array<char, 64> link{};
        fds_.for_each(dir.get(), [&](std::string_view fd_name) {
            ++stats_.fds_read;
            // The name is NUL-terminated inside the getdents buffer.
            const auto n = ::readlinkat(dir.get(), fd_name.data(), link.data(), link.size());
            if (n <= 0) return true;
            const auto inode = socket_inode({link.data(), static_cast<std::size_t>(n)});
            if (!inode || (!options_.all_sockets && wanted_.count(*inode) == 0)) return true;
            const auto fd = parse_decimal<int>(fd_name);
            if (!comm) comm = read_comm(root, pid_text);
            owners_[*inode].push_back(Owner{pid, *comm, fd ? *fd : -1});
            return true;
        });
    }

    const std::unordered_set<std::uint64_t>& wanted_;
    const ScanOptions& options_;
    ScanStats& stats_;
    OwnerMap owners_;
    DirReader fds_;
};

}  // namespace

OwnerMap scan_owners(const std::unordered_set<std::uint64_t>& wanted, const ScanOptions& options,
                     ScanStats* stats) {
    ScanStats local;
    if (stats != nullptr) *stats = ScanStats{};
    Scanner scanner(wanted, options, stats != nullptr ? *stats : local);
    scanner.run();
    return scanner.take();
}

std::size_t unknown_owners(const std::unordered_set<std::uint64_t>& wanted,
                           const OwnerMap& owners) {
    std::size_t n = 0;
    for (const std::uint64_t inode : wanted)
        if (inode != 0 && owners.count(inode) == 0) ++n;
    return n;
}

void attach_owners(std::span<SocketRecord> records, const OwnerMap& owners) {
    for (SocketRecord& r : records) {
        if (r.inode == 0) continue;
        const auto it = owners.find(r.inode);
        if (it != owners.end()) r.owners = it->second;
    }
}

void attach_owners(std::span<SocketRecord> records, OwnerMap&& owners) {
    for (SocketRecord& r : records) {
        if (r.inode == 0) continue;
        const auto it = owners.find(r.inode);
        if (it != owners.end()) r.owners = std::move(it->second);
    }
}

OwnerIndex::OwnerIndex(ScanOptions options) : options_(std::move(options)) {
    options_.all_sockets = false;
    options_.stop_when_all_found = true;
}

const std::vector<Owner>* OwnerIndex::find(std::uint64_t inode) const {
    const auto it = known_.find(inode);
    return it == known_.end() ? nullptr : &it->second;
}

ScanStats OwnerIndex::resolve(std::span<const std::uint64_t> inodes, bool retry_misses) {
    std::unordered_set<std::uint64_t> wanted;
    for (const std::uint64_t inode : inodes) {
        if (inode == 0 || known_.count(inode) != 0) continue;
        if (!retry_misses && missed_.count(inode) != 0) continue;
        wanted.insert(inode);
    }
    ScanStats stats;
    if (wanted.empty()) return stats;
    ++scans_;
    OwnerMap found = scan_owners(wanted, options_, &stats);
    for (const std::uint64_t inode : wanted) {
        auto it = found.find(inode);
        if (it == found.end()) {
            missed_.insert(inode);
            continue;
        }
        missed_.erase(inode);
        known_[inode] = std::move(it->second);
    }
    return stats;
}

void OwnerIndex::forget(std::uint64_t inode) {
    known_.erase(inode);
    missed_.erase(inode);
}

std::size_t OwnerIndex::size() const noexcept {
    return known_.size() + missed_.size();
}

std::size_t OwnerIndex::scans() const noexcept {
    return scans_;
}

}  // namespace socklab::proc
