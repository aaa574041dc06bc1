// Golden files for unit tests: compare a rendering with its recorded text, or rewrite it.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace socklab::golden {

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "<missing file " + path + ">";
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Compares `text` with SOCKLAB_GOLDEN_DIR/DIR/NAME. SOCKLAB_UPDATE_GOLDEN=1 rewrites
/// the expected file instead (read here, in the test: the library reads no environment);
/// the rewritten file is reviewed in the diff before it is committed.
inline void check_golden(const std::string& dir, const std::string& name, const std::string& text) {
    const std::string path = std::string(SOCKLAB_GOLDEN_DIR) + "/" + dir + "/" + name;
    const char* update = std::getenv("SOCKLAB_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
    }
    INFO("golden file " << path << " (SOCKLAB_UPDATE_GOLDEN=1 regenerates)");
    CHECK(text == read_file(path));
}

}  // namespace socklab::golden
