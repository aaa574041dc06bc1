// lab (private): what a Scenario owns, shared by the scenario table and the recipes.
#pragma once

#include <vector>

#include "lab/sockets.hpp"
#include "socklab/lab.hpp"

namespace socklab::lab {

struct Scenario::Impl {
    const ScenarioInfo* info = nullptr;
    Family family = Family::inet;
    std::vector<Side> sides;
    std::vector<Fd> fds;  ///< same index as sides; invalid unless presence is fd

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
