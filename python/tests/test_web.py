"""The web interface (`chaosops serve`'s /web) driven in a real headless Chromium through
its WebDriver: a deep link plays an oracle episode to `chaosops run`'s reward, a person
plays a fix through the controls and shares it, a bad pasted line is explained, an
unreachable server is said so, and the browser console stays free of errors.

Chromium and ChromeDriver come from the distribution's packages (`chromium`,
`chromium-driver`), which `.ci/run` installs; $CHAOSOPS_CHROMIUM and $CHAOSOPS_CHROMEDRIVER
point elsewhere. With $CHAOSOPS_WEB_SCREENSHOT set, the deep-link test saves its screenshot
there (the README's picture is made so).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, List
from urllib.parse import parse_qs, urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import free_port

CHROMIUM = os.environ.get("CHAOSOPS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHAOSOPS_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), (
            f"{path} is missing: install Debian's chromium and chromium-driver "
            "(.ci/run does), or set $CHAOSOPS_CHROMIUM and $CHAOSOPS_CHROMEDRIVER"
        )
    profile = tempfile.mkdtemp(prefix="chaosops-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,720",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def browser(chromium: WebDriver) -> WebDriver:
    """The module's browser, its console emptied of what earlier tests left there."""
    chromium.get("about:blank")
    chromium.get_log("browser")
    return chromium


def console_errors(driver: WebDriver) -> List[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(driver: WebDriver, css: str, condition, timeout: float = 60):
    """Waits until `condition(element)` holds for the element at `css`; returns it."""

    def check(d: WebDriver):
        el = d.find_element(By.CSS_SELECTOR, css)
        return el if condition(el) else False

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(check)


def finished(driver: WebDriver) -> str:
    result = wait_for(
        driver, "#result", lambda el: el.get_attribute("class") in ("resolved", "unresolved")
    )
    return result.text


def run_reward(chaosops_bin: Path, *args: str) -> str:
    out = subprocess.run(
        [str(chaosops_bin), "run", *args], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"cumulative reward (-?\d+\.\d\d)", out)
    assert match, out
    return match.group(1)


def test_a_deep_link_plays_the_episode_chaosops_run_plays(
    browser: WebDriver, server: str, chaosops_bin: Path
) -> None:
    browser.get(f"{server}/")
    assert urlparse(browser.current_url).path == "/web", "/ redirects to /web"
    browser.get(
        f"{server}/web?failure=db_deadlock&difficulty=hard&seed=3&policy=oracle&autoplay=1"
    )
    text = finished(browser)
    expected = run_reward(
        chaosops_bin, "--failure", "db_deadlock", "--difficulty", "hard", "--seed", "3",
        "--policy", "oracle",
    )
    assert browser.find_element(By.ID, "cumulative").text == expected
    assert f"cumulative reward {expected}" in text and text.startswith("Resolved")
    rows = browser.find_elements(By.CSS_SELECTOR, "#turns tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == ["sre", "oversight", "dev"]
    assert "restart db" in rows[2].text and "resolved bonus 100.00" in rows[2].text
    # Hard adds decoys: the spectator view marks them.
    assert browser.find_elements(By.CSS_SELECTOR, "#logs li.decoy")
    assert "healthy" in browser.find_element(By.ID, "fleet").text
    # The menus hold every registered failure type.
    listed = json.loads(
        subprocess.run([str(chaosops_bin), "list", "--json"], capture_output=True, text=True,
                       check=True).stdout
    )
    offered = [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "failure")).options]
    # ...then the expert tier's compound incidents (both at once).
    assert offered[: len(listed)] == [f["id"] for f in listed]
    assert "db_deadlock+misrouted_traffic" in offered[len(listed):]
    assert all("+" in c for c in offered[len(listed):])
    shot = os.environ.get("CHAOSOPS_WEB_SCREENSHOT")
    if shot:
        browser.save_screenshot(shot)
    # A narrow window: the page reflows instead of running off the side.
    browser.set_window_size(420, 900)
    try:
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"the page is {overflow} px wider than a 420 px window"
        if shot:
            browser.save_screenshot(str(Path(shot).with_name("web-narrow.png")))
    finally:
        browser.set_window_size(1280, 720)
    assert console_errors(browser) == []



def test_a_compound_incident_plays_to_chaosops_runs_reward_and_counts_its_parts(
    browser: WebDriver, server: str, chaosops_bin: Path
) -> None:
    browser.get(
        f"{server}/web?failure=db_deadlock%2Bmemory_leak&difficulty=expert&seed=0&policy=oracle&autoplay=1"
    )
    text = finished(browser)
    expected = run_reward(
        chaosops_bin, "--failure", "db_deadlock+memory_leak", "--difficulty", "expert",
        "--seed", "0", "--policy", "oracle",
    )
    assert f"cumulative reward {expected}" in text and text.startswith("Resolved after 7 steps"), text
    assert text.endswith("incidents fixed 2 of 2"), text
    assert console_errors(browser) == []


def test_a_person_plays_a_fix_through_the_controls_and_the_link_replays_it(
    browser: WebDriver, server: str, chaosops_bin: Path
) -> None:
    browser.get(f"{server}/web?failure=db_deadlock&seed=0&policy=noop&seat=sre&autoplay=1")
    wait_for(browser, "#play", lambda el: el.is_displayed())
    assert browser.find_element(By.ID, "play-role").get_attribute("textContent") == "sre"
    legal = [o.text for o in Select(browser.find_element(By.ID, "legal")).options]
    assert "restart db" in legal and "resolve" not in legal, legal
    # Typed input gets `chaosops play`'s explanations.
    command = browser.find_element(By.ID, "command")
    command.send_keys("restart mainframe\n")
    wait_for(browser, "#play-error", lambda el: 'unknown service "mainframe"' in el.text)
    command.clear()
    # A wrong fix first, from the menu, then the right one, typed.
    Select(browser.find_element(By.ID, "legal")).select_by_visible_text("restart auth")
    browser.find_element(By.ID, "act").click()
    wait_for(browser, "#turns tbody", lambda el: "restart auth" in el.text)
    wait_for(browser, "#play", lambda el: el.is_displayed() and browser.find_element(By.ID, "play-error").text == "")
    Select(browser.find_element(By.ID, "legal")).select_by_visible_text("restart db")
    browser.find_element(By.ID, "act").click()
    played = finished(browser)
    assert played.startswith("Resolved"), played
    reward = browser.find_element(By.ID, "cumulative").text
    # The downloaded transcript is a `chaosops replay` line of the same episode.
    downloads = Path(tempfile.mkdtemp(prefix="chaosops-downloads-"))
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    browser.find_element(By.ID, "download").click()
    saved = downloads / "chaosops-transcript.json"
    WebDriverWait(browser, 30, poll_frequency=0.05).until(lambda _: saved.exists())
    line = saved.read_text().strip()
    shutil.rmtree(downloads, ignore_errors=True)
    replayed = subprocess.run(
        [str(chaosops_bin), "replay"], input=line + "\n", capture_output=True, text=True,
        check=False,
    )
    final = json.loads(replayed.stdout.splitlines()[0])["final_state"]
    assert f"{final['cumulative_reward']:.2f}" == reward and final["resolved"]
    browser.find_element(By.ID, "copy-link").click()
    link = browser.current_url
    query = parse_qs(urlparse(link).query)
    moves = json.loads(query["moves"][0])
    assert [(m["action_type"], m.get("target")) for m in moves] == [
        ("restart", "auth"),
        ("restart", "db"),
    ]
    assert query["seat"] == ["sre"] and query["autoplay"] == ["1"]
    browser.get("about:blank")
    browser.get(link)
    assert finished(browser) == played
    assert browser.find_element(By.ID, "cumulative").text == reward
    assert console_errors(browser) == []


def test_a_pasted_line_replays_and_a_bad_one_is_explained(
    browser: WebDriver, server: str, chaosops_bin: Path
) -> None:
    browser.get(f"{server}/web")
    wait_for(browser, "#status", lambda el: el.text.startswith("connected"))
    paste = browser.find_element(By.ID, "paste")
    for bad, said in [
        ("restart the database please", "this is not JSON"),
        ('{"actions": []}', 'no "scenario" object'),
        (
            '{"scenario": {"failure_type": "db_deadlock"}, "actions": [{"action_type": "reboot"}]}',
            "action 1 was refused",
        ),
        ('{"scenario": {"failure_type": "no_such_failure"}, "actions": []}', "no_such_failure"),
    ]:
        paste.clear()
        paste.send_keys(bad)
        browser.find_element(By.ID, "replay").click()
        wait_for(browser, "#paste-error", lambda el, said=said: said in el.text)
    line = {
        "scenario": {"failure_type": "memory_leak", "seed": 4, "difficulty": "medium"},
        "actions": [
            {"action_type": "noop"},
            {"action_type": "noop"},
            {"action_type": "identify_root_cause", "args": {"failure_type": "memory_leak"}},
            {"action_type": "noop"},
            {"action_type": "restart", "target": "payments"},
        ],
    }
    paste.clear()
    paste.send_keys(json.dumps(line))
    browser.find_element(By.ID, "replay").click()
    wait_for(browser, "#turns tbody", lambda el: len(el.find_elements(By.TAG_NAME, "tr")) == 5)
    replayed = subprocess.run(
        [str(chaosops_bin), "replay"], input=json.dumps(line) + "\n", capture_output=True,
        text=True, check=False,
    )
    final = json.loads(replayed.stdout.splitlines()[0])["final_state"]
    assert browser.find_element(By.ID, "cumulative").text == f"{final['cumulative_reward']:.2f}"
    assert browser.find_element(By.ID, "paste-error").text == ""
    assert console_errors(browser) == []


def test_the_page_says_when_the_server_is_gone(browser: WebDriver, chaosops_bin: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(chaosops_bin), "serve", "--port", str(port), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/web"
        for _ in range(100):
            browser.get(url)
            if browser.find_elements(By.CSS_SELECTOR, "#failure option"):
                break
        wait_for(browser, "#status", lambda el: el.text.startswith("connected"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    error = wait_for(browser, "#error", lambda el: el.is_displayed())
    assert "closed" in error.text, error.text
    browser.find_element(By.ID, "run").click()
    wait_for(browser, "#error", lambda el: "unreachable" in el.text)


def test_keys_run_pause_and_step(browser: WebDriver, server: str) -> None:
    browser.get(f"{server}/web?failure=misrouted_traffic&difficulty=medium&seed=1&policy=noop")
    wait_for(browser, "#status", lambda el: el.text.startswith("connected"))
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("r")
    rows = "#turns tbody"
    wait_for(browser, rows, lambda el: len(el.find_elements(By.TAG_NAME, "tr")) >= 1)
    body.send_keys(" ")
    wait_for(browser, "#pause", lambda el: el.text == "Resume")
    count = len(browser.find_elements(By.CSS_SELECTOR, "#turns tbody tr"))
    body.send_keys("n")
    wait_for(browser, rows, lambda el: len(el.find_elements(By.TAG_NAME, "tr")) == count + 1)
    assert browser.find_element(By.ID, "pause").text == "Resume", "a step leaves the run paused"
    body.send_keys(" ")
    finished(browser)
    # Runs started while a turn is in flight take over cleanly.
    body.send_keys("r")
    wait_for(browser, rows, lambda el: len(el.find_elements(By.TAG_NAME, "tr")) >= 1)
    body.send_keys("r")
    body.send_keys("r")
    assert finished(browser).startswith("Not resolved after 20 steps")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#turns tbody tr")) == 20
    assert not browser.find_element(By.ID, "error").is_displayed()
    assert console_errors(browser) == []
