// filter: the operands of conditions — ports and services, hosts and prefixes, devices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filter/ast.hpp"

namespace socklab::filter {

/// A parse error at a column; thrown inside the parser only and turned into an
/// Error by parse(), so no exception leaves the module.
struct ParseFailure {
    std::size_t col;
    std::string what;
};

/// `:22`, `22`, `:0x16`, `:026`, `:http`, `*` after sport/dport: the port, or -1 for
/// `*`. Numbers are read base 0 as ss reads them (0x hex, a leading 0 octal) and go up
/// to 65535 whatever `inet_only` says (a larger one is an error).
/// Service names come from getservbyname_r(3) (tcp, then udp; ambiguous is an error).
[[nodiscard]] std::int64_t parse_port_operand(std::string_view text, std::size_t col,
                                              std::string_view keyword, bool inet_only);

/// `10.0.0.1`, `10.0.0.0/8`, iproute2's short forms (`10/8`, `127.1` = 127.1.0.0),
/// `[fd00::/16]` and `[fd00::]/16`, `default`/`any`/`all`, `[::1]:22`, `*:22`, `127.0.0.1:*`,
/// `:ssh`, `unix:/run/*`, or a host name (every address it resolves to, when `resolve`). The side
/// is left for the caller to set. A port after an address is at most 65535; a bare one
/// (`*:P`, `:P`) follows parse_port_operand()'s `inet_only` rule.
[[nodiscard]] std::vector<HostCond> parse_host_operand(std::string_view text, std::size_t col,
                                                       bool resolve, bool inet_only);

/// `eth0` (if_nametoindex(3)) or a number.
[[nodiscard]] std::uint32_t parse_device_operand(std::string_view text, std::size_t col);

}  // namespace socklab::filter
