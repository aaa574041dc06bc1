// Walks a CLI::App and writes a bash completion script from its tables.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>

#include "socklab/cli.hpp"
#include "socklab/model.hpp"

namespace socklab::cli {
namespace {

/// A word we can put in `compgen -W '...'` unquoted: no spaces, quotes or globs.
bool plain_word(std::string_view w) {
    if (w.empty()) return false;
    return std::all_of(w.begin(), w.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == ':' || c == '+' ||
               c == '/';
    });
}

/// A bare word of a help text's list: letters, digits, dashes and underscores.
bool list_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}
bool list_word(std::string_view w) {
    return !w.empty() && std::all_of(w.begin(), w.end(), list_char);
}

std::vector<std::string> split(std::string_view text, char sep) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= text.size()) {
        auto end = text.find(sep, at);
        if (end == std::string_view::npos) end = text.size();
        out.emplace_back(text.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

/// `{a,b,c}` (IsMember) or `a|b|c`: the words, or empty when `desc` is neither.
std::vector<std::string> listed(std::string_view desc) {
    if (desc.size() > 2 && desc.front() == '{' && desc.back() == '}') {
        auto words = split(desc.substr(1, desc.size() - 2), ',');
        if (std::all_of(words.begin(), words.end(), plain_word)) return words;
        return {};
    }
    if (desc.find('|') == std::string_view::npos) return {};
    auto words = split(desc, '|');
    if (std::all_of(words.begin(), words.end(), list_word)) return words;
    return {};
}

/// A help text that starts with "a, b or c" or "a or b" (sockwatch's --source, --color).
std::vector<std::string> leading_list(std::string_view help) {
    std::vector<std::string> words;
    std::size_t at = 0;
    bool last = false;
    while (true) {
        std::size_t end = at;
        while (end < help.size() && list_char(help[end]))
            ++end;
        if (end == at) return {};
        words.emplace_back(help.substr(at, end - at));
        const auto rest = help.substr(end);
        if (last) {
            const bool ends = rest.empty() || rest[0] == ' ' || rest[0] == ';' || rest[0] == ')';
            return ends ? words : std::vector<std::string>{};
        }
        if (rest.starts_with(", ")) {
            at = end + 2;
        } else if (rest.starts_with(" or ")) {
            at = end + 4;
            last = true;
        } else {
            return {};
        }
    }
}

std::string join(const std::vector<std::string>& words, char sep = ' ') {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += sep;
        out += w;
    }
    return out;
}

/// Every name of an option: -x and --xx, in CLI11's order.
std::vector<std::string> names(const CLI::Option& o) {
    std::vector<std::string> out;
    for (const auto& s : o.get_snames())
        out.push_back("-" + s);
    for (const auto& l : o.get_lnames())
        out.push_back("--" + l);
    return out;
}

bool netns_option(const std::vector<std::string>& option_names) {
    return std::any_of(option_names.begin(), option_names.end(),
                       [](const std::string& n) { return n == "-N" || n == "--net"; });
}

std::string compgen(const std::vector<std::string>& words) {
    return fmt::format("COMPREPLY=($(compgen -W '{}' -- \"$cur\"))", join(words));
}

/// One context (the tool itself or a subcommand): its case arm of the script.
void write_context(std::string& out, const CLI::App& app, const CLI::App* parent,
                   const Positionals& positionals, std::string_view label) {
    std::vector<const CLI::App*> scopes{&app};
    if (parent != nullptr && app.get_fallthrough()) scopes.push_back(parent);
    std::vector<std::string> flags;
    std::string values;  // the `case $prev` arms of options that take a value
    bool has_positional = false;
    for (const CLI::App* scope : scopes) {
        for (const CLI::Option* o : scope->get_options()) {
            if (o->get_positional()) {
                has_positional = has_positional || scope == &app;
                continue;
            }
            if (o->get_group().empty()) continue;  // hidden
            const auto option_names = names(*o);
            if (option_names.empty()) continue;
            for (const auto& n : option_names)
                if (std::find(flags.begin(), flags.end(), n) == flags.end()) flags.push_back(n);
            if (o->get_items_expected_max() <= 0) continue;  // a flag
            std::string reply;
            if (netns_option(option_names)) {
                reply =
                    "COMPREPLY=($(compgen -W \"$(ip netns list 2>/dev/null | cut -d' ' -f1)\" "
                    "-- \"$cur\"))";
            } else if (auto words = value_words(*o); !words.empty()) {
                reply = compgen(words);
            } else {
                reply = "COMPREPLY=()";  // free text: `complete -o default` offers files
            }
            values +=
                fmt::format("            {}) {}; return ;;\n", join(option_names, '|'), reply);
        }
    }
    std::vector<std::string> subcommands;
    for (const CLI::App* sub : app.get_subcommands(
             [](const CLI::App* s) { return !s->get_name().empty() && !s->get_disabled(); }))
        subcommands.push_back(sub->get_name());
    out += fmt::format("    {})\n", label);
    if (!values.empty()) out += fmt::format("        case $prev in\n{}        esac\n", values);
    out += fmt::format("        if [[ $cur == -* ]]; then {}; return; fi\n", compgen(flags));
    if (!subcommands.empty()) {
        out += fmt::format("        {}\n", compgen(subcommands));
    } else if (has_positional && positionals.filter) {
        out += fmt::format("        case $prev in state|exclude) {}; return ;; esac\n",
                           compgen(state_words()));
        out += "        COMPREPLY=($(compgen -W 'state exclude' -- \"$cur\"))\n";
    } else if (has_positional && !positionals.words.empty()) {
        out += fmt::format("        {}\n", compgen(positionals.words));
    }
    out += "        ;;\n";
}

std::string function_name(std::string_view name) {
    std::string out = "_socklab_complete_";
    for (char c : name)
        out += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
    return out;
}

}  // namespace

std::vector<std::string> value_words(const CLI::Option& option) {
    // get_type_name() is "TYPE:desc:desc...", one description per check.
    const auto type = option.get_type_name();
    for (const auto& desc : split(type, ':')) {
        if (auto words = listed(desc); !words.empty()) return words;
    }
    const std::string& help = option.get_description();
    for (const auto& token : split(help, ' ')) {
        if (auto words = listed(token); words.size() > 1) return words;
    }
    return leading_list(help);
}

std::vector<std::string> state_words() {
    std::vector<std::string> out;
    const auto add = [&out](std::string w) {
        if (!parse_state_word(w)) return;
        if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
    };
    for (const auto& row : state_table()) {
        if ((state_bit(row.state) & all_states_mask) == 0) continue;
        std::string w(row.label);
        for (char& c : w)
            c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        add(std::move(w));
    }
    for (const auto& group : state_groups())
        add(std::string(group.name));
    return out;
}

std::string bash_completion(const CLI::App& app, std::string_view name,
                            const Positionals& positionals) {
    const auto fn = function_name(name);
    std::vector<const CLI::App*> subs = app.get_subcommands(
        [](const CLI::App* s) { return !s->get_name().empty() && !s->get_disabled(); });
    std::string out = fmt::format(
        "# bash completion for {0}, generated by `{0} {1}` from its option tables.\n"
        "{2}() {{\n"
        "    local cur=${{COMP_WORDS[COMP_CWORD]}} prev= sub= pre= i\n"
        "    (( COMP_CWORD > 0 )) && prev=${{COMP_WORDS[COMP_CWORD-1]}}\n"
        "    # --opt=value: one word (= not a word break) or three (--opt = value).\n"
        "    if [[ $cur == = ]]; then cur=\n"
        "    elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then "
        "prev=${{COMP_WORDS[COMP_CWORD-2]}}\n"
        "    elif [[ $cur == --*=* ]]; then prev=${{cur%%=*}}; pre=$prev=; cur=${{cur#*=}}\n"
        "    fi\n"
        "    {2}_reply\n"
        "    [[ -n $pre ]] && COMPREPLY=(\"${{COMPREPLY[@]/#/$pre}}\")\n"
        "    return 0\n"
        "}}\n"
        "# Sets COMPREPLY from cur, prev and sub (the caller's locals).\n"
        "{2}_reply() {{\n",
        name, completion_flag, fn);
    if (!subs.empty()) {
        std::vector<std::string> sub_names;
        for (const CLI::App* s : subs)
            sub_names.push_back(s->get_name());
        out += fmt::format(
            "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
            "        case ${{COMP_WORDS[i]}} in {}) sub=${{COMP_WORDS[i]}}; break ;; esac\n"
            "    done\n",
            join(sub_names, '|'));
    }
    out += "    case $sub in\n";
    write_context(out, app, nullptr, positionals, "''");
    for (const CLI::App* s : subs)
        write_context(out, *s, &app, positionals, s->get_name());
    out += fmt::format(
        "    esac\n"
        "}}\n"
        "complete -o default -F {} {}\n",
        fn, name);
    return out;
}

std::optional<std::string> completion_request(const CLI::App& app, int argc,
                                              const char* const* argv,
                                              const Positionals& positionals) {
    if (argc != 2 || argv[1] != completion_flag) return std::nullopt;
    std::string_view name = argv[0];
    if (const auto slash = name.rfind('/'); slash != std::string_view::npos)
        name.remove_prefix(slash + 1);
    return bash_completion(app, name, positionals);
}

}  // namespace socklab::cli
