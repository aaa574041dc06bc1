// sockcat: the parsed command line, validated in one place (cli.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "socklab/net.hpp"

namespace sockcat {

using std::chrono::nanoseconds;
namespace net = socklab::net;

/// Everything sockcat was asked to do.
struct Options {
    bool listen = false;
    bool keep = false;     ///< -k
    bool scan = false;     ///< -z
    bool verbose = false;  ///< -v
    bool numeric = false;  ///< -n
    bool show_state = false;
    bool no_accept = false;
    net::Proto proto = net::Proto::tcp;
    net::Want want = net::Want::any;
    std::string host;                         ///< connect target or listen address ("" = any)
    std::uint16_t port = 0;                   ///< connect or listen port
    std::vector<net::PortRange> ranges;       ///< -z
    std::string unix_path;                    ///< -U
    std::optional<net::Source> source;        ///< -s / -p when connecting
    nanoseconds timeout{0};                   ///< -w
    std::optional<std::string> hexdump_path;  ///< -o
    net::SocketOptions sock;
    net::RelayConfig relay;  ///< fds are filled in at run time
    bool read_stdin = true;
    bool write_stdout = true;
};

/// A parse outcome: options to run, or text to print and the exit code (help, version, usage).
struct Exit {
    int code = 0;
    std::string text;  ///< for stdout when code is 0, else one stderr line without "sockcat: "
};

/// Parses argv. Usage errors come back as Exit{2, "cannot use -s and -l"}.
std::variant<Options, Exit> parse_command_line(int argc, char** argv, bool stdin_is_tty);

/// Prints a parse outcome: help/version to stdout (checked: a failed write is
/// "sockcat: stdout: why" and exit 1), a usage error as one stderr line. Returns the exit code.
int report(const Exit& e);

}  // namespace sockcat
