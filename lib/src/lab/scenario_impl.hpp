// lab (private): what a Scenario owns, shared by the scenario table and the recipes.
#pragma once

#include <optional>
#include <vector>

#include "lab/sockets.hpp"
#include "socklab/lab.hpp"

namespace socklab::lab {

struct Scenario::Impl {
    const ScenarioInfo* info = nullptr;
    Family family = Family::inet;
    std::vector<Side> sides;
    std::vector<Fd> fds;                     ///< same index as sides; invalid unless presence is fd
    bool fin_on_wire = false;                ///< segments and not queued_fin
    std::optional<packet::Capture> capture;  ///< with StartOptions::segments

    /// Segments to `to` (from `from`, unless its port is 0) captured after the first
    /// `after` have this fate; `bare` limits it to segments without SYN, FIN, RST or data.
    struct FateRule {
        Endpoint to;
        Endpoint from;
        std::size_t after = 0;
        packet::Fate fate = packet::Fate::dropped;
        bool bare = false;
        std::string why;
    };
    std::vector<FateRule> rules;
    /// Adds a rule starting at the segments captured so far (the capture is read first).
    Result<void> add_rule(FateRule rule);

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() { release(); }

    /// Records a side; `fd` is kept only when the side's presence is fd.
    void add(Side side, Fd fd = Fd());
    void release() noexcept;
};

namespace detail {
/// Drives fresh sockets into the scenario's state (recipes.cpp).
[[nodiscard]] Result<void> build(Scenario::Impl& impl, Deadline deadline);
}  // namespace detail

}  // namespace socklab::lab
