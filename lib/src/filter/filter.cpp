// filter: state/exclude words (the expression grammar arrives with the filter issue).
#include "socklab/filter.hpp"

#include <fmt/format.h>

namespace socklab::filter {

struct Node {};

Result<Filter> parse(std::span<const std::string> words, StateMask default_states) {
    Filter f;
    f.states = default_states;
    std::size_t col = 1;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w == "state" || w == "exclude" || w == "excl") {
            const std::size_t word_col = col + w.size() + 1;
            if (i + 1 >= words.size())
                return make_error(std::errc::invalid_argument,
                                  fmt::format("col {}: expected a state name after '{}'", word_col, w));
            const auto mask = parse_state_word(words[i + 1]);
            if (!mask)
                return make_error(std::errc::invalid_argument,
                                  fmt::format("col {}: expected a state name, got '{}'", word_col,
                                              words[i + 1]));
            if (w == "state") {
                if (!f.explicit_states) f.states = 0;
                f.states |= *mask;
            } else {
                if (!f.explicit_states) f.states = all_states_mask;
                f.states &= ~*mask;
            }
            f.explicit_states = true;
            col += w.size() + 1 + words[i + 1].size() + 1;
            ++i;
            continue;
        }
        return make_error(std::errc::invalid_argument,
                          fmt::format("col {}: expected 'state' or 'exclude', got '{}'", col, w));
    }
    if (f.explicit_states && (f.states & all_states_mask & ~state_bit(TcpState::unknown)) == 0 &&
        (f.states & state_bit(TcpState::bound_inactive)) == 0)
        return make_error(std::errc::invalid_argument, "the state selection leaves no state");
    return f;
}

bool matches(const Filter& filter, const SocketRecord& record) {
    return (filter.states & state_bit(record.state)) != 0;
}

std::vector<std::byte> compile_bytecode(const Filter& /*filter*/) { return {}; }

}  // namespace socklab::filter
