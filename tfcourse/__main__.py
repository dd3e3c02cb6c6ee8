"""`python -m tfcourse ...` is the same as the `tfcourse` console script."""

import sys

from tfcourse.cli import main

sys.exit(main())
