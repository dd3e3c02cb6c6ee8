"""`python -m tfcourse ...` is the same as the `tfcourse` console script."""

import sys

from tfcourse.cli import main

if __name__ == "__main__":  # importing the module (the API reference does) runs nothing
    sys.exit(main())
