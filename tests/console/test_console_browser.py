"""The console in a real browser against a served demo consortium: an officer of the Hangzhou
return centre finds a case and reads its timeline, then records a parcel's arrival from the
queue; a Zhengzhou officer recognises an inspection result; an auditor at Ningbo opens the
report with its card, charts and anomalies.

Drives Debian's chromium (`make browser` installs it) with Playwright; it never downloads a
browser. Set CONSOLE_SCREENSHOT_DIR to keep the auditor report's screenshot there too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from node_gateway.run.demo import run_story
from node_gateway.run.local_consortium import Consortium, free_base_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RECOGNITION = {"3100": "automatic", "4600": "officer", "2900": "officer"}
CENTRE, ORIGIN = "2900", "3100"
OFFICER_NO = "2900-00017"
TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    """The demo story (a few returns in every state), served on loopback with workers on."""
    c = Consortium.open(
        tmp_path_factory.mktemp("consortium"), base_port=free_base_port(), recognition=RECOGNITION
    )
    try:
        run_story(c, records_per_origin=12, returns_per_stage=2, auto_returns=3)
        c.serve()
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Debian's chromium, headless, with a fresh profile; fails (not skips) when missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 900},
            service_workers="block",
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A new tab (its own sessionStorage); fails the test on any script error or CSP refusal."""
    tab = browser.new_page()
    errors: list[str] = []

    def refused(msg: ConsoleMessage) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            errors.append(msg.text)

    tab.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    tab.on("console", refused)
    yield tab
    tab.close()
    assert not errors, errors


def url(c: Consortium, code: str) -> str:
    return f"http://127.0.0.1:{c.gateways[code].settings.port}"


def api(c: Consortium, code: str, role: str, path: str) -> Any:
    """The gateway's answer to `path` for `role` (what the page should be showing)."""
    headers = {"Authorization": f"Bearer {c.credentials[code][role]}"}
    r = httpx.get(url(c, code) + path, headers=headers, timeout=10)
    r.raise_for_status()
    return r.json()


def sign_in(page: Page, c: Consortium, code: str, role: str) -> None:
    page.goto(f"{url(c, code)}/console")
    expect(page.get_by_test_id("gateway")).to_contain_text(f"Gateway {code}")
    page.get_by_label("API key").fill(c.credentials[code][role])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who-text")).to_have_text(re.compile(rf"· {role}$"))


def test_sign_in_with_a_wrong_key_shows_the_problem(page: Page, consortium: Consortium) -> None:
    page.goto(f"{url(consortium, CENTRE)}/console")
    page.get_by_label("API key").fill("cr_0000000000000000_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("problem-code")).to_have_text("unauthenticated")
    expect(page.get_by_test_id("problem-title")).to_have_text("Unauthenticated")
    assert page.evaluate("() => sessionStorage.length") == 0
    expect(page.get_by_test_id("who")).to_be_hidden()


def test_officer_finds_a_case_and_reads_its_timeline(page: Page, consortium: Consortium) -> None:
    settled = api(consortium, CENTRE, "officer", "/v1/returns?state=settled")["items"][0]
    trail = api(consortium, CENTRE, "officer", f"/v1/cases/{settled['caseId']}/trail")
    sign_in(page, consortium, CENTRE, "officer")
    page.get_by_test_id("tab-cases").click()
    page.get_by_test_id("search-input").fill(settled["caseId"])
    page.get_by_test_id("search-submit").click()

    expect(page.get_by_test_id("case-id")).to_have_text(settled["caseId"])
    steps = page.get_by_test_id("timeline-step")
    expected = trail.get("timeline") or trail["steps"]
    expect(steps).to_have_count(len(expected))
    events = [steps.nth(i).get_attribute("data-event") for i in range(steps.count())]
    assert {"CaseOpened", "ReturnApplied", "ArrivalRecorded", "LinesSettled"} <= set(events)
    hashes = page.get_by_test_id("step-tx")
    assert [hashes.nth(i).get_attribute("data-full") for i in range(hashes.count())] == [
        step["txHash"] for step in expected
    ]
    assert all(TX_HASH.match(step["txHash"]) for step in expected)
    # Each step's verification as the gateway reports it; "—" where it reports none.
    badges = page.get_by_test_id("step-verification")
    shown = [badges.nth(i).get_attribute("data-status") for i in range(badges.count())]
    assert shown == [(step.get("verification") or {}).get("status", "") for step in expected]
    for i, status in enumerate(shown):
        if not status:
            expect(badges.nth(i)).to_have_text("—")


def test_officer_records_an_arrival_from_the_queue(page: Page, consortium: Consortium) -> None:
    sign_in(page, consortium, CENTRE, "officer")
    applied = page.get_by_test_id("queue-count-applied")
    expect(applied).to_have_text(re.compile(r"^[1-9]"))
    before = int(applied.inner_text())
    page.get_by_test_id("queue-applied").click()
    row = page.get_by_test_id("queue-row").first
    return_id = row.get_attribute("data-return-id")
    assert return_id and row.get_attribute("data-state") == "applied"

    row.get_by_test_id("action-arrival").click()
    form = page.get_by_test_id("action-form")
    expect(form.get_by_test_id("field-logistics")).not_to_have_value("")
    form.get_by_test_id("field-officer").fill(OFFICER_NO)
    form.get_by_test_id("action-submit").click()

    expect(page.get_by_test_id("operation-status")).to_have_text("confirmed", timeout=WAIT_MS)
    expect(page.get_by_test_id("operation-tx")).to_have_attribute("data-full", TX_HASH)
    expect(page.get_by_test_id("return-state")).to_have_text("arrived", timeout=WAIT_MS)
    expect(applied).to_have_text(str(before - 1))
    view = api(consortium, CENTRE, "officer", f"/v1/returns/{return_id}")
    assert view["ledger"]["state"] == "arrived"
    arrival = next(d for d in view["documents"] if d["docType"] == "arrival")
    officer = next(f for f in arrival["document"]["revealed"] if f["path"] == "/officer")
    assert officer["value"] == OFFICER_NO


def test_origin_officer_recognises_an_inspected_return(page: Page, consortium: Consortium) -> None:
    sign_in(page, consortium, "4600", "officer")  # Zhengzhou decides by officer
    page.get_by_test_id("queue-inspected").click()
    row = page.get_by_test_id("queue-row").first
    return_id = row.get_attribute("data-return-id")
    row.get_by_test_id("action-recognition").click()
    page.get_by_test_id("action-form").get_by_test_id("field-officer").fill("4600-00003")
    page.get_by_test_id("action-submit").click()

    expect(page.get_by_test_id("return-state")).to_have_text("recognized", timeout=WAIT_MS)
    view = api(consortium, "4600", "officer", f"/v1/returns/{return_id}")
    decision = next(d for d in view["documents"] if d["docType"] == "recognition")
    fields = {f["path"]: f["value"] for f in decision["document"]["revealed"]}
    assert (fields["/decision"], fields["/mode"], fields["/officer"]) == (
        "recognized",
        "officer",
        "4600-00003",
    )


def test_auditor_opens_the_report_with_card_charts_and_anomalies(
    page: Page, consortium: Consortium, tmp_path: Path
) -> None:
    sign_in(page, consortium, ORIGIN, "auditor")
    expect(page.get_by_test_id("view-report")).to_be_visible()  # the auditor's first view
    card = page.get_by_test_id("report-card")
    expect(card).to_be_visible(timeout=WAIT_MS)
    assert int(page.get_by_test_id("card-returns").inner_text()) > 0
    for chart in ("chart-volume", "chart-value", "chart-settlement"):
        figure = page.get_by_test_id(chart)
        expect(figure.locator("svg[role=img]")).to_have_count(1)
        heights = figure.locator("rect.bar").evaluate_all(
            "bars => bars.map(b => Number(b.getAttribute('height')))"
        )
        assert heights and max(heights) > 0, chart
    expect(page.get_by_test_id("totals-row").first).to_be_visible()
    expect(page.get_by_test_id("anomaly").first).to_be_visible()
    assert page.evaluate("() => [sessionStorage.length, localStorage.length]") == [1, 0]

    shot = tmp_path / "console-auditor-report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("CONSOLE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / shot.name)

    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin-form")).to_be_visible()
    expect(page.get_by_test_id("report")).to_be_empty()
    assert page.evaluate("() => sessionStorage.length") == 0
