// sockcat: nc-style connect/listen with exact control of how each connection closes.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <variant>

#include "app.hpp"
#include "socklab/cli.hpp"
#include "socklab/net.hpp"

namespace sockcat {
namespace {

namespace app = socklab::app;
namespace net = socklab::net;

/// A parse outcome that is not a run: help or version (code 0, text for stdout) or a
/// usage error (code 2, one stderr line without "sockcat: ").
struct Exit {
    int code = 0;
    std::string text;
};

/// Where CLI11 puts what was typed, one slot per entry of net::cat_options().
struct Typed {
    std::vector<std::string> values;
    std::unique_ptr<bool[]> flags;
    std::vector<CLI::Option*> options;
    std::vector<std::string> operands;
};

void define(CLI::App& app, Typed& t) {
    const auto& table = net::cat_options();
    t.values.resize(table.size());
    t.flags = std::make_unique<bool[]>(table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
        const auto& d = table[i];
        const std::string names(d.names);
        CLI::Option* o =
            d.kind == net::CatOption::flag ? app.add_flag(names, t.flags[i], d.help)
            : d.kind == net::CatOption::optional_value
                ? app.add_flag(names + "{on}", t.values[i], d.help)
                : app.add_option(names, t.values[i], d.help)->type_name(std::string(d.type));
        // A keyword's check and its words come from net's table ("'maybe' is not ...").
        if (d.keyword)
            o->check(CLI::Validator([name = d.message_name()](
                                        std::string& v) { return net::check_cat_keyword(name, v); },
                                    ""));
        t.options.push_back(o);
    }
    app.add_option("args", t.operands,
                   "HOST PORT, or [HOST] PORT with -l, or HOST PORT[-PORT]... with -z");
}

std::variant<net::CatOptions, Exit> parse_command_line(int argc, char** argv, bool stdin_is_tty) {
    CLI::App app{"sockcat: nc-style connect/listen with exact control of how connections close",
                 "sockcat"};
    Typed t;
    define(app, t);
    bool version = false;
    app.add_flag("--version", version, "print the version");
    if (auto script = socklab::cli::completion_request(app, argc, argv, {}))
        return Exit{app::exit_ok, *script};
    try {
        // CLI11 turns "--keepalive=" into the flag's default; an empty value is a mistake.
        for (int i = 1; i < argc; ++i)
            if (std::string_view(argv[i]) == "--keepalive=")
                return Exit{app::exit_usage, "--keepalive: empty value"};
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return Exit{app::exit_ok, app.help()};
    } catch (const CLI::ParseError& e) {
        // CLI11 starts its sentences in capitals; our lines read "sockcat: the following...".
        std::string text = e.what();
        if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
            text[0] = static_cast<char>(text[0] - 'A' + 'a');
        return Exit{app::exit_usage, text};
    }
    if (version) return Exit{app::exit_ok, fmt::format("sockcat {}\n", SOCKLAB_VERSION)};
    net::RawCatOptions raw{{}, t.operands, stdin_is_tty};
    for (std::size_t i = 0; i < t.options.size(); ++i)
        if (t.options[i]->count() > 0)
            raw.given.emplace_back(net::cat_options()[i].message_name(), t.values[i]);
    auto o = net::convert_options(raw);
    if (!o) return Exit{app::exit_usage, o.error().context};
    return std::move(*o);
}

/// Prints a parse outcome: help/version to stdout (checked: a failed write is
/// "sockcat: stdout: why" and exit 1), a usage error as one stderr line.
int report(const Exit& e) {
    if (e.code != app::exit_ok) {
        app::error_line("sockcat", "", e.text);
        return e.code;
    }
    std::fputs(e.text.c_str(), stdout);
    return app::finish_stdio("sockcat", app::exit_ok);
}

int main_body(int argc, char** argv) {
    auto parsed = parse_command_line(argc, argv, ::isatty(STDIN_FILENO) == 1);
    if (auto* exit = std::get_if<Exit>(&parsed)) return report(*exit);
    auto signals = app::StopSignals::install();
    if (!signals) {
        app::error_line("sockcat", "signals",
                        app::reason(std::error_code(errno, std::system_category())));
        return app::exit_runtime;
    }
    const net::CatHooks hooks{
        [](std::string_view line) { std::fwrite(line.data(), 1, line.size(), stderr); },
        [](const socklab::Error& e) { app::error_line("sockcat", e.context, app::reason(e.code)); },
        STDIN_FILENO, STDOUT_FILENO};
    return net::run_cat(std::get<net::CatOptions>(parsed), hooks, signals->fd());
}

/// After a stop signal and our cleanup (sockets closed, the unix socket file removed),
/// die by that signal as nc does: a shell shows 128+N (130 after ^C, 143 after SIGTERM)
/// and a `while sockcat ...` loop stops at ^C. StopSignals has restored SIG_DFL by now.
void die_by_stop_signal() {
    const int sig = app::StopSignals::signal_number();
    if (sig == 0) return;
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

}  // namespace
}  // namespace sockcat

int main(int argc, char** argv) {
    // First of all: fds 0-2 open (/dev/null where closed), or the connected socket would
    // become our stdout and the peer's data would go straight back to the peer.
    if (!socklab::app::ensure_std_fds()) return socklab::app::exit_runtime;
    // A peer or stdout going away must be an error code we handle, not a signal death.
    ::signal(SIGPIPE, SIG_IGN);
    const int rc = socklab::app::guarded("sockcat", [&] { return sockcat::main_body(argc, argv); });
    sockcat::die_by_stop_signal();
    return rc;
}
