// term: the live table's Process column, filled from /proc for the rows that lack one.
#include "socklab/proc.hpp"
#include "socklab/term.hpp"

namespace socklab::term {

void fill_processes(LiveTable& table) {
    const auto missing = table.inodes_without_process();
    if (missing.empty()) return;
    const std::unordered_set<std::uint64_t> wanted(missing.begin(), missing.end());
    const auto owners = proc::scan_owners(wanted, {});
    std::unordered_map<std::uint64_t, std::string> names;
    for (const auto& [inode, list] : owners)
        if (!list.empty()) names[inode] = process_label(list.front());
    table.set_processes(names);
}

}  // namespace socklab::term
