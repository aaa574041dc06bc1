// sockls: the options struct and its parser (CLI11), kept apart from main's flow.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "socklab/diag.hpp"
#include "socklab/output.hpp"

namespace sockls {

struct Options {
    bool tcp = false, udp = false, unix_ = false, raw = false;
    bool ipv4 = false, ipv6 = false;
    bool all = false, listening = false;
    bool numeric = false, resolve = false, processes = false, extended = false;
    bool timers = false, info = false, memory = false, no_header = false, one_line = false;
    bool summary = false;
    std::string by;
    std::string format = "ss";
    bool json = false, jsonl = false, csv = false;
    // Given or not (never empty: an empty value is a usage error, not "not given").
    std::optional<std::string> netns;
    std::string source = "auto";
    std::optional<std::string> record_path;
    std::optional<std::string> replay_path;
    std::optional<std::string> filter_file;  ///< "-" is stdin
    bool kill = false;
    /// Where the expression is evaluated: "both" (bytecode in the kernel, then again in
    /// user space, as ss does), "kernel" (bytecode only) or "user" (no bytecode).
    std::string filter_path = "both";
    std::vector<std::string> filter;
};

/// What the parser decided: run with options, or exit now with a code.
struct Parsed {
    Options options;
    std::optional<int> exit_code;
};

/// Parses argv. Prints --help/--version to stdout (through stdio: the caller checks
/// it with app::finish_stdio) and usage errors (one line) to stderr itself,
/// returning the exit code to use then.
Parsed parse_options(int argc, char** argv);

}  // namespace sockls
