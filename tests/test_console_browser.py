"""The console in a real browser (headless Chromium via Selenium) against a real werkzeug server
on 127.0.0.1: log in, list, open a post, mark it handled with a note, see the change — and a
hostile post renders as text, never as markup or script.

Needs Debian's ``chromium`` and ``chromium-driver``: run ``scripts/install-browser.sh``. The test
fails (it does not skip) when they are missing, so CI cannot pass without it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from yuqing.console import create_app
from yuqing.console.users import set_user
from yuqing.review import history
from yuqing.store.db import session_scope
from yuqing.store.models import Post

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "correct horse battery"
SCREENSHOT = Path("/tmp/yuqing-console-post.png")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
    "--lang=zh-CN",
]


@pytest.fixture
def base_url(make_settings, db_url: str) -> Iterator[str]:
    """The console on a real werkzeug server in a thread, on a free port of 127.0.0.1."""
    with session_scope(db_url) as session:
        set_user(session, "zhangsan", PASSWORD)
    app = create_app(
        make_settings(), environ={"YUQING_CONSOLE_SECRET": "browser-test-key-0123456789"}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: run scripts/install-browser.sh", pytrace=False
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def add_post(db_url: str, n: int, title: str, content: str) -> int:
    with session_scope(db_url) as session:
        post = Post(
            url=f"http://forum.test/t/{n}",
            source="forum",
            title=title,
            content=content,
            published_at=datetime(2026, 11, 20, 2, n),
            label="negative",
            score=0.08,
            analyzed_at=datetime(2026, 11, 20, 3, 0),
            severity="red",
            categories=["collection", "fees"],
            matched_terms=["中鼎经纬"],
            deciding_sentence="中鼎经纬的催收人员爆了我的通讯录。",
        )
        session.add(post)
        session.flush()
        return post.id


def test_review_a_post_in_a_real_browser(
    base_url: str, browser: webdriver.Chrome, db_url: str
) -> None:
    calm = add_post(
        db_url,
        1,
        "中鼎经纬暴力催收，爆通讯录",
        "我在中鼎经纬借款，逾期三天就被催收爆了通讯录。\n\n已向12378投诉。",
    )
    hostile = add_post(
        db_url,
        2,
        "<script>window.__xss='title'</script>中鼎经纬",
        "中鼎经纬 <img src=x onerror=\"window.__xss='img'\"> <script>window.__xss='body'</script>",
    )
    wait = WebDriverWait(browser, 15)

    browser.get(f"{base_url}/posts/{calm}")  # what an alert links to: login first, then back
    wait.until(ec.presence_of_element_located((By.ID, "username")))
    browser.find_element(By.ID, "username").send_keys("zhangsan")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait.until(ec.url_to_be(f"{base_url}/posts/{calm}"))

    browser.get(f"{base_url}/posts")
    link = wait.until(ec.element_to_be_clickable((By.LINK_TEXT, "中鼎经纬暴力催收，爆通讯录")))
    link.click()
    wait.until(ec.url_to_be(f"{base_url}/posts/{calm}"))
    assert "待处理" in browser.find_element(By.ID, "status").text

    browser.find_element(By.ID, "note").send_keys("已致电客户，停止第三方催收")
    browser.find_element(By.ID, "mark-handled").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "已处理"))
    history_text = browser.find_element(By.ID, "history").text
    assert "zhangsan" in history_text and "已致电客户，停止第三方催收" in history_text
    browser.save_screenshot(str(SCREENSHOT))
    with session_scope(db_url) as session:
        events = history(session, calm)
        assert [(e.by, e.to_status, e.note) for e in events] == [
            ("zhangsan", "handled", "已致电客户，停止第三方催收")
        ]

    for path in (f"/posts/{hostile}", "/posts"):
        browser.get(base_url + path)
        wait.until(ec.presence_of_element_located((By.TAG_NAME, "main")))
        assert browser.execute_script("return typeof window.__xss") == "undefined"
        assert browser.find_elements(By.CSS_SELECTOR, "main script, main img") == []
        # shown to the reviewer as the literal text it is
        assert (
            "<script>window.__xss='title'</script>"
            in browser.find_element(By.TAG_NAME, "main").text
        )
