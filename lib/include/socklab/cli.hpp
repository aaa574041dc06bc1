// socklab::cli: bash completion generated from the parsers' own CLI11 tables.
// Only the apps link it (CLI11 is theirs); the library still never prints: the
// script comes back as a string for the app to write.
#pragma once

#include <CLI/App.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace socklab::cli {

/// The hidden flag each tool answers with its completion script.
inline constexpr std::string_view completion_flag = "--bash-completion";

/// What CLI11's tables cannot say about the positional arguments.
struct Positionals {
    std::vector<std::string> words;  ///< offered for any positional (socklab's scenario names)
    bool filter = false;             ///< the ss filter language: `state`/`exclude` + state words
};

/// The positionals of sockls and sockwatch: the filter language.
[[nodiscard]] inline Positionals filter_args() {
    return {{}, true};
}

/// The words an option's value may take: from its CLI11 checks (IsMember's
/// `{a,b,c}`, a check described `a|b|c`), else from the word list its help text
/// shows (a token `a|b|c`, or a help starting "a, b or c"). Empty: free text.
[[nodiscard]] std::vector<std::string> value_words(const CLI::Option& option);

/// The state words the filter takes after `state` and `exclude`: every state
/// in ss's lower-case dialect (established, syn-sent, ... time-wait, closed)
/// and the groups (all, connected, ...), each one that parse_state_word accepts.
[[nodiscard]] std::vector<std::string> state_words();

/// A bash completion script for the tool `name` defined by `app`: its flags and
/// options (hidden ones left out), option values (value_words; `-N`/`--net`:
/// the names of `ip netns list`; other values: files), subcommands with their
/// own options (and the parent's when it falls through), and the positionals.
/// Defines `_socklab_complete_NAME` and registers it with `complete`.
[[nodiscard]] std::string bash_completion(const CLI::App& app, std::string_view name,
                                          const Positionals& positionals);

/// The script when the command line is exactly `TOOL --bash-completion` (the
/// tool's name is argv[0]'s last component), else nullopt.
[[nodiscard]] std::optional<std::string> completion_request(const CLI::App& app, int argc,
                                                            const char* const* argv,
                                                            const Positionals& positionals);

/// The same, the positionals taking the `name` members of a table (socklab's scenarios).
template <class Range>
[[nodiscard]] std::optional<std::string> completion_request(const CLI::App& app, int argc,
                                                            const char* const* argv,
                                                            const Range& named) {
    Positionals positionals;
    for (const auto& item : named)
        positionals.words.emplace_back(item.name);
    return completion_request(app, argc, argv, positionals);
}

}  // namespace socklab::cli
