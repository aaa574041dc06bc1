// Hand-built hosts for the doctor's tests (lab's rules and report's renderings).
#pragma once

#include <vector>

#include "records.hpp"

namespace socklab::golden {

/// A TCP socket on 127.0.0.1 (peer port 0: a listener) held by `owners`; an inode
/// with no owners is a socket whose process this user may not see.
inline SocketRecord host_socket(TcpState state, std::uint32_t lport, std::uint32_t pport,
                                std::uint64_t inode, std::vector<Owner> owners = {}) {
    auto r = tcp(state, "127.0.0.1", lport, pport == 0 ? "0.0.0.0" : "127.0.0.1", pport);
    r.inode = inode;
    r.owners = std::move(owners);
    return r;
}

/// A host under every threshold: sshd, a service with 9 CLOSE_WAIT, 19 TIME_WAIT.
inline std::vector<SocketRecord> quiet_host() {
    std::vector<SocketRecord> v;
    v.push_back(host_socket(TcpState::listen, 22, 0, 100, {{1, "sshd", 3}}));
    v.push_back(host_socket(TcpState::listen, 8080, 0, 101, {{4242, "leaky", 3}}));
    v.push_back(host_socket(TcpState::established, 22, 50000, 102, {{900, "sshd", 4}}));
    for (std::uint32_t i = 0; i < 9; ++i)  // under the threshold of 10
        v.push_back(
            host_socket(TcpState::close_wait, 8080, 40000 + i, 200 + i, {{4242, "leaky", 5}}));
    for (std::uint32_t i = 0; i < 19; ++i)
        v.push_back(host_socket(TcpState::time_wait, 8080, 41000 + i, 0));
    return v;
}

}  // namespace socklab::golden
