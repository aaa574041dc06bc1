// sockls: the options struct and its parser (CLI11), kept apart from main's flow.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "socklab/listing.hpp"

namespace sockls {

/// The command line: the library's request (flags bound straight to it) and the
/// words and paths the app turns into request values, sources and files.
struct Options {
    socklab::listing::Request request;
    bool no_header = false;
    std::string by;
    std::string format = "ss";
    bool json = false, jsonl = false, csv = false;
    // Given or not (never empty: an empty value is a usage error, not "not given").
    std::optional<std::string> netns;
    std::string source = "auto";
    std::string family;              ///< -f, empty when not given
    std::vector<std::string> query;  ///< each -A list, in order
    std::optional<std::string> record_path;
    std::optional<std::string> replay_path;
    std::optional<std::string> filter_file;   ///< "-" is stdin
    std::optional<std::string> tcpdiag_file;  ///< $TCPDIAG_FILE, as ss reads it
    std::string filter_path = "both";         ///< see listing::FilterPath
};

/// What the parser decided: run with options, or exit now with a code.
struct Parsed {
    Options options;
    std::optional<int> exit_code;
};

/// Parses argv and checks the options' conflicts (one message each, as nc's one
/// place). Prints --help/--version to stdout (through stdio: the caller checks it
/// with app::finish_stdio) and usage errors (one line) to stderr itself, returning
/// the exit code to use then.
Parsed parse_options(int argc, char** argv);

}  // namespace sockls
