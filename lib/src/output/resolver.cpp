// output: the system Resolver, getservbyport_r(3) and getnameinfo(3) behind small caches.
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "socklab/output.hpp"

namespace socklab::output {
namespace {

class SystemResolver final : public Resolver {
  public:
    [[nodiscard]] std::string service(std::uint32_t port, Netid netid) const override {
        if (port == 0 || port > 65535) return {};
        const char* proto = netid == Netid::tcp ? "tcp" : netid == Netid::udp ? "udp" : nullptr;
        if (proto == nullptr) return {};
        const std::uint32_t key = port | (netid == Netid::udp ? 0x10000u : 0u);
        const std::lock_guard lock(mutex_);
        if (const auto it = services_.find(key); it != services_.end()) return it->second;
        servent entry{};
        servent* found = nullptr;
        std::array<char, 1024> buf{};
        std::string name;
        if (::getservbyport_r(static_cast<int>(htons(static_cast<std::uint16_t>(port))), proto,
                              &entry, buf.data(), buf.size(), &found) == 0 &&
            found != nullptr && found->s_name != nullptr)
            name = found->s_name;
        services_.emplace(key, name);
        return name;
    }

    [[nodiscard]] std::string host(const IpAddr& addr) const override {
        const std::lock_guard lock(mutex_);
        const HostKey key = make_key(addr);
        if (const auto it = hosts_.find(key); it != hosts_.end()) return it->second;
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (addr.family == Family::inet) {
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            std::memcpy(&sin.sin_addr, addr.bytes.data(), 4);
            std::memcpy(&ss, &sin, sizeof sin);
            len = sizeof sin;
        } else {
            sockaddr_in6 sin6{};
            sin6.sin6_family = AF_INET6;
            std::memcpy(&sin6.sin6_addr, addr.bytes.data(), 16);
            std::memcpy(&ss, &sin6, sizeof sin6);
            len = sizeof sin6;
        }
        std::array<char, NI_MAXHOST> name{};
        std::string result;
        // NI_NAMEREQD: no name means an error, never the numeric text back.
        if (::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, name.data(),
                          static_cast<socklen_t>(name.size()), nullptr, 0, NI_NAMEREQD) == 0)
            result = name.data();
        hosts_.emplace(key, result);
        return result;
    }

    [[nodiscard]] std::string interface_name(std::uint32_t ifindex) const override {
        std::array<char, IF_NAMESIZE> name{};
        if (::if_indextoname(ifindex, name.data()) == nullptr) return {};
        return name.data();
    }

  private:
    using HostKey = std::array<std::uint8_t, 17>;
    static HostKey make_key(const IpAddr& addr) {
        HostKey k{};
        k[0] = static_cast<std::uint8_t>(addr.family);
        std::memcpy(k.data() + 1, addr.bytes.data(), addr.bytes.size());
        return k;
    }

    mutable std::mutex mutex_;
    mutable std::unordered_map<std::uint32_t, std::string> services_;
    mutable std::map<HostKey, std::string> hosts_;
};

}  // namespace

std::unique_ptr<Resolver> make_system_resolver() {
    return std::make_unique<SystemResolver>();
}

}  // namespace socklab::output
