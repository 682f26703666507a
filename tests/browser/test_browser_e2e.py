"""End to end, as an investigator: headless Chromium opens Neo4j Browser on the project's Neo4j,
connects with the password, and — with no command typed — gets the fraudrings style and guide;
one click on the guide's top-rings block shows the rings of the sweep, drawn in the style.

Fails (never skips) when Chromium, chromedriver or Neo4j is missing: scripts/bootstrap --dev
installs Chromium, scripts/neo4j start runs Neo4j. Screenshots land in the test's tmp folder
(and in docs/ when they are missing there or FRAUDRINGS_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from browser_support import Assets, Swept, chromium, sweep_into

from fraudrings.browser import guide
from fraudrings.browser.style import KIND_COLOURS, RING_MEMBER_BORDER, RING_MEMBER_COLOUR
from fraudrings.graph.backends.neo4j import server

DOCS = Path(__file__).resolve().parents[2] / "docs"
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException):
            pass  # React re-rendered the element under us: look again
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


def frame_with_command(browser: Any, command: str) -> Any:
    """The newest frame whose header shows ``command`` (as rendered: whitespace collapsed)."""
    from selenium.webdriver.common.by import By

    wanted = " ".join(command.split())
    for frame in browser.find_elements(By.CSS_SELECTOR, "[data-testid=frame]"):
        heads = frame.find_elements(By.CSS_SELECTOR, "[data-testid=frameCommand]")
        if heads and " ".join(heads[0].text.split()) == wanted:
            return frame
    return None


def run_block(browser: Any, slide_key: str, starts_with: str) -> None:
    """Click the ▶ icon Browser adds to a runnable block of the guide (runs it in a new
    frame, as an investigator does)."""
    from selenium.webdriver.common.by import By

    def icon() -> Any:
        for pre in browser.find_elements(By.CSS_SELECTOR, f"pre[data-fraudrings='{slide_key}']"):
            icons = pre.find_elements(By.CSS_SELECTOR, "i.fa-play-circle-o")
            if icons and pre.text.strip().startswith(starts_with) and pre.is_displayed():
                return icons[0]
        return None

    wait_for(f"the ▶ of the {slide_key!r} block {starts_with[:40]!r}", icon, 20).click()


def graph_nodes(frame: Any) -> list[dict[str, str]]:
    """The nodes Browser drew in a result frame: fill, stroke and caption of each."""
    return frame.parent.execute_script(
        """
        return Array.from(arguments[0].querySelectorAll('g.node')).map(function (g) {
          var c = g.querySelector('circle.b-outline');
          return {fill: (c.getAttribute('fill') || '').toUpperCase(),
                  stroke: (c.getAttribute('stroke') || '').toUpperCase(),
                  caption: Array.from(g.querySelectorAll('text.caption'))
                    .map(function (t) { return t.textContent.trim(); }).join(' ')};
        });
        """, frame)


def save_screenshot(browser: Any, name: str, artifacts: Path) -> Path:
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / name
    assert browser.save_screenshot(str(shot)), f"no screenshot {shot}"
    docs = DOCS / name
    if os.environ.get("FRAUDRINGS_UPDATE_SCREENSHOTS") or not docs.exists():
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs)
    return shot


def assert_not_blank(shot: Path, colour: str) -> None:
    """A real page: varied pixels, and the given style colour actually painted."""
    from PIL import Image, ImageStat

    image = Image.open(shot).convert("RGB")
    assert ImageStat.Stat(image.convert("L")).var[0] > 200, f"{shot} looks blank"
    assert len(image.getcolors(maxcolors=1 << 20) or []) > 500, f"{shot} has few colours"
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    small = image.resize((image.width // 2, image.height // 2))
    painted = sum(1 for pixel in small.get_flattened_data()
                  if sum(abs(a - b) for a, b in zip(pixel, target)) < 24)
    assert painted > 200, f"{shot}: hardly any {colour} pixels ({painted})"


def connect(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.browser_url())
    password = wait_for("Browser's connect form",
                        lambda: browser.find_elements(By.CSS_SELECTOR,
                                                      "input[data-testid=password]"))
    password[0].send_keys(server.password())
    browser.find_element(By.CSS_SELECTOR, "button[data-testid=connect]").click()


@pytest.mark.neo4j
def test_browser_opens_the_guide_with_the_style_and_shows_the_top_rings(
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    # What is missing fails here, in the test (FAILED, not a setup ERROR), before any loading.
    chromium()
    if not server.status()["running"]:
        pytest.fail("Neo4j is not running: scripts/neo4j start")
    swept: Swept = request.getfixturevalue("swept")
    assets_server: Assets = request.getfixturevalue("assets_server")
    chrome: Any = request.getfixturevalue("chrome")
    config = {r["name"]: r["value"] for r in swept.store.query("CALL dbms.clientConfig()")}
    style_url = f"{assets_server.base_url}/style.grass"
    guide_url = f"{assets_server.base_url}/guide.html"
    assert config.get("browser.post_connect_cmd") == f"style {style_url}; play {guide_url}"
    if not swept.still_there():  # another process shares this server: sweep again
        swept = sweep_into(swept.store)
    artifacts = Path(os.environ.get("FRAUDRINGS_TEST_ARTIFACTS", tmp_path / "artifacts"))

    connect(chrome)
    # After connecting, Browser runs the post-connect commands on its own: style, then guide.
    wait_for(f"the frame of :style {style_url}",
             lambda: frame_with_command(chrome, f":style {style_url}"))
    guide_frame = wait_for(f"the guide frame of :play {guide_url}",
                           lambda: frame_with_command(chrome, f":play {guide_url}"))
    wait_for("the guide's first slide, Top rings",
             lambda: "Top rings" in guide_frame.text and "1 / " in guide_frame.text)
    stored_style = chrome.execute_script("return localStorage.getItem('neo4j.grass')") or ""
    assert KIND_COLOURS["Ring"] in stored_style and "RingMember" in stored_style

    run_block(chrome, guide.TOP_RINGS_KEY, "// The ten highest-scoring rings")
    command = guide.TOP_RINGS_GRAPH
    top = swept.rings[:10]
    expected_nodes = len(top) + sum(r["size"] for r in top)

    def drawn() -> list[dict[str, str]] | None:
        frame = frame_with_command(chrome, command)
        nodes = graph_nodes(frame) if frame is not None else []
        return nodes if len(nodes) >= expected_nodes else None

    nodes = wait_for(f"{expected_nodes} nodes drawn for the top rings", drawn)
    rings = [n for n in nodes if n["fill"] == KIND_COLOURS["Ring"].upper()]
    members = [n for n in nodes if n["fill"] == RING_MEMBER_COLOUR.upper()
               and n["stroke"] == RING_MEMBER_BORDER.upper()]
    assert len(nodes) == expected_nodes, "only the top rings and their applications"
    # every Ring node of the result is one of the sweep's top rings, captioned with its id
    assert sorted(n["caption"].split()[0] for n in rings) == sorted(r["ring_id"] for r in top)
    for node in rings:
        ring = next(r for r in top if r["ring_id"] == node["caption"].split()[0])
        assert node["caption"] == f"{ring['ring_id']} {ring['size']} apps"
    assert len(members) == sum(r["size"] for r in top), "members drawn as :RingMember"
    assert {n["caption"] for n in members} <= {m for r in top for m in r["members"]}

    # A readable picture for the README: banner away, result frame full screen, zoomed to fit.
    banners = chrome.find_elements(
        By.XPATH, "//*[contains(text(),'we collect information on product usage')]"
                  "/../span[last()]")
    if banners:
        banners[0].click()
    frame = frame_with_command(chrome, command)
    frame.find_element(By.CSS_SELECTOR, "button[title=Fullscreen]").click()
    chrome.find_element(By.CSS_SELECTOR, "button[aria-label=zoom-to-fit]").click()
    time.sleep(1.5)  # the zoom animates
    shot = save_screenshot(chrome, "browser-rings.png", artifacts)
    assert_not_blank(shot, KIND_COLOURS["Ring"])
    chrome.find_element(By.CSS_SELECTOR, "button[title='Close fullscreen']").click()

    # The next slide opens the top ring with what ties it: shared identifiers in their colours.
    guide_frame = frame_with_command(chrome, f":play {guide_url}")
    guide_frame.find_element(By.CSS_SELECTOR, "[data-testid=nextSlide]").click()
    run_block(chrome, "ring", ":param [{ring_id}]")
    pick = f":param [{{ring_id}}] => {{ {guide.PICK_TOP_RING} }}"

    def picked() -> bool:
        frame = frame_with_command(chrome, pick)
        return frame is not None and swept.rings[0]["ring_id"] in frame.text

    wait_for("$ring_id set to the top ring", picked)
    run_block(chrome, "ring", "// The ring, its applications and every identifier")
    ring_command = guide.RING_GRAPH

    def ring_drawn() -> list[dict[str, str]] | None:
        frame = frame_with_command(chrome, ring_command)
        nodes = graph_nodes(frame) if frame is not None else []
        return nodes if len(nodes) > swept.rings[0]["size"] else None

    ring_nodes = wait_for("the top ring with its shared identifiers", ring_drawn)
    fills = {n["fill"] for n in ring_nodes}
    identifier_fills = {KIND_COLOURS[k].upper() for k in KIND_COLOURS
                        if k not in ("Application", "Ring", "Load")}
    assert fills & identifier_fills, "shared identifiers drawn in their kind's colour"
    assert sum(1 for n in ring_nodes if n["fill"] == KIND_COLOURS["Ring"].upper()) == 1
    shot = save_screenshot(chrome, "browser-ring.png", artifacts)
    assert_not_blank(shot, RING_MEMBER_BORDER)
