"""tfcourse site: build the course website (lessons, docs, API reference) with Sphinx."""

HELP = "build the course website from the stored notebooks, the docs and the docstrings"


def configure(parser):
    parser.add_argument("-o", "--output", default="build/site",
                        help="folder to write the site into (default: build/site); open its index.html")


def run(args):
    import os

    from tfcourse import website

    status = website.build(args.output)
    if status == 0:
        print(f"site built: {os.path.join(args.output, 'index.html')}")
    return status
