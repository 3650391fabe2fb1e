"""Assertion helpers shared by the client scenarios (glance_scenario.py, huawei_scenario.py).

A scenario fails by raising ScenarioFailure with a message saying what was expected and
what was seen; its main() turns that into a non-zero exit."""

import os


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
