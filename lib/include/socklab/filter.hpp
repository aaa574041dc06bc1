// filter: state words and the ss expression language, parsed to one AST.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/model.hpp"

namespace socklab::filter {

/// A node of the expression AST (defined in the filter module).
struct Node;

/// The parsed filter: the state set and an optional expression.
struct Filter {
    StateMask states = 0;
    bool explicit_states = false;  ///< `state`/`exclude` words were given
    std::shared_ptr<const Node> expr;  ///< null: every socket of the selected states
};

/// Parses command-line words (`state established '( dport = :443 )'`).
/// `default_states` applies when no state word is given. Errors read
/// "col N: expected ..." with N counted in the words joined by single spaces.
[[nodiscard]] Result<Filter> parse(std::span<const std::string> words, StateMask default_states);

/// User-space evaluation: does the record pass the filter (states and expression)?
[[nodiscard]] bool matches(const Filter& filter, const SocketRecord& record);

/// inet_diag bytecode for the expression (empty when there is none, or when it
/// cannot be expressed for the kernel: callers then filter in user space).
[[nodiscard]] std::vector<std::byte> compile_bytecode(const Filter& filter);

}  // namespace socklab::filter
