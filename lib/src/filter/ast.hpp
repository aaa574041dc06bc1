// filter: the expression AST shared by the parser, the evaluator and the bytecode compiler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "socklab/filter.hpp"
#include "socklab/model.hpp"

namespace socklab::filter {

/// Which end of the socket a condition looks at: `src`/`sport` or `dst`/`dport`.
enum class Side : std::uint8_t { local, peer };

/// `src`/`dst`/`sport =`/`dport =`: an optional address prefix and an optional port,
/// exactly what the kernel's INET_DIAG_BC_S_COND/D_COND hostcond holds.
struct HostCond {
    Side side = Side::local;
    std::optional<IpAddr> addr;  ///< none: any address (hostcond family AF_UNSPEC)
    unsigned prefix_len = 0;
    /// -1: any port. Up to 2^32-1: on unix sockets "ports" are inode numbers (as in ss),
    /// so numbers past 65535 are valid and only ever match unix sockets.
    std::int64_t port = -1;
    /// `unix:GLOB`: a path pattern (fnmatch) that only unix sockets can match.
    std::optional<std::string> unix_pattern;
};

/// `sport >= :N` and friends: the kernel only has >= and <=; <, > and != are negations.
enum class PortOp : std::uint8_t { ge, le };
struct PortCmp {
    Side side = Side::local;
    PortOp op = PortOp::ge;
    std::uint32_t port = 0;  ///< past 65535 only unix inodes compare
};

struct Node {
    enum class Kind : std::uint8_t { all_of, any_of, negate, host, port_cmp, dev, autobound };
    Kind kind = Kind::all_of;
    /// all_of/any_of: the operands (n-ary, so long chains stay shallow); negate: one.
    std::vector<Node> children;
    HostCond host;
    PortCmp port;
    std::uint32_t ifindex = 0;  ///< dev
};

/// Deepest nesting of parentheses and `not` the parser accepts: the evaluator, the
/// compiler and the destructor recurse, so depth must stay bounded.
inline constexpr int max_depth = 64;

}  // namespace socklab::filter
