"""Sphinx configuration of the course's website: lessons, docs and API reference.

Built from the checkout's root (`tfcourse site` runs `sphinx-build -c docs . <out>`), so the
notebooks, the docs and the README's pictures keep the relative paths they have on GitHub
and in JupyterLab. Notebooks are rendered from their stored outputs and never executed.
"""

import importlib.util
import os
import pathlib
import re
import sys

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # autodoc imports this checkout's tfcourse, whatever is installed

_project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# The repository and the published site are named once, in pyproject.toml's [project.urls].
REPOSITORY = _project["urls"]["Repository"]
SITE = _project["urls"]["Documentation"]

project = "tfcourse"
author = "the tfcourse authors"
copyright = "2026, the tfcourse authors"
release = version = _project["version"]

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.linkcode",
    "sphinx_copybutton",
]

root_doc = "docs/index"
include_patterns = ["docs/**", "notebooks/[0-9][0-9]_*.ipynb", "notebooks/README.md"]
exclude_patterns = ["docs/_build/**", "docs/_templates/**", "docs/_root/**", "docs/conf.py", "**/.ipynb_checkpoints/**"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["tfcourse.css"]
html_extra_path = ["_root"]  # index.html at the top: the home page is docs/index.html

# The lessons as stored: their outputs come from a full run; building never runs them.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3
suppress_warnings = [
    "myst.header",  # lessons start at "#" and use "##" sections, as notebooks do
    # A field name shared by two named tuples (`name`, `kind`) is an ambiguous reference in the
    # generated signatures; without nitpicky mode an unresolved one never warns, so this hides
    # only the ambiguity, never a broken link (the site's tests crawl every link).
    "ref.python",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# The Ray launcher is an extra: document it even where Ray is not installed.
autodoc_mock_imports = [] if importlib.util.find_spec("ray") else ["ray"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "sphinx_book_theme"
html_title = "tfcourse"
html_favicon = "img/favicon.svg"
html_context = {"default_mode": "light"}  # the theme logs an error when no mode is named
html_baseurl = SITE
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "use_source_button": True,
    "launch_buttons": {
        "notebook_interface": "jupyterlab",
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "jupyterhub_url": os.environ.get("TFCOURSE_JUPYTERHUB_URL", "https://hub.example.edu"),
    },
    "show_toc_level": 2,
}

# MyST-NB: the exercise feedback carries the course's own JSON record (for the grader) beside
# its HTML view; the site shows the HTML the student sees in JupyterLab.
# MyST-NB warns on every mime type it has no renderer for, whatever its priority; that record
# is the only one, and the site's tests check the HTML view of each exercise is on the page.
suppress_warnings.append("mystnb.unknown_mime_type")

# `name` in a docstring is code; `_link_code` below turns code naming an API entry into a link.
default_role = "code"

# The library's docstrings are written for `help()` and the notebooks as much as for this
# site: plain-text lists and examples indented under a line, `**options`, `|a - b|`. Before
# napoleon reads the Args/Returns sections, such blocks become literal blocks and stray
# markup characters are escaped, so they render as written instead of failing the build.
_NAPOLEON_SECTIONS = {"args", "arguments", "returns", "return", "raises", "yields", "yield", "attributes",
                      "parameters", "keyword args", "other parameters", "methods", "warns", "see also"}


def _plain_docstring(app, what, name, obj, options, lines):
    item = re.compile(r"^\s*([*+-]|\d+[.)])\s")
    out, in_section, block_indent, list_indent = [], False, None, None
    previous = ""
    for index, line in enumerate(lines):
        stripped, indent = line.strip(), len(line) - len(line.lstrip())
        previous_indent = len(previous) - len(previous.lstrip())
        if block_indent is not None and stripped and indent < block_indent:
            out.append("")  # a literal block ends with a blank line
            block_indent = None
        elif (block_indent is None and not in_section and stripped and previous.strip()
              and indent < previous_indent):
            out.append("")  # so does a list or a quote before the text that follows it
        if block_indent is None and stripped:
            if indent == 0:
                in_section = stripped.endswith(":") and stripped.rstrip(":").lower() in _NAPOLEON_SECTIONS
                if in_section and out and out[-1].strip():
                    out.append("")  # napoleon finds a section only after a blank line
            if item.match(line):
                list_indent = indent
            elif list_indent is not None and indent <= list_indent:
                list_indent = None
            next_line = lines[index + 1] if index + 1 < len(lines) else ""
            deeper = next_line.strip() and len(next_line) - len(next_line.lstrip()) > indent
            if deeper and not in_section and list_indent is None and not stripped.endswith("::"):
                out.extend([_escape(line + (":" if stripped.endswith(":") else " ::")), ""])
                block_indent = len(next_line) - len(next_line.lstrip())
                previous = line
                continue
        out.append(line if block_indent is not None else _escape(line))
        if stripped:
            previous = line
    lines[:] = out


def _escape(line):
    parts = line.split("`")
    if len(parts) % 2 == 1:  # balanced: `name`s -> `name`\ s, as RST needs after a closing backtick
        for i in range(2, len(parts), 2):
            if parts[i][:1].isalnum():
                parts[i] = "\\ " + parts[i]
        line = "`".join(parts)
    line = re.sub(r"(?<![\\`*])\*\*(?=\w)(?![^`]*`)", r"\\*\\*", line)  # **options, not **strong**
    line = re.sub(r"\|(?=[^|`]*\|)", r"\\|", line) if "`" not in line else line  # |a - b| is no substitution
    return line


def linkcode_resolve(domain, info):
    """The API pages' [source] links: the object's lines in the repository on GitHub."""
    import importlib
    import inspect

    if domain != "py" or not info["module"]:
        return None
    try:
        obj = importlib.import_module(info["module"])
        for part in info["fullname"].split("."):
            obj = getattr(obj, part)
        obj = inspect.unwrap(obj)
        path = pathlib.Path(inspect.getsourcefile(obj)).resolve().relative_to(ROOT)
        lines, first = inspect.getsourcelines(obj)
    except (AttributeError, ImportError, OSError, TypeError, ValueError):
        return None  # a constant or an alias: no lines of its own
    return f"{REPOSITORY}/blob/main/{path.as_posix()}#L{first}-L{first + len(lines) - 1}"


# Lessons and API pages link to each other. A lesson's `source.show(fn)` output is headed by
# fn's qualified name: that heading links to fn's API page, and fn's API page lists the
# lessons that show it. Code in the docs and lessons that names an API entry
# (`mnist.loss`, `tfcourse.training.train`) links to it too.
_SHOWN_TITLE = re.compile(r"^# (tfcourse(?:\.\w+)+)  \(", re.M)
_SHOWN_HTML = re.compile(r"<div><code>(tfcourse(?:\.\w+)+)  \(")


def _lessons_showing():
    """{qualified name: [lesson docnames]} from the stored source.show outputs of the lessons."""
    import json

    shown = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = "".join(output.get("data", {}).get("text/plain", ""))
                for name in _SHOWN_TITLE.findall(text):
                    shown.setdefault(name, []).append(f"notebooks/{path.stem}")
    return shown


_SHOWN = _lessons_showing()


def _add_lesson_links(app, what, name, obj, options, lines):
    lessons = _SHOWN.get(name)
    if lessons:
        links = ", ".join(f":doc:`/{lesson}`" for lesson in dict.fromkeys(lessons))
        lines.extend(["", f"*Shown in the lessons:* {links}"])


def _api_target(app, fromdocname, name):
    objects = app.env.get_domain("py").objects
    for candidate in (name, f"tfcourse.{name}"):
        if candidate in objects:
            entry = objects[candidate]
            return app.builder.get_relative_uri(fromdocname, entry.docname) + "#" + entry.node_id
    return None


def _link_code(app, doctree, fromdocname):
    from docutils import nodes

    for literal in list(doctree.findall(nodes.literal)):
        if isinstance(literal.parent, nodes.reference) or "." not in literal.astext():
            continue
        name = re.sub(r"\(.*\)$", "", literal.astext().strip())
        if re.fullmatch(r"[A-Za-z_][\w.]*", name):
            uri = _api_target(app, fromdocname, name)
            if uri:
                reference = nodes.reference("", "", internal=True, refuri=uri)
                literal.replace_self(reference)
                reference.append(literal)
    for raw in doctree.findall(nodes.raw):
        if "html" in raw.get("format", "") and "<div><code>tfcourse." in raw.astext():
            def link(match):
                uri = _api_target(app, fromdocname, match.group(1))
                return f'<div><code><a href="{uri}">{match.group(1)}</a>  (' if uri else match.group(0)
            text = _SHOWN_HTML.sub(link, raw.astext())
            raw.replace_self(nodes.raw("", text, format=raw["format"]))


def setup(app):
    app.connect("autodoc-process-docstring", _plain_docstring, priority=400)
    app.connect("autodoc-process-docstring", _add_lesson_links, priority=600)
    app.connect("doctree-resolved", _link_code)
