// Unit tests for the proc module: inode->owner scans over fake and real /proc trees.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "socklab/proc.hpp"

using namespace socklab;
using namespace socklab::proc;

namespace {

/// A fake /proc in a temp dir: PID/comm and PID/fd/N -> "socket:[INODE]" links.
/// Removed (files, links and dirs it made) at the end.
class FakeProc {
  public:
    FakeProc() {
        std::string tmpl = "/tmp/socklab-proc-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        root_ = tmpl;
    }
    ~FakeProc() {
        for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
            if (::unlink(it->c_str()) != 0) ::rmdir(it->c_str());
        }
        ::rmdir(root_.c_str());
    }
    FakeProc(const FakeProc&) = delete;
    FakeProc& operator=(const FakeProc&) = delete;

    /// A process with links fd/0.. to the given targets ("socket:[5]", "pipe:[7]", "/dev/null").
    void add_process(int pid, const std::string& comm, const std::vector<std::string>& targets,
                     mode_t fd_mode = 0555) {
        const std::string dir = root_ + "/" + std::to_string(pid);
        mkdir(dir);
        write(dir + "/comm", comm + "\n");
        mkdir(dir + "/fd");
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const std::string link = dir + "/fd/" + std::to_string(i);
            REQUIRE(::symlink(targets[i].c_str(), link.c_str()) == 0);
            made_.push_back(link);
        }
        REQUIRE(::chmod((dir + "/fd").c_str(), fd_mode) == 0);
    }
    const std::string& root() const { return root_; }

  private:
    void mkdir(const std::string& path) {
        REQUIRE(::mkdir(path.c_str(), 0755) == 0);
        made_.push_back(path);
    }
    void write(const std::string& path, const std::string& text) {
        const Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(fd.valid());
        REQUIRE(::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        made_.push_back(path);
    }

    std::string root_;
    std::vector<std::string> made_;
};

std::string sock(std::uint64_t inode) {
    return "socket:[" + std::to_string(inode) + "]";
}

}  // namespace

TEST_CASE("scan_owners maps wanted socket inodes to pid, comm and fd", "[proc]") {
    FakeProc fake;
    fake.add_process(100, "nginx", {"/dev/null", sock(5001), "pipe:[9]", sock(5002)});
    fake.add_process(200, "curl", {sock(5001), sock(6000)});
    fake.add_process(300, "idle", {"/dev/null"});
    ScanStats stats;
    const auto owners = scan_owners({5001, 5002, 7777}, {fake.root(), false}, &stats);
    CHECK(stats.processes_scanned == 3);
    CHECK(stats.fds_read == 7);
    CHECK(stats.processes_denied == 0);
    REQUIRE(owners.count(5001) == 1);
    auto shared = owners.at(5001);
    std::sort(shared.begin(), shared.end(),
              [](const Owner& a, const Owner& b) { return a.pid < b.pid; });
    CHECK(shared == std::vector<Owner>{{100, "nginx", 1}, {200, "curl", 0}});
    CHECK(owners.at(5002) == std::vector<Owner>{{100, "nginx", 3}});
    CHECK(owners.count(6000) == 0);  // not wanted
    CHECK(owners.count(7777) == 0);  // wanted, held by nobody
}

TEST_CASE("scan_owners maps every socket when all_sockets is set", "[proc]") {
    FakeProc fake;
    fake.add_process(100, "a", {sock(1), "pipe:[2]", sock(3)});
    fake.add_process(200, "b", {sock(3)});
    ScanOptions options{fake.root(), true};
    options.all_sockets = true;
    const auto owners = scan_owners({}, options);
    CHECK(owners.size() == 2);
    CHECK(owners.at(1).size() == 1);
    CHECK(owners.at(3).size() == 2);
}

TEST_CASE("scan_owners reads every fd once: work grows linearly with the fds", "[proc]") {
    FakeProc fake;
    std::unordered_set<std::uint64_t> wanted;
    constexpr int processes = 40, per_process = 100;
    for (int p = 0; p < processes; ++p) {
        std::vector<std::string> targets;
        for (int f = 0; f < per_process; ++f) {
            const auto inode = static_cast<std::uint64_t>(100000 + p * per_process + f);
            targets.push_back(sock(inode));
            wanted.insert(inode);
        }
        fake.add_process(1000 + p, std::string("w").append(std::to_string(p)), targets);
    }
    ScanStats stats;
    const auto owners = scan_owners(wanted, {fake.root(), false}, &stats);
    CHECK(stats.processes_scanned == processes);
    CHECK(stats.fds_read == processes * per_process);
    CHECK(owners.size() == wanted.size());
    for (const auto& [inode, list] : owners)
        CHECK(list.size() == 1);
}

TEST_CASE("scan_owners stops once every wanted inode has an owner, when asked", "[proc]") {
    FakeProc fake;
    // Every process holds the one wanted socket, so whichever comes first finds it.
    for (int p = 0; p < 10; ++p)
        fake.add_process(500 + p, "holder", {sock(42), "/dev/null"});
    ScanStats stats;
    const auto early = scan_owners({42}, {fake.root(), true}, &stats);
    CHECK(stats.processes_scanned == 1);
    CHECK(early.at(42).size() == 1);
    const auto full = scan_owners({42}, {fake.root(), false}, &stats);
    CHECK(stats.processes_scanned == 10);
    CHECK(full.at(42).size() == 10);
    CHECK(scan_owners({}, {fake.root(), false}, &stats).empty());
    CHECK(stats.processes_scanned == 0);
}

TEST_CASE("scan_owners skips and counts processes whose fds it may not read", "[proc]") {
    FakeProc fake;
    fake.add_process(700, "mine", {sock(1)});
    fake.add_process(701, "secret", {sock(2)}, 0700);
    REQUIRE(::chmod(fake.root().c_str(), 0755) == 0);
    // As root nothing is denied; drop to nobody in a child to meet EACCES.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(99);
        ScanStats stats;
        const auto owners = scan_owners({1, 2}, {fake.root(), false}, &stats);
        const bool ok = stats.processes_denied == 1 && stats.processes_scanned == 1 &&
                        owners.count(1) == 1 && owners.count(2) == 0;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("scan_owners counts what it could not read for want of fds", "[proc]") {
    FakeProc fake;
    fake.add_process(700, "one", {sock(1)});
    fake.add_process(701, "two", {sock(2)});
    // In a child with RLIMIT_NOFILE at the lowest free fd (+1): the /proc root (and
    // then nothing else) can be opened, so every process's fd dir fails with EMFILE.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const int lowest = ::dup(0);
        if (lowest < 0) ::_exit(98);
        ::close(lowest);
        const auto limit = [](int n) {
            const rlimit rl{static_cast<rlim_t>(n), static_cast<rlim_t>(n)};
            return ::setrlimit(RLIMIT_NOFILE, &rl) == 0;
        };
        const std::unordered_set<std::uint64_t> wanted{1, 2};
        ScanStats stats;
        if (!limit(lowest + 1)) ::_exit(97);
        const auto few = scan_owners(wanted, {fake.root(), false}, &stats);
        const bool fds_counted = stats.processes_out_of_fds == 2 && stats.processes_denied == 0 &&
                                 stats.root_errno == 0 && stats.incomplete() && few.empty() &&
                                 unknown_owners(wanted, few) == 2;
        if (!limit(lowest)) ::_exit(96);
        const auto none = scan_owners(wanted, {fake.root(), false}, &stats);
        const bool root_counted =
            stats.root_errno == EMFILE && stats.incomplete() && unknown_owners(wanted, none) == 2;
        ::_exit(fds_counted && root_counted ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("unknown_owners counts wanted inodes without an owner", "[proc]") {
    FakeProc fake;
    fake.add_process(700, "one", {sock(1)});
    ScanStats stats;
    const std::unordered_set<std::uint64_t> wanted{0, 1, 2, 3};
    const auto owners = scan_owners(wanted, {fake.root(), false}, &stats);
    CHECK_FALSE(stats.incomplete());
    CHECK(unknown_owners(wanted, owners) == 2);  // inode 0 is never looked for
}

TEST_CASE("scan_owners finds this process's own socket in the real /proc", "[proc]") {
    const Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(s.valid());
    struct stat st {};
    REQUIRE(::fstat(s.get(), &st) == 0);
    ScanStats stats;
    const auto owners = scan_owners({st.st_ino}, {"/proc", true}, &stats);
    REQUIRE(owners.count(st.st_ino) == 1);
    const auto& o = owners.at(st.st_ino).front();
    CHECK(o.pid == ::getpid());
    CHECK(o.fd == s.get());
    CHECK(o.comm == "unit_proc");
    CHECK(stats.processes_scanned >= 1);
}

TEST_CASE("attach_owners fills records by inode and never matches inode 0", "[proc]") {
    OwnerMap owners;
    owners[7].push_back({10, "a", 3});
    owners[0].push_back({11, "ghost", 4});
    std::vector<SocketRecord> records(3);
    records[0].inode = 7;
    records[1].inode = 0;
    records[2].inode = 8;
    attach_owners(records, owners);
    CHECK(records[0].owners == std::vector<Owner>{{10, "a", 3}});
    CHECK(records[1].owners.empty());
    CHECK(records[2].owners.empty());
}

TEST_CASE("attach_owners can move the lists out of the map", "[proc]") {
    OwnerMap owners;
    owners[7].push_back({10, "a", 3});
    std::vector<SocketRecord> records(2);
    records[0].inode = 7;
    records[1].inode = 9;
    attach_owners(records, std::move(owners));
    CHECK(records[0].owners == std::vector<Owner>{{10, "a", 3}});
    CHECK(records[1].owners.empty());
}

TEST_CASE("OwnerIndex scans only for inodes it does not know", "[proc]") {
    FakeProc fake;
    fake.add_process(100, "nginx", {sock(5001), sock(5002)});
    OwnerIndex index(ScanOptions{fake.root()});
    CHECK(index.find(5001) == nullptr);
    const std::uint64_t first[] = {5001, 0};
    const auto stats = index.resolve(first);
    CHECK(stats.processes_scanned == 1);
    CHECK(index.scans() == 1);
    REQUIRE(index.find(5001) != nullptr);
    CHECK(*index.find(5001) == std::vector<Owner>{{100, "nginx", 0}});
    CHECK(index.find(0) == nullptr);
    // Known: no second scan.
    (void)index.resolve(first);
    CHECK(index.scans() == 1);
    // A socket of a process started after the first scan.
    fake.add_process(200, "curl", {sock(6000)});
    const std::uint64_t later[] = {5001, 6000, 7777};
    (void)index.resolve(later);
    CHECK(index.scans() == 2);
    REQUIRE(index.find(6000) != nullptr);
    CHECK(index.find(6000)->front().pid == 200);
    CHECK(index.find(7777) == nullptr);  // held by nobody: a miss
    (void)index.resolve(later);
    CHECK(index.scans() == 2);  // the miss is not rescanned unasked
    (void)index.resolve(later, true);
    CHECK(index.scans() == 3);
    CHECK(index.size() == 3);
    index.forget(6000);
    index.forget(7777);
    CHECK(index.find(6000) == nullptr);
    CHECK(index.size() == 1);
}

TEST_CASE("OwnerIndex finds this process's socket made after the index", "[proc]") {
    OwnerIndex index;
    const Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(s.valid());
    struct stat st {};
    REQUIRE(::fstat(s.get(), &st) == 0);
    const std::uint64_t inode[] = {st.st_ino};
    (void)index.resolve(inode);
    REQUIRE(index.find(st.st_ino) != nullptr);
    const auto& owners = *index.find(st.st_ino);
    CHECK(std::any_of(owners.begin(), owners.end(),
                      [&](const Owner& o) { return o.pid == ::getpid() && o.fd == s.get(); }));
}
