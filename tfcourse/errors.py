"""The exception types the course raises for bad input, and its one check of a count.

It subclasses ValueError so `except ValueError` in student code keeps working, and
the CLI turns it into a one-line message with exit status 2.
"""

import math
import numbers


class CourseError(ValueError):
    """Bad input or state that the user can fix; the message says what was expected."""

    # Same behaviour as ValueError's; but AutoGraph re-raises an error from inside a
    # tf.function as its own type only when __init__ is Exception's (else as StagingError,
    # which is no ValueError), and static shape checks do run while tracing.
    __init__ = Exception.__init__


class DataError(CourseError):
    """A data file is missing, malformed or does not match its checksum."""


def check_positive_int(name, value, allow_none=False, error=CourseError):
    """`value` as an int, or `error` saying "`name` must be a positive integer, got ...".

    Python and numpy integers pass; bools, floats and strings do not (True is no count).
    With allow_none, None passes through unchanged.
    """
    return check_int(name, value, 1, allow_none, error)


def check_positive_number(name, value, error=CourseError):
    """`value` as a float > 0 and finite (a rate, a size in seconds), or `error` saying so."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise error(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_choice(name, value, choices, error=CourseError):
    """`value` if it is one of `choices`, else `error` listing them."""
    if value not in choices:
        raise error(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_int(name, value, minimum, allow_none=False, error=CourseError):
    """`value` as an int >= `minimum`, or `error` saying what was expected (as check_positive_int)."""
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise error(f"{name} must be {what}{' (or None)' if allow_none else ''}, got {value!r}")
    return int(value)
