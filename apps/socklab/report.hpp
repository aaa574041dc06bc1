// socklab app: turning scenarios, explanations and doctor reports into text.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "socklab/diag.hpp"
#include "socklab/lab.hpp"

namespace socklab::app {

/// The sock_diag source (falls back to /proc/net), or null when none can be opened:
/// scenarios then show only what TCP_INFO sees.
[[nodiscard]] std::unique_ptr<diag::SocketSource> open_diag();
/// Every TCP socket of this host with owners attached (sock_diag, or /proc/net).
[[nodiscard]] Result<std::vector<SocketRecord>> read_host(bool procfs);

/// The text of every command, returned for the caller to write (and for tests to
/// compare). Colour only when asked.
class Printer {
  public:
    explicit Printer(bool color) : color_(color) {}

    [[nodiscard]] std::string list() const;
    [[nodiscard]] std::string diagram() const;
    [[nodiscard]] std::string explanation(const lab::Explanation& e,
                                          const lab::SysctlReader& sysctls) const;
    /// The scenario's heading, the sockls rows of its ports and each side; `full`
    /// prints what every side does (run), else only the side in the state (tour).
    [[nodiscard]] std::string scenario(const lab::Scenario& s, diag::SocketSource* source,
                                       bool full) const;
    /// The sockls command that shows the scenario's sockets while it holds.
    [[nodiscard]] std::string look(const lab::Scenario& s) const;
    [[nodiscard]] std::string holding(std::chrono::milliseconds hold) const;
    [[nodiscard]] std::string released(const lab::Scenario& s, bool interrupted) const;
    [[nodiscard]] std::string tour_step(std::size_t n, std::size_t total,
                                        const lab::ScenarioInfo& info) const;
    [[nodiscard]] std::string tour_end() const;
    [[nodiscard]] std::string doctor(const lab::DoctorReport& report) const;

  private:
    [[nodiscard]] std::string bold(std::string_view text) const;
    [[nodiscard]] std::string green(std::string_view text) const;
    bool color_;
};

}  // namespace socklab::app
