"""The exception types the course raises for bad input, and its one check of a count.

It subclasses ValueError so `except ValueError` in student code keeps working, and
the CLI turns it into a one-line message with exit status 2.
"""

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
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise error(f"{name} must be a positive integer{' (or None)' if allow_none else ''}, got {value!r}")
    return int(value)
