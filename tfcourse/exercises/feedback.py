"""How a check, a hint or a solution is shown, and the machine-readable record it leaves.

In a Jupyter kernel every message is one display output holding three views of the same event:
  * text/html: the formatted message JupyterLab shows;
  * text/plain: the same message as plain text (terminals, `nbconvert --to script`);
  * RECORD_MIME_TYPE: a JSON object for the grading command, e.g.
    {"format": 1, "exercise": "nb03.q1", "event": "check", "status": "mistake",
     "mistake": "sum_instead_of_mean", "message": "..."}.
nbclient stores display outputs with all their MIME types, so `cells.collect_records` reads
the records back from an executed notebook. Outside IPython the plain text is printed.
"""

import html
import re

RECORD_MIME_TYPE = "application/vnd.tfcourse.exercise+json"
RECORD_FORMAT = 1

# status -> (title, border colour, plain-text mark)
STYLES = {
    "passed": ("Correct", "#2e7d32", "[passed]"),
    "mistake": ("Not quite", "#ef6c00", "[mistake]"),
    "not_attempted": ("Not attempted yet", "#757575", "[not attempted]"),
    "error": ("Your answer could not be checked", "#c62828", "[error]"),
    "hint": ("Hint", "#1565c0", "[hint]"),
    "solution": ("Solution", "#6a1b9a", "[solution]"),
}


def markdown_code_to_html(text):
    """Escapes `text` for HTML and turns `code` spans into <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def message_bundle(kind, title, message, record, code_html=None, code_text=None):
    """The display bundle {mime type: data} of one message (see the module docstring)."""
    default_title, colour, mark = STYLES[kind]
    title = title or default_title
    body = f"<p>{markdown_code_to_html(message)}</p>" if message else ""
    if code_html:
        body += code_html
    html_view = (f'<div style="border-left: 4px solid {colour}; padding: 2px 10px; margin: 4px 0">'
                 f'<b style="color: {colour}">{html.escape(title)}</b>{body}</div>')
    text = f"{mark} {title}" + (f": {message}" if message else "")
    if code_text:
        text += "\n" + code_text.rstrip("\n")
    return {"text/plain": text, "text/html": html_view, RECORD_MIME_TYPE: {"format": RECORD_FORMAT, **record}}
