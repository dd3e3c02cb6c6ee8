"""The one exception type the course raises for bad input.

It subclasses ValueError so `except ValueError` in student code keeps working, and
the CLI turns it into a one-line message with exit status 2.
"""


class CourseError(ValueError):
    """Bad input or state that the user can fix; the message says what was expected."""

    # Same behaviour as ValueError's; but AutoGraph re-raises an error from inside a
    # tf.function as its own type only when __init__ is Exception's (else as StagingError,
    # which is no ValueError), and static shape checks do run while tracing.
    __init__ = Exception.__init__


class DataError(CourseError):
    """A data file is missing, malformed or does not match its checksum."""
