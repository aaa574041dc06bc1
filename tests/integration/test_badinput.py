"""Bad input, table-driven: every row gives exit 2 (usage) or 1 (runtime) and one
clean `tool: what: why` line on stderr. The tables live in badinput/<tool>.tsv."""
import os

import faults
import harness

HERE = os.path.dirname(os.path.abspath(__file__))


def table(tool):
    return faults.bad_input_table(tool, os.path.join(HERE, "badinput", f"{tool}.tsv"))


def test_sockcat():
    table("sockcat")


def test_sockls():
    table("sockls")


def test_sockwatch():
    table("sockwatch")


def test_socklab():
    table("socklab")


if __name__ == "__main__":
    harness.main()
