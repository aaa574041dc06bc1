// metrics: sysctl readers — /proc/sys for the host, a fixed map for tests.
#include <cctype>

#include "socklab/metrics.hpp"

namespace socklab::metrics {
namespace {

std::string tidy(std::string_view raw) {
    std::string out;
    bool blank = false;
    for (char c : raw) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            blank = !out.empty();
            continue;
        }
        if (blank) out.push_back(' ');
        blank = false;
        out.push_back(c);
    }
    return out;
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.front() == '.' || name.back() == '.') return false;
    if (name.find("..") != std::string_view::npos) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
            return false;
    return true;
}

class ProcSysctlReader final : public SysctlReader {
  public:
    explicit ProcSysctlReader(std::string root) : root_(std::move(root)) {}

    std::optional<std::string> read(std::string_view name) const override {
        if (!valid_name(name)) return std::nullopt;
        std::string path = root_ + '/';
        for (char c : name)
            path.push_back(c == '.' ? '/' : c);
        auto text = read_file(path, 4096);  // a sysctl is one short line
        if (!text) return std::nullopt;
        return tidy(*text);
    }

  private:
    std::string root_;
};

class FixedSysctlReader final : public SysctlReader {
  public:
    explicit FixedSysctlReader(std::map<std::string, std::string, std::less<>> values)
        : values_(std::move(values)) {}

    std::optional<std::string> read(std::string_view name) const override {
        const auto it = values_.find(name);
        if (it == values_.end()) return std::nullopt;
        return tidy(it->second);
    }

  private:
    std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace

std::unique_ptr<SysctlReader> make_proc_sysctl_reader(std::string root) {
    return std::make_unique<ProcSysctlReader>(std::move(root));
}

std::unique_ptr<SysctlReader> make_fixed_sysctl_reader(
    std::map<std::string, std::string, std::less<>> values) {
    return std::make_unique<FixedSysctlReader>(std::move(values));
}

}  // namespace socklab::metrics
