"""Item pipelines: clean → mention match → dedupe / stories → store (or print, for --dry-run).

Each is a Scrapy component built with ``from_crawler``; a post that is not kept is dropped with a
reason, counted on the crawl run (``CrawlRun.dropped``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import threading
import zlib
from functools import lru_cache
from typing import Any, TextIO

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from crawler.extract.text import clean_text
from crawler.items import PostItem
from crawler.report import report_for
from sentiment.mentions import MentionTerms, find_mentions, matched_terms
from sentiment.textnorm import normalize_for_match

logger = logging.getLogger(__name__)
MAX_CONTENT_CHARS = 100_000
MIN_STORY_CHARS = 40
"""Texts shorter than this (``顶``, ``同问``) are never grouped as reposts."""
SHINGLE = 3
NUM_PERM = 64
STORY_THRESHOLD = 0.7


def _config(crawler: Crawler) -> Any:
    return getattr(crawler.spidercls, "yuqing", None)


class CleanPipeline:
    """Text as readers see it: white space tidied, over-long bodies cut."""

    def __init__(self, crawler: Crawler) -> None:
        self.report = report_for(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        self.report.items += 1
        if item.engagement_only:
            return item
        # spiders hand over text (selectors, feeds and APIs are turned into text where they are
        # read); a literal "<script>" in that text is what the author wrote, and stays
        content = clean_text(item.content or "")
        item.content = content[:MAX_CONTENT_CHARS]
        item.title = clean_text(item.title or "")[:1000]
        if not item.content and not item.title:
            self.report.drop("empty")
            raise DropItem("empty post")
        return item


_SCANNED = (
    range(0x20, 0x250),
    range(0x3000, 0x3040),
    range(0x3400, 0x4DC0),
    range(0x4E00, 0xA000),
    range(0xF900, 0xFB00),
    range(0xFF00, 0xFFF0),
)
_GAP = r"[\s\u200b\u200c\u200d\ufeff]*"


def mention_prefilter(terms: MentionTerms) -> re.Pattern[str]:
    """A regex that finds every place a searched term could begin: its first two characters in
    any form that normalises to them (traditional, full-width, upper case), white space allowed
    between, as the matcher allows. A text it does not match cannot contain a mention, so the
    character-by-character matcher runs only on texts that might (the regex runs in C)."""
    heads = {folded[:2] for _, folded, _ in terms.searched_terms if folded}
    wanted = {c for head in heads for c in head}
    forms: dict[str, set[str]] = {c: {c} for c in wanted}
    for block in _SCANNED:
        chars = "".join(map(chr, block))
        for raw, folded in zip(chars, normalize_for_match(chars), strict=True):
            if folded in forms:
                forms[folded].add(raw)

    def klass(c: str) -> str:
        return "[" + "".join(re.escape(f) for f in sorted(forms[c])) + "]"

    return re.compile("|".join(_GAP.join(klass(c) for c in head) for head in sorted(heads)))


class MatchPipeline:
    """Keep posts that mention the institution; record which terms matched."""

    def __init__(self, crawler: Crawler, terms: MentionTerms, keep_all: bool) -> None:
        self.report = report_for(crawler)
        self.terms = terms
        self.keep_all = keep_all
        self.prefilter = mention_prefilter(terms)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MatchPipeline:
        config = _config(crawler)
        if config is None:
            raise NotConfigured
        return cls(
            crawler,
            MentionTerms.from_config(config.institution),
            crawler.settings.getbool("YUQING_NO_MATCH"),
        )

    def process_item(self, item: PostItem) -> PostItem:
        if item.engagement_only:
            return item
        # a reply or 楼中楼 must name the institution itself: the thread's title does not count,
        # or every "顶" under a complaint thread would be a mention
        text = (
            item.content if item.kind in ("reply", "comment") else f"{item.title}\n{item.content}"
        )
        # most posts: no term can begin anywhere in them, and the C regex says so fast
        possible = self.prefilter.search(text) is not None
        mentions = find_mentions(text, self.terms) if possible else []
        item.matched_terms = matched_terms(mentions)
        if not item.matched_terms and not self.keep_all:
            self.report.drop("no_mention")
            raise DropItem("no mention of the institution")
        return item


_SPACE_RE = re.compile(r"\s+")


def fingerprint_text(item: PostItem) -> str:
    """The body without white space and case, that the fingerprints are taken of. (Reposts copy
    text verbatim; the costlier traditional→simplified folding is left to mention matching.)"""
    return _SPACE_RE.sub("", item.content or item.title).lower()


def _preload() -> None:
    import datasketch  # noqa: F401


@lru_cache(maxsize=1)
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM).permutations


def _minhash(text: str) -> Any:
    """MinHash of the text's character 3-grams. The permutations are made once per process
    (datasketch would draw them again for every hash) and CRC32 hashes the shingles (C speed)."""
    from datasketch import MinHash

    minhash = MinHash(
        num_perm=NUM_PERM, hashfunc=zlib.crc32, permutations=_permutations(), scheme="affine32"
    )
    encoded = text.encode("utf-8", "replace")
    if len(text) == len(encoded):
        shingles = [encoded[i : i + SHINGLE] for i in range(len(encoded) - SHINGLE + 1)]
    else:
        shingles = [text[i : i + SHINGLE].encode("utf-8") for i in range(len(text) - SHINGLE + 1)]
    minhash.update_batch(shingles)
    return minhash


class DedupePipeline:
    """One post per canonical URL per crawl; exact fingerprint; near-duplicates → one story.

    Near-duplicates are found by MinHash LSH (datasketch) over character 3-grams of the
    normalised text, against this crawl's posts and the posts stored in the last few days.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.report = report_for(crawler)
        self.seen: set[str] = set()
        self.refreshed: set[str] = set()
        self.lsh: Any = None  # built on first use: datasketch imports scipy (~0.6 s)
        self._preload: threading.Thread | None = None
        self.story_of_key: dict[str, int | None] = {}
        self.url_of_key: dict[str, str] = {}
        self._seeded = False
        config = _config(crawler)
        self.db_url = config.database.url if config is not None else None
        self.dry_run = crawler.settings.getbool("YUQING_DRY_RUN")
        self.window_days = crawler.settings.getfloat("YUQING_STORY_WINDOW_DAYS", 3)
        self.seed_limit = crawler.settings.getint("YUQING_STORY_SEED_LIMIT", 5000)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        # datasketch imports scipy (~0.5 s): start that while the first pages download
        self._preload = threading.Thread(target=_preload, name="preload-datasketch", daemon=True)
        self._preload.start()

    def close_spider(self) -> None:
        if self._preload is not None:
            self._preload.join(timeout=10)  # never exit mid-import

    def _seed(self) -> None:
        from datasketch import MinHashLSH

        self._seeded = True
        self.lsh = MinHashLSH(threshold=STORY_THRESHOLD, num_perm=NUM_PERM)
        if self.dry_run or not self.db_url:
            return
        from yuqing.store.posts import since, story_seed

        for url, title, content, story_id in story_seed(
            self.db_url, since(self.window_days), self.seed_limit
        ):
            text = _SPACE_RE.sub("", content or title).lower()
            if len(text) >= MIN_STORY_CHARS:
                self._index(f"db:{url}", text, url, story_id)

    def _index(self, key: str, text: str, url: str, story_id: int | None) -> None:
        if key in self.url_of_key:
            return
        self.lsh.insert(key, _minhash(text))
        self.story_of_key[key] = story_id
        self.url_of_key[key] = url

    def process_item(self, item: PostItem) -> PostItem:
        # a full post wins over an engagement-only refresh of the same URL seen before it
        if item.url in self.seen or (item.engagement_only and item.url in self.refreshed):
            self.report.drop("duplicate_url")
            raise DropItem("duplicate URL in this crawl")
        if item.engagement_only:
            self.refreshed.add(item.url)
            return item
        self.seen.add(item.url)
        text = fingerprint_text(item)
        item.content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if item.kind != "post" or len(text) < MIN_STORY_CHARS:
            return item
        if not self._seeded:
            self._seed()
        minhash = _minhash(text)
        matches = [k for k in self.lsh.query(minhash) if self.url_of_key[k] != item.url]
        if matches:
            key = min(matches, key=lambda k: (not k.startswith("db:"), k))
            if key.startswith("db:") and self.story_of_key[key] is not None:
                item.story_id = self.story_of_key[key]
            else:
                item.story_ref = self.url_of_key[key]
            return item  # only a story's first post is indexed: buckets stay small in a storm
        key = f"crawl:{item.url}"
        self.lsh.insert(key, minhash)
        self.story_of_key[key] = None
        self.url_of_key[key] = item.url
        return item


class StorePipeline:
    """Batched upserts into the database (one transaction per ``YUQING_STORE_BATCH`` posts)."""

    def __init__(self, crawler: Crawler, db_url: str, batch: int) -> None:
        self.report = report_for(crawler)
        self.db_url = db_url
        self.batch_size = batch
        self.buffer: list[PostItem] = []
        self.story_by_url: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        config = _config(crawler)
        if crawler.settings.getbool("YUQING_DRY_RUN") or config is None:
            raise NotConfigured
        return cls(crawler, config.database.url, crawler.settings.getint("YUQING_STORE_BATCH", 200))

    def process_item(self, item: PostItem) -> PostItem:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.buffer:
            return
        from yuqing.store.posts import store_batch

        batch, self.buffer = self.buffer, []
        try:
            result = store_batch(self.db_url, batch, self.story_by_url)
        except Exception as exc:  # noqa: BLE001 - a failed batch is counted; the crawl goes on
            logger.exception("storing %d posts failed", len(batch))
            self.report.error(
                "store", batch[0].url, f"{type(exc).__name__}: {exc}", count=len(batch)
            )
            return
        self.story_by_url = result.story_by_url
        self.report.new_posts += result.new
        self.report.updated_posts += result.updated

    def close_spider(self) -> None:
        self.flush()


class DryRunPipeline:
    """``--dry-run``: print each post that would be stored as one JSON line on stdout."""

    def __init__(self, crawler: Crawler) -> None:
        self.report = report_for(crawler)
        self.out: TextIO | None = sys.stdout

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DryRunPipeline:
        if not crawler.settings.getbool("YUQING_DRY_RUN"):
            raise NotConfigured
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        if self.out is not None:
            try:
                self.out.write(json.dumps(item.for_output(), ensure_ascii=False) + "\n")
                self.out.flush()
            except BrokenPipeError:  # `… --dry-run | head`: the reader has seen enough
                self.out = None
        self.report.new_posts += 0 if item.engagement_only else 1
        return item
