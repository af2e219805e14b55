"""Benchmark: pages per second of the full yuqing crawl (middlewares + clean → match → dedupe →
store into SQLite) against a raw Scrapy spider with no pipelines, over the same local site, in
the same run.

    /work/venv/bin/python bench/crawl_pipeline.py [--pages 2000] [--rounds 2]

The site: list pages of 20 threads each, and one detail page per thread (~600 characters of
Chinese text; 70 % mention the institution, 30 % do not and are dropped by the match step).
Both crawlers run as child processes with the same Scrapy concurrency (16, no AutoThrottle, no
robots.txt); the rate is pages / Scrapy's own elapsed time (start-up excluded for both).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

REPO = Path(__file__).resolve().parents[1]
PER_LIST = 20
SENTENCES = [
    "催收员在我逾期第二天就开始给我的家人和同事打电话",
    "言语粗暴，还威胁说要上门",
    "我已经还清了本金和利息",
    "他们还说我欠服务费",
    "客服电话一直打不通",
    "APP显示的利率和合同不一样",
    "提前还款还要收违约金",
    "征信上多了一条逾期记录",
    "已经向金融监管总局投诉",
    "希望有关部门介入调查",
    "借款时被强制购买会员",
    "到账金额比合同少了两千",
    "每天接到十几个催收电话",
    "short",
    "已经在黑猫投诉平台提交了材料",
]
OTHER = [
    "今天去公园散步",
    "天气很好",
    "湖边有很多人在钓鱼",
    "回来的路上买了点水果",
    "晚上做了红烧肉",
    "周末打算去爬山",
    "孩子的期末考试成绩出来了",
    "小区门口新开了一家面馆",
]


def body(n: int) -> str:
    """~600 characters; 70 % name the institution. Seeded by n, so every page is distinct."""
    rng = random.Random(n)
    if n % 10 < 7:
        parts = ["北京中鼎经纬实业发展有限公司"] + [rng.choice(SENTENCES) for _ in range(24)]
    else:
        parts = [rng.choice(OTHER) for _ in range(40)]
    return "，".join(parts) + f"。编号{n}。"


SETTINGS = {
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "AUTOTHROTTLE_ENABLED": False,
    "ROBOTSTXT_OBEY": False,
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
}

RAW_SPIDER = """
import json, sys, time
import scrapy
from scrapy.crawler import CrawlerProcess

class Raw(scrapy.Spider):
    name = "raw"
    async def start(self):
        yield scrapy.Request(sys.argv[1], callback=self.parse_list)
    def parse_list(self, response):
        for href in response.css("li.t a::attr(href)").getall():
            yield response.follow(href, self.parse_detail)
        nxt = response.css("a.next::attr(href)").get()
        if nxt:
            yield response.follow(nxt, self.parse_list)
    def parse_detail(self, response):
        yield {"url": response.url, "title": response.css("h1::text").get(),
               "content": " ".join(response.css("div.c ::text").getall()),
               "published": response.css("span.t::text").get()}

process = CrawlerProcess(json.loads(sys.argv[2]))
crawler = process.create_crawler(Raw)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
print(json.dumps({"pages": stats.get("response_received_count", 0),
                  "items": stats.get("item_scraped_count", 0),
                  "seconds": stats["elapsed_time_seconds"]}))
"""


def make_site(pages: int) -> tuple[object, str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    lists = (pages + PER_LIST - 1) // PER_LIST

    @Request.application
    def app(request: Request) -> Response:
        if request.path == "/list":
            page = int(request.args.get("page", "1"))
            first = (page - 1) * PER_LIST
            items = "".join(
                f'<li class="t"><a href="/t/{n}">帖子 {n}</a><span>回复 {n % 50}</span></li>'
                for n in range(first, min(first + PER_LIST, pages))
            )
            nxt = f'<a class="next" href="/list?page={page + 1}">下一页</a>' if page < lists else ""
            return Response(
                f"<html><head><meta charset='utf-8'><title>列表</title></head><body>"
                f"<nav>首页 论坛</nav><ul>{items}</ul>{nxt}</body></html>",
                content_type="text/html; charset=utf-8",
            )
        n = int(request.path.rsplit("/", 1)[1])
        text = body(n)
        return Response(
            f"<html><head><meta charset='utf-8'><title>帖子 {n}</title>"
            f"<script>var x = {n};</script></head><body><nav>首页 论坛 登录</nav>"
            f"<h1>帖子 {n}</h1><div class='c'><p>{text}</p><p>编号 {n}</p></div>"
            f"<span class='t'>2026-11-27 10:{n % 60:02d}</span><footer>版权</footer></body></html>",
            content_type="text/html; charset=utf-8",
        )

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def run_raw(base: str, folder: Path) -> dict[str, float]:
    script = folder / "raw_spider.py"  # Scrapy reads callbacks' source: a file, not -c
    script.write_text(RAW_SPIDER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), f"{base}/list?page=1", json.dumps(SETTINGS)],
        capture_output=True,
        text=True,
        check=True,
    )
    if os.environ.get("BENCH_DEBUG"):
        print(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_full(base: str, pages: int, folder: Path, round_no: int) -> dict[str, float]:
    from sqlalchemy import select

    from yuqing.store.db import session_scope, upgrade
    from yuqing.store.models import CrawlRun

    db_url = f"sqlite:///{folder / f'bench{round_no}.db'}"
    upgrade(db_url)
    config = folder / f"bench{round_no}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "institution": {"name": "北京中鼎经纬实业发展有限公司", "aliases": ["中鼎经纬"]},
                "database": {"url": db_url},
                "sources": [
                    {
                        "name": "bench",
                        "kind": "html",
                        "url": f"{base}/list?page=1",
                        "allow_private": True,
                        "obey_robots": False,
                        "concurrency": 16,
                        "page_limit": pages // PER_LIST + 1,
                        "max_links_per_page": 1000,
                        "list": {
                            "item": {"css": "li.t"},
                            "link": {"css": "a::attr(href)"},
                            "next_page": {"css": "a.next::attr(href)"},
                        },
                        "detail": {
                            "title": {"css": "h1::text"},
                            "content": {"css": "div.c"},
                            "published_at": {"css": "span.t::text"},
                        },
                    }
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    command = [
        sys.executable,
        "-m",
        "crawler.run",
        "--config",
        str(config),
        "--log-level",
        "WARNING",
    ]
    for name, value in SETTINGS.items():
        command += ["--set", f"{name}={json.dumps(value)}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [*command, "bench"], capture_output=True, text=True, check=True, env=env, cwd=REPO
    )
    with session_scope(db_url) as session:
        run = session.scalars(select(CrawlRun).where(CrawlRun.source == "bench")).one()
        return {
            "pages": run.pages,
            "items": run.items,
            "stored": run.new_posts,
            "seconds": run.duration_s,
            "status": run.status,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="detail pages (default 2000)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    server, base = make_site(args.pages)
    raw_rates, full_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            if round_no % 2:  # alternate the order: neither always gets the warmer machine
                full = run_full(base, args.pages, Path(tmp), round_no)
                raw = run_raw(base, Path(tmp))
            else:
                raw = run_raw(base, Path(tmp))
                full = run_full(base, args.pages, Path(tmp), round_no)
            raw_rates.append(raw["pages"] / raw["seconds"])
            full_rates.append(full["pages"] / full["seconds"])
            print(
                f"round {round_no + 1}: raw {raw['pages']:.0f} pages in {raw['seconds']:.2f}s "
                f"= {raw_rates[-1]:.0f}/s; full {full['pages']} pages in {full['seconds']:.2f}s "
                f"= {full_rates[-1]:.0f}/s (stored {full['stored']}, status {full['status']})"
            )
    raw_rate, full_rate = statistics.median(raw_rates), statistics.median(full_rates)
    ratios = [f / r for f, r in zip(full_rates, raw_rates, strict=True)]
    print(
        json.dumps(
            {
                "pages": args.pages,
                "rounds": args.rounds,
                "raw_pages_per_s": round(raw_rate, 1),
                "full_pages_per_s": round(full_rate, 1),
                "ratio_of_medians": round(full_rate / raw_rate, 3),
                "median_round_ratio": round(statistics.median(ratios), 3),
            }
        )
    )
    server.shutdown()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
