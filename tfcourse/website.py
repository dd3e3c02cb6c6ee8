"""The course website: lessons from their stored outputs, the docs and the API reference.

Sphinx builds it from the checkout (the configuration is docs/conf.py): MyST-NB renders the
notebooks without running them, autodoc/autosummary read the docstrings, and the book theme
gives the navigation, the search and the download and launch buttons. Warnings are errors, so
a broken link, a missing image or a notebook that does not render fails the build.
"""

import pathlib

from tfcourse.errors import CourseError

CHECKOUT = pathlib.Path(__file__).resolve().parents[1]


def build(output, quiet=True):
    """Builds the HTML site into `output`.

    Args:
      output: folder to write the site into (created; its earlier content is overwritten).
      quiet: only warnings and errors are printed.

    Returns:
      Sphinx's exit status: 0 when the site built without a warning.

    Raises:
      CourseError: no checkout around this package (an installed wheel has no docs), or the
        `docs` extra is not installed.
    """
    conf = CHECKOUT / "docs" / "conf.py"
    if not conf.is_file():
        raise CourseError(f"the site is built from a checkout of tfcourse; {conf} does not exist "
                          "(clone the repository and run this command there)")
    try:
        from sphinx.cmd.build import build_main
    except ImportError:
        raise CourseError("the site needs Sphinx and its extensions: pip install -e '.[docs]'") from None
    # Sphinx's cache of parsed pages stays out of the site (and so out of what gets published).
    doctrees = CHECKOUT / "build" / "doctrees"
    arguments = ["-b", "html", "-c", str(conf.parent), "-W", "--keep-going", "-d", str(doctrees)]
    arguments += ["-q"] if quiet else []
    return build_main(arguments + [str(CHECKOUT), str(output)])
