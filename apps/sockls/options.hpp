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
    std::string netns;
    std::string source = "auto";
    std::string record_path;
    std::string replay_path;
    std::string filter_file;
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

/// Parses argv. Prints --help/--version to stdout and usage errors (one line) to
/// stderr itself, returning the exit code to use then.
Parsed parse_options(int argc, char** argv);

}  // namespace sockls
