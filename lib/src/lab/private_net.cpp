// lab: a private network namespace (and, without root, a private user namespace) so
// that the scenario's own loopback can be captured without root, and nothing else mixes in.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "socklab/lab.hpp"

namespace socklab::lab {
namespace {

Result<void> write_file(const char* path, const std::string& text) {
    Fd fd(::open(path, O_WRONLY | O_CLOEXEC));
    if (!fd) return errno_error(std::string("open ") + path);
    if (auto r = write_all(fd.get(), std::as_bytes(std::span(text))); !r)
        return errno_error(std::string("write ") + path);
    return {};
}

/// ifconfig lo up: SIOCSIFFLAGS with IFF_UP (the new namespace's lo starts down).
Result<void> loopback_up() {
    Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket for lo");
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(fd.get(), SIOCGIFFLAGS, &req) != 0) return errno_error("SIOCGIFFLAGS lo");
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(fd.get(), SIOCSIFFLAGS, &req) != 0) return errno_error("SIOCSIFFLAGS lo up");
    return {};
}

}  // namespace

Result<void> PrivateNetwork::enter() {
    // Root (or already root of our own user namespace) needs a network namespace only.
    if (::geteuid() != 0) {
        const auto uid = ::geteuid();
        const auto gid = ::getegid();
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
            return errno_error("unshare(CLONE_NEWUSER|CLONE_NEWNET): no private namespace");
        user_ = true;
        if (auto r = write_file("/proc/self/setgroups", "deny"); !r) return r;
        if (auto r = write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1"); !r)
            return r;
        if (auto r = write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"); !r)
            return r;
    } else if (::unshare(CLONE_NEWNET) != 0) {
        return errno_error("unshare(CLONE_NEWNET): no private network namespace");
    }
    return loopback_up();
}

}  // namespace socklab::lab
