"""A real TensorBoard, photographed: the picture README.md and notebook 06 show.

    .venv/bin/python scripts/tensorboard_screenshot.py docs/img/tensorboard.png

trains notebook 06's two runs on the shipped MNIST (Adam and SGD, 2200 steps each, about a
minute), serves them with the real `tensorboard` program (`tfcourse.tensorboard_server`), opens
its Time Series dashboard in headless Chromium through Playwright (Debian's chromium:
scripts/install_browser.sh), keeps the loss and accuracy cards and saves the page as a PNG.
tests/test_tensorboard_served.py calls `screenshot` on its own served run, into its tmp_path.
"""

import argparse
import os
import sys
import tempfile

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUNS = (("adam", 0.002), ("sgd", 0.01))  # notebook 06's two runs


def screenshot(url, path, tag_filter="^loss$|^accuracy/validation$", width=1280, height=640, timeout_s=60):
    """Saves a PNG of TensorBoard's Time Series dashboard at `url`, showing the tags matching `tag_filter`.

    Returns once a scalar chart has been drawn (its canvas is on the page and TensorBoard has
    fetched the series). Returns the number of scalar cards visible in the picture.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url.rstrip("/") + "/#timeseries", timeout=timeout_s * 1000)
            page.locator("scalar-card line-chart canvas").first.wait_for(timeout=timeout_s * 1000)
            # The settings pane opens by default and would cover a third of the picture.
            close = page.get_by_label("Close side pane")
            if close.count():
                close.click()
            page.locator("input[placeholder='Filter tags (regex)']").fill(tag_filter)
            page.keyboard.press("Escape")  # the tag filter's suggestion list
            page.locator("scalar-card line-chart canvas").first.wait_for(timeout=timeout_s * 1000)
            page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
            page.wait_for_timeout(1000)  # the charts draw on the next animation frames
            page.screenshot(path=str(path))
            return page.locator("scalar-card:visible").count()
        finally:
            browser.close()


def train_runs(log_dir, max_steps=2200):
    """Notebook 06's Adam and SGD runs on the shipped MNIST, into `log_dir`/<optimizer>-lr<rate>."""
    from tfcourse import training
    from tfcourse.datasets import read_data_sets

    data_sets = read_data_sets(seed=0)
    for optimizer, learning_rate in RUNS:
        config = training.TrainConfig(optimizer=optimizer, learning_rate=learning_rate, max_steps=max_steps,
                                      eval_every=275, seed=0, log_dir=str(log_dir),
                                      run_name=f"{optimizer}-lr{learning_rate:g}")
        training.train(data_sets, config, progress=False, verbose=False)


def main(argv=None):
    from tfcourse import tensorboard_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="the PNG to write, e.g. docs/img/tensorboard.png")
    parser.add_argument("--max_steps", type=int, default=2200, help="steps per run (default: notebook 06's)")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        parser.exit(2, f"{CHROMIUM} is missing: run scripts/install_browser.sh first\n")
    with tempfile.TemporaryDirectory(prefix="tensorboard-screenshot-") as log_dir:
        train_runs(log_dir, args.max_steps)
        with tensorboard_server.start(log_dir) as server:
            for optimizer, learning_rate in RUNS:
                tensorboard_server.wait_for_run(server, f"{optimizer}-lr{learning_rate:g}", "loss")
            cards = screenshot(server.url, args.output)
    print(f"wrote {args.output}: TensorBoard showing {cards} scalar charts")


if __name__ == "__main__":
    sys.exit(main())
