"""The shipped presets (config/presets/*.yaml), crawled through real Scrapy against local
fixtures that imitate each platform's real markup: Tieba, Discuz! (GBK), a news article with no
selectors, and a 黑猫投诉-style JSON API with detail pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.crawler.sitekit import HERE, REPO, Site, crawl, posts, write_config
from werkzeug.wrappers import Request, Response

PRESETS = REPO / "config" / "presets"
FIXTURES = HERE / "presets"
ORIGINS = (
    "https://tieba.baidu.com",
    "https://bbs.example.com",
    "https://news.example.com",
    "https://tousu.sina.com.cn",
)


NEW_FLOOR = (
    '<div id="post_67893"><table id="pid67893" class="plhin"><tr><td class="pls"><div class="authi">'
    '<a href="space-uid-104.html" class="xw1">后来者</a></div></td><td class="plc"><div class="pi"><strong>'
    '<a href="#" id="postnum67893"><em>4</em><sup>#</sup></a></strong><div class="pti"><div class="authi">'
    '<em id="authorposton67893">发表于 2026-11-28 11:00</em></div></div></div><div class="pct"><div class="pcb">'
    '<div class="t_fsz"><table><tr><td class="t_f" id="postmessage_67893">中鼎经纬今天把服务费退给我了'
    "</td></tr></table></div></div></div></td></tr></table></div>"
)


def _fixture(name: str, site: Site) -> str:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for origin in ORIGINS:
        text = text.replace("//" + origin.split("//", 1)[1], f"//127.0.0.1:{site.port}")
    return text


def preset_sources(name: str, site: Site) -> list[dict[str, Any]]:
    """A preset's sources pointed at the local site (the only edit a test makes)."""
    raw = yaml.safe_load((PRESETS / name).read_text(encoding="utf-8"))
    sources = []
    for source in raw["sources"]:
        for key in ("url", "url_template"):
            if key in source:
                for origin in ORIGINS:
                    source[key] = source[key].replace(origin, site.base)
        source.update(allow_private=True, delay=0, obey_robots=True)
        sources.append(source)
    return sources


def _html(text: str, charset: str = "utf-8") -> Response:
    return Response(text.encode(charset), headers={"Content-Type": "text/html"})


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    site = Site()

    def tieba_list(request: Request) -> Response:
        return _html(
            _fixture("tieba_list_p2.html" if request.args.get("pn") else "tieba_list.html", site)
        )

    def tieba_thread(request: Request) -> Response:
        tid = request.path.rsplit("/", 1)[1]
        name = {
            "8123456789": "tieba_thread_p2.html"
            if request.args.get("pn") == "2"
            else "tieba_thread.html",
            "8123400001": "tieba_thread_other.html",
            "8123450000": "tieba_thread_wuliu.html",
        }.get(tid)
        return _html(_fixture(name, site)) if name else Response("no", status=404)

    site.route("/f", tieba_list)
    for tid in ("8123456789", "8123400001", "8123450000"):
        site.route(f"/p/{tid}", tieba_thread)
    site.route("/f/search/res", lambda r: _html(_fixture("tieba_search.html", site)))

    forum = _fixture("discuz_forumdisplay.gbk.html", site)
    site.discuz_replied = False  # type: ignore[attr-defined]

    def board(_request: Request) -> Response:
        if site.discuz_replied:  # type: ignore[attr-defined]
            return _html(forum.replace('class="xi2">2</a>', 'class="xi2">3</a>'), "gbk")
        return _html(forum, "gbk")

    def viewthread(_request: Request) -> Response:
        page = _fixture("discuz_viewthread.gbk.html", site)
        if site.discuz_replied:  # type: ignore[attr-defined]
            page = page.replace("</div></div></body>", NEW_FLOOR + "</div></div></body>")
        return _html(page, "gbk")

    site.route("/forum-2-1.html", board)
    site.route(
        "/forum-2-2.html", lambda r: _html(forum.replace('class="nxt"', 'class="last"'), "gbk")
    )
    site.route("/thread-12345-1-1.html", viewthread)
    site.route(
        "/thread-12346-1-1.html",
        lambda r: _html(
            '<html><head><meta charset="gbk"></head><body><span id="thread_subject">本版规则</span>'
            '<div id="postlist"><div id="post_1"><td class="t_f" id="postmessage_1">请文明发言</td>'
            "</div></div></body></html>",
            "gbk",
        ),
    )

    site.route("/finance/", lambda r: _html(_fixture("news_list.html", site)))
    site.route(
        "/finance/2026-11-28/doc-ihaxyz1234.shtml",
        lambda r: _html(_fixture("news_article.html", site)),
    )
    site.route(
        "/finance/2026-11-27/doc-ihaxyz9999.shtml",
        lambda r: _html(_fixture("news_article_other.html", site)),
    )

    def api(request: Request) -> Response:
        page = request.args.get("page", "1")
        name = {"1": "heimao_api_p1.json", "2": "heimao_api_p2.json"}.get(page)
        body = _fixture(name, site) if name else '{"result": {"data": {"complaints": []}}}'
        return Response(body, headers={"Content-Type": "application/json;charset=UTF-8"})

    complaints = {
        c["main"]["sn"]: c["main"]
        for n in ("heimao_api_p1.json", "heimao_api_p2.json")
        for c in json.loads((FIXTURES / n).read_text())["result"]["data"]["complaints"]
    }

    def detail(request: Request) -> Response:
        main = complaints[request.path.strip("/").rsplit("/", 1)[1]]
        status = "处理中" if main["status"] == 4 else "已完成"
        text = (FIXTURES / "heimao_detail.html").read_text(encoding="utf-8")
        for key, value in {
            "TITLE": main["title"],
            "SN": main["sn"],
            "ISSUE": main["issue"],
            "APPEAL": main["appeal"],
            "COST": main["cost"],
            "STATUS": status,
            "BODY": main["summary"].rstrip("…") + "。详细经过如下：借款后第二个月开始出现问题。",
            "DATE": "2026-11-27 10:00",
        }.items():
            text = text.replace("{" + key + "}", value)
        return _html(text)

    site.route("/api/company/received_complaints", api)
    for sn in complaints:
        site.route(f"/complaint/view/{sn}/", detail)
    yield site
    site.close()


@pytest.fixture
def run_preset(site: Site, db_url: str, tmp_path: Path) -> Any:
    def run(preset: str, source: str) -> tuple[Any, list[Any]]:
        config = write_config(tmp_path / "config.yaml", db_url, preset_sources(preset, site))
        result = crawl(config, source)
        assert result.returncode == 0, result.stderr[-2000:]
        return result, posts(db_url, source)

    return run


def _by_url(rows: list[Any], suffix: str) -> Any:
    found = [p for p in rows if p.url.endswith(suffix)]
    assert found, (suffix, [p.url for p in rows])
    return found[0]


@pytest.mark.postgres
def test_tieba_thread_list_floors_and_lzl(run_preset: Any) -> None:
    _, rows = run_preset("tieba.yaml", "tieba-forum")
    thread = _by_url(rows, "/p/8123456789")
    assert thread.kind == "post" and thread.title == "中鼎经纬的催收太过分了，天天爆通讯录"
    assert thread.content.startswith("在北京中鼎经纬实业发展有限公司的APP借了五千")
    assert "\n" in thread.content and "爆通讯录，这合法吗？" in thread.content
    assert thread.author == "还款无门" and thread.replies == 35 and thread.floor == 1
    assert thread.published_at.isoformat() == "2026-11-27T02:05:00"
    floor2 = _by_url(rows, "#floor-post_content_150002")
    assert floor2.kind == "reply" and floor2.thread_url == thread.url and floor2.floor == 2
    assert floor2.author == "理性吧友"
    lzl = _by_url(rows, "#floor-post_content_150001-c1")
    assert lzl.kind == "comment" and lzl.parent_url == thread.url and lzl.author == "路过的"
    assert lzl.content == "同遭遇，中鼎经纬的催收员态度极差"
    assert lzl.published_at.isoformat() == "2026-11-27T03:20:00"
    page2 = _by_url(rows, "#floor-post_content_150031")
    assert page2.floor == 31 and page2.thread_url == thread.url
    assert _by_url(rows, "/p/8123400001").title == "有人了解中鼎经纬APP吗"
    urls = {p.url for p in rows}
    assert not any(u.endswith("/p/8123450000") for u in urls)  # 中鼎物流: another company
    assert not any("150003" in u for u in urls)  # "顶" mentions nobody
    assert all("fr=frs" not in u for u in urls)


@pytest.mark.postgres
def test_tieba_keyword_search(run_preset: Any, site: Site) -> None:
    result, rows = run_preset("tieba.yaml", "tieba-search")
    assert len(rows) == 2
    hit = _by_url(rows, "/p/8123999999?cid=0&pid=190001")
    assert hit.title == "中鼎经纬利息怎么算的" and hit.author == "算账的"
    assert hit.content == "在中鼎经纬借款一万，年化利息居然超过24%"
    queries = [r.args.get("qw") for r in site.requests if r.path == "/f/search/res"]
    assert {"北京中鼎经纬实业发展有限公司", "中鼎经纬", "中鼎"} <= set(queries)


@pytest.mark.postgres
def test_discuz_gbk_board_and_thread(run_preset: Any) -> None:
    _, rows = run_preset("discuz.yaml", "discuz-board")
    thread = _by_url(rows, "/thread-12345-1-1.html")
    assert thread.title == "曝光中鼎经纬砍头息：借一万到手八千"
    assert "两千被扣成“服务费”" in thread.content and "已经向金融监管总局投诉" in thread.content
    assert "typeof" not in thread.content
    assert thread.author == "维权小王" and thread.replies == 2 and thread.views == 12000
    assert thread.published_at.isoformat() == "2026-11-27T12:15:00"
    reply = _by_url(rows, "#floor-postmessage_67891")
    assert reply.author == "老李" and reply.floor == 2
    assert reply.published_at.isoformat() == "2026-11-28T01:30:00"
    assert len(rows) == 2  # floor 3 and the rules thread mention nobody


@pytest.mark.postgres
def test_news_article_without_selectors(run_preset: Any) -> None:
    _, rows = run_preset("news_article.yaml", "news-finance")
    assert len(rows) == 1
    article = rows[0]
    assert article.title == "北京中鼎经纬实业发展有限公司被约谈 涉及暴力催收投诉"
    assert "已被监管部门约谈" in article.content and "妥善处理" in article.content
    assert article.content.count("\n\n") >= 2  # paragraphs kept
    for noise in ("新浪首页", "我要评论", "版权所有", "相关阅读"):
        assert noise not in article.content
    assert article.published_at.isoformat() == "2026-11-28T01:30:00"


@pytest.mark.postgres
def test_heimao_json_api_and_detail_pages(run_preset: Any) -> None:
    result, rows = run_preset("heimao.yaml", "heimao")
    assert len(rows) == 3
    first = _by_url(rows, "/complaint/view/17380011111/")
    assert first.title == "中鼎经纬暴力催收，骚扰家人同事"
    assert first.extra["object"] == "北京中鼎经纬实业发展有限公司"
    assert first.extra["demands"] == "停止骚扰,道歉"
    assert first.extra["status"] == "处理中" and first.extra["issue"] == "暴力催收"
    assert first.extra["complaint_id"] == "17380011111"
    assert first.replies == 3 and "希望平台介入处理" in first.content
    assert first.published_at.isoformat() == "2026-11-27T02:00:00"
    assert _by_url(rows, "/17380033333/").extra["status"] == "已完成"


@pytest.mark.postgres
def test_discuz_known_thread_with_new_replies_is_fetched_again(run_preset: Any, site: Site) -> None:
    _, before = run_preset("discuz.yaml", "discuz-board")
    site.discuz_replied = True  # type: ignore[attr-defined]
    try:
        _, after = run_preset("discuz.yaml", "discuz-board")
    finally:
        site.discuz_replied = False  # type: ignore[attr-defined]
    assert len(after) == len(before) + 1
    new_floor = _by_url(after, "#floor-postmessage_67893")
    assert new_floor.kind == "reply" and new_floor.content == "中鼎经纬今天把服务费退给我了"
    assert _by_url(after, "/thread-12345-1-1.html").replies == 3
