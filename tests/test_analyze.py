"""The analyze step over a real database (SQLite, or PostgreSQL with YUQING_TEST_DATABASE_URL),
and the ``yuqing sentiment`` commands."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from sentiment.model import load_model
from sentiment.severity import Engagement, assess
from yuqing.analyze import analyze_pending, export_feedback, severity_table
from yuqing.cli_sentiment import sentiment
from yuqing.settings import ConfigError
from yuqing.store.db import session_scope
from yuqing.store.models import Post, Story

FIXTURE = Path(__file__).parent / "fixtures" / "sentiment" / "finance_posts.jsonl"
SOURCES = [
    {"name": "bigsite", "kind": "rss", "url": "http://news.example.cn/feed.xml", "weight": 2.0},
    {"name": "smallforum", "kind": "rss", "url": "http://bbs.example.cn/feed.xml", "weight": 0.5},
]
NEGATIVE = (
    "中鼎经纬的催收太恶心了，逾期三天就开始爆通讯录，给我同事和父母打电话骚扰，还威胁要上门。"
)
NEUTRAL = "中鼎经纬与某城商行签署战略合作协议，双方将在联合贷款领域展开合作。"
POSITIVE = "中鼎经纬的结清证明当天就开出来了，效率很高，征信也很快更新了，很满意。"

pytestmark = pytest.mark.postgres


def _add_posts(url: str, rows: list[dict]) -> list[int]:
    with session_scope(url) as session:
        posts = []
        for index, row in enumerate(rows):
            story = None
            if "reposts" in row:
                story = Story(fingerprint=f"fp{index}", repost_count=row.pop("reposts"))
                session.add(story)
                session.flush()
            posts.append(
                Post(
                    url=row.pop("url", f"http://x.cn/{index}-{id(row)}"),
                    source=row.pop("source", "bigsite"),
                    published_at=datetime(2026, 11, 28, 8, 0),
                    story_id=story.id if story else None,
                    **row,
                )
            )
        session.add_all(posts)
        session.flush()
        return [p.id for p in posts]


def _posts(url: str) -> dict[int, Post]:
    with session_scope(url) as session:
        return {p.id: p for p in session.scalars(select(Post).order_by(Post.id))}


def test_scores_unscored_posts_in_batches_and_is_idempotent(make_settings, db_url: str) -> None:
    settings = make_settings(sources=SOURCES, sentiment={"batch_size": 2})
    ids = _add_posts(
        db_url,
        [
            {"title": "投诉中鼎经纬", "content": NEGATIVE},
            {"title": "", "content": NEUTRAL},
            {"title": "", "content": POSITIVE},
            {"title": "", "content": "<script>alert(1)</script>中鼎经纬<b>乱收费</b>"},
            {"title": "", "content": ""},
        ],
    )
    assert analyze_pending(settings) == 5
    posts = _posts(db_url)
    negative, neutral, positive, hostile, empty = (posts[i] for i in ids)
    assert negative.label == "negative" and negative.score < 0.35
    assert "collection" in negative.categories
    assert negative.severity in {"yellow", "orange", "red"}
    assert negative.deciding_sentence and "催收" in negative.deciding_sentence
    assert negative.model_version and negative.model_version.startswith("finance-")
    assert neutral.label == "neutral" and neutral.severity is None
    assert positive.label == "positive"
    assert hostile.analyzed_at is not None and "fees" in hostile.categories
    assert empty.analyzed_at is not None and empty.label == "neutral"
    assert all(p.analyzed_at is not None for p in posts.values())
    assert analyze_pending(settings) == 0  # nothing left: safe to re-run
    _add_posts(db_url, [{"title": "", "content": NEGATIVE, "url": "http://x.cn/late"}])
    assert analyze_pending(settings) == 1


def test_limit(make_settings, db_url: str) -> None:
    settings = make_settings(sentiment={"batch_size": 2})
    _add_posts(db_url, [{"title": "", "content": NEUTRAL} for _ in range(5)])
    assert analyze_pending(settings, limit=3) == 3
    assert analyze_pending(settings, limit=3) == 2


def test_severity_uses_source_weight_and_engagement(make_settings, db_url: str) -> None:
    settings = make_settings(sources=SOURCES)
    text = "中鼎经纬乱收费，砍头息太狠了，客服不理人。"
    ids = _add_posts(
        db_url,
        [
            {"content": text, "source": "smallforum"},
            {"content": text, "source": "bigsite"},
            {"content": text, "source": "bigsite", "replies": 500, "views": 200_000, "reposts": 40},
            {"content": text, "source": "removed-source"},  # no longer configured: weight 1
        ],
    )
    analyze_pending(settings)
    posts = _posts(db_url)
    levels = [posts[i].severity for i in ids]
    order = {None: 0, "yellow": 1, "orange": 2, "red": 3}
    assert all(posts[i].label == "negative" for i in ids)
    assert order[levels[0]] <= order[levels[3]] <= order[levels[1]] <= order[levels[2]]
    assert order[levels[0]] < order[levels[2]] and levels[2] == "red"
    table = severity_table(settings.sentiment.severity)
    for post_id, weight, engagement in [
        (ids[0], 0.5, Engagement()),
        (ids[1], 2.0, Engagement()),
        (ids[2], 2.0, Engagement(500, 200_000, 40)),
        (ids[3], 1.0, Engagement()),
    ]:
        post = posts[post_id]
        expected = assess(
            table,
            score=post.score,
            label=post.label,
            negative_below=0.35,
            categories=post.categories,
            source_weight=weight,
            engagement=engagement,
        )
        assert post.severity == expected.level


def test_rescore_after_a_retrain(make_settings, db_url: str, tmp_path: Path) -> None:
    settings = make_settings()
    _add_posts(db_url, [{"content": NEGATIVE}, {"content": NEUTRAL}])
    assert analyze_pending(settings) == 2
    assert analyze_pending(settings, rescore=True) == 0  # same model: nothing to redo
    model = tmp_path / "retrained.json.gz"
    result = CliRunner().invoke(
        sentiment, ["train", "--data", str(FIXTURE), "--holdout", "0", "--out", str(model)]
    )
    assert result.exit_code == 0, result.output
    retrained = make_settings(sentiment={"model_path": str(model)})
    assert analyze_pending(retrained) == 0
    assert analyze_pending(retrained, rescore=True) == 2
    versions = {p.model_version for p in _posts(db_url).values()}
    assert versions == {load_model(model).version}
    assert analyze_pending(retrained, rescore=True) == 0


def test_feedback_export_trains(make_settings, db_url: str, tmp_path: Path) -> None:
    settings = make_settings()
    ids = _add_posts(
        db_url,
        [{"title": "标题", "content": NEGATIVE}, {"content": NEUTRAL}, {"content": POSITIVE}],
    )
    with session_scope(db_url) as session:
        session.execute(update(Post).where(Post.id == ids[0]).values(review_status="escalated"))
        session.execute(
            update(Post).where(Post.id == ids[1]).values(review_status="false_positive")
        )
    out = tmp_path / "feedback.jsonl"
    assert export_feedback(settings.database.url, out) == {"negative": 1, "not_negative": 1}
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["post_id"], r["label"]) for r in rows] == [
        (ids[0], "negative"),
        (ids[1], "not_negative"),
    ]
    assert rows[0]["text"].startswith("标题")
    model = tmp_path / "m.json.gz"
    result = CliRunner().invoke(
        sentiment,
        [
            "train",
            "--data",
            str(FIXTURE),
            "--feedback",
            str(out),
            "--holdout",
            "0",
            "--out",
            str(model),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "weight 3" in result.output and model.is_file()


def test_export_feedback_command(make_settings, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "institution: {name: 北京中鼎经纬实业发展有限公司, aliases: [中鼎经纬]}\n"
        f"database: {{url: '{db_url}'}}\n",
        encoding="utf-8",
    )
    ids = _add_posts(db_url, [{"content": NEGATIVE}])
    with session_scope(db_url) as session:
        session.execute(update(Post).where(Post.id == ids[0]).values(review_status="escalated"))
    out = tmp_path / "fb.jsonl"
    result = CliRunner().invoke(
        sentiment, ["export-feedback", "--out", str(out), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 1 examples" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["label"] == "negative"


def test_eval_json_and_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(sentiment, ["eval", str(FIXTURE), "--no-baseline", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    ours = report["models"]["finance"]
    assert report["rows"] == 68
    assert set(ours["doc"]) >= {"binary", "three_class", "texts_per_second"}
    assert ours["doc"]["binary"]["confusion"]["negative"]["negative"] > 30
    assert ours["entity"]["n"] == 14
    text = CliRunner().invoke(sentiment, ["eval", str(FIXTURE), "--no-baseline", "--limit", "10"])
    assert text.exit_code == 0
    assert "confusion (rows = gold" in text.output and "precision" in text.output
    assert "side by side: finance" in text.output


def test_eval_compares_with_default_snownlp() -> None:
    result = CliRunner().invoke(sentiment, ["eval", str(FIXTURE), "--json", "--limit", "12"])
    assert result.exit_code == 0, result.output
    models = json.loads(result.output)["models"]
    assert models["snownlp"]["version"] == "snownlp-default"
    assert models["snownlp"]["doc"]["binary"]["n"] == 12


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops\n", "not JSON"),
        ('{"text": "x", "label": 9}\n', "need 'negative'"),
    ],
)
def test_eval_bad_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(sentiment, ["eval", str(path), "--no-baseline"])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_eval_bad_model_is_one_line(tmp_path: Path) -> None:
    model = tmp_path / "m.json.gz"
    model.write_bytes(b"junk")
    result = CliRunner().invoke(
        sentiment, ["eval", str(FIXTURE), "--no-baseline", "--model", str(model)]
    )
    assert result.exit_code == 1
    assert "not a yuqing model file" in result.output


def test_score_command(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "institution: {name: 北京中鼎经纬实业发展有限公司, aliases: [中鼎经纬]}\n"
        f"database: {{url: '{db_url}'}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(sentiment, ["score", NEGATIVE, "--config", str(config)])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert row["label"] == "negative" and "collection" in row["categories"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"model_path": "/nonexistent/model.json.gz"}, "sentiment.model_path: file not found"),
        ({"taxonomy_file": "/nonexistent/t.yaml"}, "sentiment.taxonomy_file: file not found"),
        ({"severity": {"thresholds": {"purple": 1}}}, "unknown level 'purple'"),
        ({"severity": {"thresholds": {"red": 1, "yellow": 5}}}, "must not increase"),
        (
            {"severity": {"replies": [{"at_least": -1, "points": 1}]}},
            "sentiment.severity.replies[0].at_least",
        ),
        (
            {"taxonomy_extra": {"fees": {"terms": ["x"], "colour": 1}}},
            "taxonomy_extra.fees.colour: unknown field",
        ),
        ({"taxonomy_extra": {"newcat": {"terms": ["x"]}}}, "extra.newcat.name: required"),
    ],
)
def test_bad_sentiment_config_names_the_field(make_settings, section: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        make_settings(sentiment=section)
    assert any(message in problem for problem in error.value.problems), error.value.problems


def test_bad_taxonomy_file_is_a_config_error(make_settings, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("categories:\n  - {id: fees, name: 费用}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        make_settings(sentiment={"taxonomy_file": str(path)})
    (problem,) = error.value.problems
    assert problem.startswith("sentiment:") and "categories[0].terms: required" in problem


def test_taxonomy_extra_from_config(make_settings, db_url: str) -> None:
    settings = make_settings(
        sentiment={"taxonomy_extra": {"insurance": {"name": "捆绑保险", "terms": ["强制买保险"]}}}
    )
    _add_posts(db_url, [{"content": "中鼎经纬放款时强制买保险，太坑了"}])
    analyze_pending(settings)
    (post,) = _posts(db_url).values()
    assert "insurance" in post.categories


def test_analyze_command_rescores(make_settings, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "institution: {name: 北京中鼎经纬实业发展有限公司, aliases: [中鼎经纬]}\n"
        f"database: {{url: '{db_url}'}}\n",
        encoding="utf-8",
    )
    _add_posts(db_url, [{"content": NEGATIVE}, {"content": NEUTRAL}])
    runner = CliRunner()
    first = runner.invoke(sentiment, ["analyze", "--config", str(config)])
    assert first.exit_code == 0 and "2 posts scored" in first.output
    again = runner.invoke(sentiment, ["analyze", "--rescore", "--config", str(config)])
    assert "0 posts scored" in again.output  # same model version: nothing to redo


def test_a_post_the_analysis_cannot_handle_is_recorded_not_a_stall(
    db_url: str, make_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One post that makes the analyzer raise is marked with the reason; the others are scored,
    and the next run does not trip over it again."""
    from sentiment.analyzer import Analyzer
    from yuqing.analyze import analyze_pending
    from yuqing.store.db import session_scope
    from yuqing.store.models import Post, utcnow

    with session_scope(db_url) as session:
        for n, title in enumerate(["中鼎经纬暴力催收", "BOOM 中鼎经纬", "中鼎经纬客服很好"]):
            session.add(
                Post(
                    url=f"http://x.test/{n}",
                    source="forum",
                    title=title,
                    content=title,
                    published_at=utcnow(),
                )
            )
    original = Analyzer.analyze

    def flaky(self, title: str, content: str):  # noqa: ANN001, ANN202
        if title.startswith("BOOM"):
            raise ValueError("pathological input")
        return original(self, title, content)

    monkeypatch.setattr(Analyzer, "analyze", flaky)
    settings = make_settings()
    assert analyze_pending(settings) == 3
    assert analyze_pending(settings) == 0
    with session_scope(db_url) as session:
        posts = {p.title: p for p in session.query(Post)}
    assert posts["BOOM 中鼎经纬"].label is None
    assert posts["BOOM 中鼎经纬"].model_version.startswith("error:")
    assert "pathological input" in posts["BOOM 中鼎经纬"].deciding_sentence
    assert posts["中鼎经纬暴力催收"].label is not None
    from yuqing.status import collect_status, render_status

    status = collect_status(settings, db_url)
    assert status["posts"]["analysis_failed"] == 1
    assert "1 failed analysis" in render_status(status)
