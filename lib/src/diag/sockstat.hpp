// sockstat: a cheap socket count from /proc/net/sockstat{,6}, to size the record vector once.
#pragma once

#include <cstddef>
#include <string>

#include "socklab/diag.hpp"

namespace socklab::diag {

/// About how many sockets `query` will return in the current network namespace
/// (in-use counts plus TIME_WAIT), read from proc_root/net/sockstat and sockstat6.
/// A guess for reserve(): 0 when the files are unreadable, never an error.
[[nodiscard]] std::size_t estimate_socket_count(const Query& query,
                                                const std::string& proc_root = "/proc");

}  // namespace socklab::diag
