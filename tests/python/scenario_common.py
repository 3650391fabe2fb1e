"""Assertion helpers shared by the client scenarios (glance_scenario.py, huawei_scenario.py).

A scenario fails by raising ScenarioFailure with a message saying what was expected and
what was seen; its main() turns that into a non-zero exit."""

import os
import sys
import traceback


class ScenarioFailure(Exception):
    pass


def fail(msg):
    raise ScenarioFailure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def eq(actual, expected, what):
    if actual != expected:
        fail("%s: expected %r, got %r" % (what, expected, actual))


def env(name):
    value = os.environ.get(name)
    if not value:
        fail("environment variable %s is not set" % name)
    return value


def run_main(scenario, name):
    """Runs scenario.run_all(); the exit code: 0, 1 (a check failed) or 2 (an exception)."""
    try:
        scenario.run_all()
    except ScenarioFailure as e:
        print("[%s] FAIL: %s" % (name, e), file=sys.stderr, flush=True)
        return 1
    except Exception:
        print("[%s] FAIL: unexpected exception" % name, file=sys.stderr)
        traceback.print_exc()
        return 2
    return 0
