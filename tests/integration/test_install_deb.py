#!/usr/bin/env python3
"""The Debian package scripts/package builds: installed with apt, `man sockls` and
`sockls -tan` work from PATH, the completion loads, and a purge leaves nothing.

It needs the package (SOCKLAB_DEB=path, set by scripts/test after scripts/package)
and root; without either it skips (exit 77), as it does inside the ci ctest run."""
import os
import shutil
import subprocess

import harness
from harness import check, check_eq


def package():
    deb = os.environ.get("SOCKLAB_DEB", "")
    if not deb:
        raise harness.Skip("SOCKLAB_DEB is not set (scripts/test sets it after scripts/package)")
    if os.geteuid() != 0:
        raise harness.Skip("installing a package needs root")
    check(os.path.isfile(deb), f"no package at {deb}")
    return os.path.abspath(deb)


def dpkg_files():
    res = harness.run(["dpkg", "-L", "socklab"])
    return [] if res.returncode != 0 else [l for l in res.stdout.splitlines() if l]


def purge():
    harness.run(["dpkg", "--purge", "socklab"], timeout=120)


def test_installs_runs_and_purges_without_leftovers():
    deb = package()
    if harness.run(["dpkg", "-s", "socklab"]).returncode == 0:
        raise harness.TestFailure("socklab is already installed on this host; not touching it")
    harness.on_cleanup(purge)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    res = harness.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", deb],
                      env=env, timeout=300)
    check_eq(res.returncode, 0, f"apt-get install: {res.stdout[-2000:]}{res.stderr}")
    files = dpkg_files()
    check("/usr/bin/sockls" in files and "/usr/share/man/man1/sockls.1.gz" in files, files)

    # From PATH, as a user types them (the build tree is not on this PATH).
    path_env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin", MANPAGER="cat",
                    MANWIDTH="80", LC_ALL="C.UTF-8")
    check_eq(shutil.which("sockls", path=path_env["PATH"]), "/usr/bin/sockls")
    man = harness.run(["man", "sockls"], env=path_env, timeout=60)
    check_eq(man.returncode, 0, f"man sockls: {man.stderr}")
    check("sockls" in man.stdout and "SYNOPSIS" in man.stdout, man.stdout[:300])
    with harness.free_listener() as ls:
        port = ls.getsockname()[1]
        res = harness.run(["sockls", "-tan"], env=path_env, timeout=30)
        check_eq(res.returncode, 0, f"sockls -tan: {res.stderr}")
        check(f"127.0.0.1:{port}" in res.stdout, f"listener :{port} not listed")
    for tool in ("sockcat", "sockwatch", "socklab"):
        check_eq(harness.run([tool, "--version"], env=path_env).returncode, 0, tool)
    # The installed completion is what bash-completion loads for the tool.
    comp = "/usr/share/bash-completion/completions/sockls"
    prog = (f"source {comp}; COMP_WORDS=(sockls --format js); COMP_CWORD=2; "
            '_socklab_complete_sockls; printf "%s\\n" "${COMPREPLY[@]}"')
    res = harness.run(["bash", "--norc", "-c", prog], env=path_env)
    check_eq(res.stdout.split(), ["json", "jsonl"])

    # Remove, then purge: no file of the package stays, dpkg forgets it.
    res = harness.run(["apt-get", "remove", "-y", "-q", "socklab"], env=env, timeout=300)
    check_eq(res.returncode, 0, f"apt-get remove: {res.stderr}")
    purge()
    check(harness.run(["dpkg", "-s", "socklab"]).returncode != 0, "dpkg still knows socklab")
    left = [f for f in files if os.path.isfile(f) or os.path.islink(f)]
    check_eq(left, [], "files left after the purge")
    for d in ("/usr/share/doc/socklab",):
        check(not os.path.exists(d), f"{d} left after the purge")
    check(subprocess.run(["which", "sockls"], env=path_env, capture_output=True).returncode != 0,
          "sockls still on PATH")


if __name__ == "__main__":
    harness.main()
