"""The web UI end to end in Debian's Chromium (Playwright drives /usr/bin/chromium), against
the real `orgo api` and `orgo worker` processes on PostgreSQL, Redis and RabbitMQ, the API
serving the UI built from this checkout (ORGO_WEB_DIR), as `make run` does.

Each test has a browser context of its own (its own storage: a new tab on a new machine).
Every page checked is scanned by axe-core (web/node_modules/axe-core) for serious and critical
violations, and photographed into SCREENSHOTS. The Content-Security-Policy is enforced
throughout (no bypass): a violation, like any uncaught error in the page, fails the test.

Token expiry without waiting for it: the test signs an expired access token with the
deployment's own JWT secret and puts it on the requests of the token the UI holds, so the
API answers 401 exactly as it does after the lifetime has passed."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import Request as BrowserRequest

from tests.harness.deployment import Deployment, deploy
from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer
from tests.harness.web import REFRESH_TOKEN_KEY, REPO, WEB, build_ui, chromium_launch_options

SCREENSHOTS = REPO / "build" / "web-e2e"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The worker records activity and notifications within a second or two; a loaded machine
# may need more. A wait, not a timed assertion: it ends as soon as the entry shows.
WORKER_WAIT_MS = 60_000
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="module")
def deployment(
    postgres: PostgresServer,
    redis_server: RedisServer,
    rabbitmq: RabbitmqServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    ui = build_ui(tmp_path_factory.mktemp("web-dist"))
    running = deploy(postgres, redis_server, rabbitmq, ORGO_WEB_DIR=str(ui))
    yield running
    running.stop()


@pytest.fixture(scope="module", autouse=True)
def screenshots() -> Path:
    """This run's screenshots only (build/web-e2e/, kept after the run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield launch(playwright)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(**chromium_launch_options())


class PageProblems:
    """What went wrong inside a page: uncaught errors and Content-Security-Policy refusals."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        page.on("pageerror", lambda error: self.found.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda message: (
                self.found.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    problems = PageProblems(page)
    yield page
    assert problems.found == [], problems.found


def accessible(page: Page, name: str) -> None:
    """No serious or critical axe-core violation on the page as it is now; a screenshot."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's own protocol, which the page's CSP does not govern.
        page.evaluate(AXE.read_text())
    results: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
    )
    blocking = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert blocking == [], f"{name}: {blocking}"


def log_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()


def create_task(page: Page, title: str) -> None:
    page.get_by_text("New task", exact=True).click()
    page.locator("#new-title").fill(title)
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name=title, level=2)).to_be_visible()


def activity(page: Page) -> Any:
    return page.get_by_role("list", name="Activity")


def api_user(deployment: Deployment) -> dict[str, Any]:
    return deployment.create_user()


def stored_refresh_token(page: Page) -> str:
    token: str = page.evaluate(f"() => localStorage.getItem({json.dumps(REFRESH_TOKEN_KEY)})")
    return token


def refresh_status(deployment: Deployment, refresh_token: str) -> int:
    return httpx.post(
        f"{deployment.api.url}/api/v1/auth/refresh",
        json={"refresh_token": refresh_token},
        timeout=10,
    ).status_code


def test_login_create_a_task_and_see_the_workers_activity_and_notification(
    deployment: Deployment, page: Page
) -> None:
    page.goto(deployment.api.url + "/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    accessible(page, "login")
    log_in(page, deployment.api.url, deployment.admin_email, deployment.admin_password)

    create_task(page, "Write the release notes")
    expect(activity(page).get_by_text("Created")).to_be_visible(timeout=WORKER_WAIT_MS)
    create_task(page, "Rotate the database credentials")
    create_task(page, "Review the on-call runbook")
    expect(activity(page).get_by_text("Created")).to_be_visible(timeout=WORKER_WAIT_MS)
    accessible(page, "tasks")

    # A colleague gives the admin a task: the worker's notification appears without a reload
    # (nobody is notified of their own actions).
    colleague = api_user(deployment)
    me = httpx.get(
        f"{deployment.api.url}/api/v1/users/me", headers=deployment.headers(), timeout=10
    ).json()
    httpx.post(
        f"{deployment.api.url}/api/v1/tasks",
        json={"title": "Approve the budget", "assignee_id": me["id"]},
        headers=deployment.headers(colleague["email"], colleague["password"]),
        timeout=10,
    ).raise_for_status()
    notifications = page.get_by_role("link", name="Notifications (1)")
    expect(notifications).to_be_visible(timeout=WORKER_WAIT_MS)
    notifications.click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="New task: Approve the budget")).to_be_visible()
    accessible(page, "notifications")


def test_status_moves_offered_and_a_refused_move_explained(
    deployment: Deployment, page: Page
) -> None:
    log_in(page, deployment.api.url, deployment.admin_email, deployment.admin_password)
    create_task(page, "Migrate the wiki")
    moves = page.get_by_role("group", name="Change status")
    expect(moves.get_by_role("button")).to_have_text(["Move to In progress", "Move to Cancelled"])

    moves.get_by_role("button", name="Move to In progress").click()
    expect(moves.get_by_role("button")).to_have_text(
        ["Move to To do", "Move to Done", "Move to Cancelled"]
    )
    expect(activity(page).get_by_text("Updated status: To do → In progress")).to_be_visible(
        timeout=WORKER_WAIT_MS
    )

    # Someone else finishes the task meanwhile: the move this page still offers is refused.
    task = httpx.get(
        f"{deployment.api.url}/api/v1/tasks",
        params={"limit": 1},
        headers=deployment.headers(),
        timeout=10,
    ).json()["items"][0]
    assert task["title"] == "Migrate the wiki"
    done = httpx.patch(
        f"{deployment.api.url}/api/v1/tasks/{task['id']}",
        json={"status": "done"},
        headers=deployment.headers(),
        timeout=10,
    )
    assert done.status_code == 200, done.text
    moves.get_by_role("button", name="Move to To do").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Cannot move a task from done to todo; allowed from done: in_progress"
    )
    accessible(page, "refused-move")


def test_an_expired_access_token_is_refreshed_once_for_concurrent_requests(
    deployment: Deployment, page: Page
) -> None:
    # An admin's task page asks for the tasks and for the users (the assignees) at once.
    api_user(deployment)
    log_in(page, deployment.api.url, deployment.admin_email, deployment.admin_password)
    held = _token_of_next_request(page)
    expired = _expired_copy(held, deployment.env["ORGO_JWT_SECRET"])
    refreshes: list[BrowserRequest] = []
    refused: list[str] = []
    page.on("request", lambda r: refreshes.append(r) if r.url.endswith("/auth/refresh") else None)
    page.on(
        "response",
        lambda r: refused.append(r.url) if r.status == 401 and "/api/v1/" in r.url else None,
    )

    def as_expired(route: Route) -> None:
        # Only the token the page held: what it sends after its refresh goes through as is.
        headers = route.request.all_headers()
        if headers.get("authorization") == f"Bearer {held}":
            headers = {**headers, "authorization": f"Bearer {expired}"}
        route.continue_(headers=headers)

    page.route("**/api/v1/**", as_expired)
    # Account, then Tasks: the task list, the user's notifications and the shell's polls ask
    # at once, each with the expired token.
    page.get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Tasks").click()
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()
    # Both answered: the tasks, and the users the assignee filter offers.
    expect(page.get_by_label("Assignee").last).to_contain_text("@example.com")

    assert len(refused) >= 2, refused
    assert len(refreshes) == 1, [r.url for r in refreshes]
    assert stored_refresh_token(page) is not None


def _token_of_next_request(page: Page) -> str:
    """The access token the page sends with its next API request (its poll, or a reload's)."""
    with page.expect_request(
        lambda r: "/api/v1/" in r.url and "authorization" in r.headers
    ) as request:
        page.get_by_role("link", name="Notifications").click()
    header: str = request.value.headers["authorization"]
    return header.removeprefix("Bearer ")


def _expired_copy(token: str, secret: str) -> str:
    """The same claims, signed with the same key, expired a minute ago."""
    claims = jwt.decode(token, options={"verify_signature": False})
    past = datetime.now(UTC) - timedelta(minutes=16)
    claims.update(iat=past, nbf=past, exp=past + timedelta(minutes=15))
    return jwt.encode(claims, secret, algorithm="HS256")


def test_a_reused_refresh_token_ends_the_session(deployment: Deployment, page: Page) -> None:
    user = api_user(deployment)
    log_in(page, deployment.api.url, user["email"], user["password"])
    stolen = stored_refresh_token(page)
    # A thief rotates the stolen token first; the page's next refresh presents it again.
    thief = httpx.post(
        f"{deployment.api.url}/api/v1/auth/refresh", json={"refresh_token": stolen}, timeout=10
    )
    assert thief.status_code == 200
    page.reload()
    expect(page.get_by_role("status")).to_have_text("Your session has ended. Log in again.")
    assert stored_refresh_token(page) is None
    # The reuse revoked the whole login: the thief's rotated token is refused as well.
    assert refresh_status(deployment, thief.json()["refresh_token"]) == 401


def test_logout_revokes_the_session(deployment: Deployment, page: Page) -> None:
    user = api_user(deployment)
    log_in(page, deployment.api.url, user["email"], user["password"])
    token = stored_refresh_token(page)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You have logged out.")
    assert stored_refresh_token(page) is None
    assert refresh_status(deployment, token) == 401
    page.goto(deployment.api.url + "/tasks")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_admin_creates_and_deactivates_a_user(deployment: Deployment, page: Page) -> None:
    log_in(page, deployment.api.url, deployment.admin_email, deployment.admin_password)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    email = f"carol-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(16)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label(re.compile("Initial password")).fill(password)
    page.get_by_role("button", name="Create user").click()
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Active")
    accessible(page, "users")

    page.get_by_role("button", name=f"Deactivate {email}").click()
    expect(row).to_contain_text("Deactivated")
    assert (
        httpx.post(
            f"{deployment.api.url}/api/v1/auth/token",
            data={"username": email, "password": password},
            timeout=10,
        ).status_code
        == 401
    )
    # A refused field is named in words, and the password typed is not shown back.
    page.get_by_label("E-mail").fill(email)
    page.get_by_label(re.compile("Initial password")).fill("too-short")
    page.evaluate("() => document.querySelector('form').noValidate = true")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("alert")).to_contain_text("Password: String should have at least")
    expect(page.get_by_text("too-short")).to_have_count(0)


def test_changing_the_password_ends_the_session(deployment: Deployment, page: Page) -> None:
    user = api_user(deployment)
    log_in(page, deployment.api.url, user["email"], user["password"])
    page.get_by_role("link", name="Account").click()
    new_password = secrets.token_urlsafe(16)
    page.get_by_label("Current password").fill("not-the-password")
    page.get_by_label(re.compile("New password")).fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The current password is incorrect")
    accessible(page, "account")

    page.get_by_label("Current password").fill(user["password"])
    page.get_by_label(re.compile("New password")).fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your password was changed. Log in with the new one."
    )
    log_in(page, deployment.api.url, user["email"], new_password)


def test_the_task_list_fits_a_phone(deployment: Deployment, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = PageProblems(page)
    httpx.post(
        f"{deployment.api.url}/api/v1/tasks",
        json={"title": "Check the phone layout of a rather long task title, which wraps"},
        headers=deployment.headers(),
        timeout=10,
    ).raise_for_status()
    log_in(page, deployment.api.url, deployment.admin_email, deployment.admin_password)
    expect(page.get_by_role("list", name="Tasks")).to_be_visible()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
    accessible(page, "tasks-phone")
    context.close()
    assert problems.found == []
