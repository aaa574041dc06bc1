#!/usr/bin/env python3
"""Bash completion: the scripts the build writes (`TOOL --bash-completion`, from the
parsers' own CLI11 tables) driven in bash as readline does, through COMP_WORDS and
COMP_CWORD, checking COMPREPLY for each tool."""
import os
import shlex

import harness
from harness import check, check_eq

TOOLS = ("sockls", "sockcat", "sockwatch", "socklab")


def script(tool):
    """The completion file the build generated for `tool`."""
    path = os.path.join(harness.BIN, "completions", tool)
    check(os.path.exists(path), f"the build wrote no completion file {path}")
    return path


def complete(tool, *words):
    """COMPREPLY for the command line `tool words...`, the last word being completed."""
    line = [tool] + list(words)
    prog = (
        f"source {shlex.quote(script(tool))}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in line)})\n"
        f"COMP_CWORD={len(line) - 1}\n"
        f"COMP_LINE={shlex.quote(' '.join(line))}\n"
        f"_socklab_complete_{tool}\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    res = harness.run(["bash", "--norc", "--noprofile", "-c", prog], timeout=20)
    check_eq(res.returncode, 0, f"bash failed: {res.stderr}")
    check_eq(res.stderr, "", "bash said something on stderr")
    return [w for w in res.stdout.split("\n") if w]


def test_generated_files_are_the_tools_own_output():
    for tool in TOOLS:
        live = harness.run([harness.tool(tool), "--bash-completion"], check=True).stdout
        check_eq(open(script(tool)).read(), live, f"{tool}: stale completion file")
        check(f"complete -o default -F _socklab_complete_{tool} {tool}" in live, live[-200:])
        syntax = harness.run(["bash", "-n", script(tool)])
        check_eq(syntax.returncode, 0, f"{tool}: {syntax.stderr}")
        # Hidden: the flag is not part of the help.
        help_text = harness.run([harness.tool(tool), "--help"], check=True).stdout
        check("--bash-completion" not in help_text, f"{tool} --help shows the hidden flag")


def test_sockls_format_source_and_flags():
    check_eq(complete("sockls", "--format", ""), ["ss", "netstat", "windows", "json", "jsonl", "csv"])
    check_eq(complete("sockls", "-t", "--format", "js"), ["json", "jsonl"])
    check_eq(complete("sockls", "--source", ""), ["auto", "netlink", "proc"])
    check_eq(complete("sockls", "--by", "p"), ["port", "process", "peer"])
    # --format=VALUE as bash splits it (= is a word break) and as one word.
    check_eq(complete("sockls", "--format", "=", "net"), ["netstat"])
    check_eq(complete("sockls", "--format", "="), complete("sockls", "--format", ""))
    check_eq(complete("sockls", "--format=w"), ["--format=windows"])
    check_eq(sorted(complete("sockls", "--js")), ["--json", "--jsonl"])
    flags = complete("sockls", "-")
    for f in ("-t", "--tcp", "-a", "-p", "--kill", "--help", "-V", "--version", "-N", "--net"):
        check(f in flags, f"{f} not offered: {flags}")
    check("--bash-completion" not in flags, "the hidden flag is offered")
    # Every word offered for --format is one sockls takes.
    for word in complete("sockls", "--format", ""):
        res = harness.run([harness.tool("sockls"), "-tan", "--format", word, "state", "listen"])
        check_eq(res.returncode, 0, f"--format {word}: {res.stderr}")


def test_sockls_state_words_after_state_and_exclude():
    words = complete("sockls", "-tan", "state", "")
    for w in ("established", "syn-sent", "time-wait", "close-wait", "fin-wait-1", "listen",
              "closing", "last-ack", "all", "connected"):
        check(w in words, f"{w} not offered after state: {words}")
    cl = complete("sockls", "exclude", "cl")
    check(cl and all(w.startswith("cl") for w in cl), cl)
    check("close-wait" in cl and "closing" in cl, cl)
    check_eq(complete("sockls", "-t", ""), ["state", "exclude"])
    # Each state word is one the filter takes.
    for w in words:
        res = harness.run([harness.tool("sockls"), "-tan", "state", w])
        check_eq(res.returncode, 0, f"state {w}: {res.stderr}")


def test_net_completes_namespace_names():
    if os.geteuid() != 0:
        raise harness.Skip("ip netns add needs root")
    harness.need("ip")
    with harness.NamedNetns("socklab-compl") as ns:
        for tool, opt in (("sockls", "-N"), ("sockls", "--net"), ("sockwatch", "-N")):
            words = complete(tool, opt, "socklab-compl")
            check(ns.name in words, f"{tool} {opt}: {ns.name} not in {words}")
            check(all(w.startswith("socklab-compl") for w in words), words)


def test_sockcat_close_controls():
    check_eq(complete("sockcat", "--on-eof", ""), ["shutdown", "close", "rst", "wait"])
    peer = complete("sockcat", "-l", "--on-peer-close", "")
    check("hold" in peer and "close" in peer, peer)
    check_eq(complete("sockcat", "--close", ""), ["fin", "rst"])
    flags = complete("sockcat", "--")
    for f in ("--listen", "--on-eof", "--on-peer-close", "--close", "--show-state", "--version"):
        check(f in flags, f"{f} not offered: {flags}")
    # The words are the ones sockcat's help and checks show.
    help_text = harness.run([harness.tool("sockcat"), "--help"], check=True).stdout
    for opt in ("--on-eof", "--on-peer-close", "--close"):
        check("|".join(complete("sockcat", opt, "")) in help_text, f"{opt}: words not in --help")


def test_sockwatch_source_color_and_states():
    check_eq(complete("sockwatch", "--source", ""), ["auto", "poll", "tracepoint"])
    check_eq(complete("sockwatch", "--color", "a"), ["auto", "always"])
    check("time-wait" in complete("sockwatch", "--events", "state", "t"), "no time-wait")
    flags = complete("sockwatch", "--")
    for f in ("--events", "--jsonl", "--counts", "--source", "--color", "--net", "--version"):
        check(f in flags, f"{f} not offered: {flags}")
    for word in complete("sockwatch", "--source", ""):
        res = harness.run([harness.tool("sockwatch"), "--source", word, "--bogus-flag"])
        check("--source" not in res.stderr, f"--source {word} refused: {res.stderr}")


def test_socklab_subcommands_and_scenarios():
    check_eq(complete("socklab", ""), ["list", "run", "tour", "explain", "doctor"])
    check_eq(complete("socklab", "t"), ["tour"])
    scenarios = complete("socklab", "run", "")
    listing = harness.run([harness.tool("socklab"), "list"], check=True).stdout
    for name in scenarios:
        check(name in listing, f"scenario {name} not in socklab list")
    for name in ("listen", "syn-sent", "established", "fin-wait-1", "time-wait", "closed", "rst"):
        check(name in scenarios, f"{name} not offered: {scenarios}")
    check_eq(complete("socklab", "explain", "fin"), [w for w in scenarios if w.startswith("fin")])
    check_eq(complete("socklab", "run", "--family", ""), ["4", "6"])
    check_eq(complete("socklab", "--color", ""), ["auto", "always", "never"])
    check_eq(complete("socklab", "run", "--color", "n"), ["never"])  # falls through
    check_eq(sorted(complete("socklab", "run", "--h")), ["--help", "--hold"])
    check_eq(complete("socklab", "doctor", "--p"), ["--procfs"])


if __name__ == "__main__":
    harness.main()
