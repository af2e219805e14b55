"""The sentiment core: features, model file, analyzer, entity targeting, datasets, quality."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sentiment.analyzer import Analyzer, label_for
from sentiment.datasets import DatasetError, Example, is_validation, read_examples, split
from sentiment.evaluate import evaluate_docs, evaluate_entities, metrics
from sentiment.features import clean, features
from sentiment.mentions import MentionTerms, find_mentions
from sentiment.model import SHIPPED_MODEL, ModelError, load_model
from sentiment.targeting import judge, windows
from sentiment.train import TrainOptions, train_model

FIXTURE = Path(__file__).parent / "fixtures" / "sentiment" / "finance_posts.jsonl"
US = MentionTerms(
    name="北京中鼎经纬实业发展有限公司",
    aliases=("中鼎经纬", "中鼎"),
    context_words=("贷款", "借款", "催收", "还款"),
)


@pytest.fixture(scope="module")
def model():
    return load_model(SHIPPED_MODEL)


@pytest.fixture(scope="module")
def analyzer(model):
    return Analyzer(model, terms=US)


@pytest.fixture(scope="module")
def fixture_rows() -> list[Example]:
    return read_examples(FIXTURE)


# --- features ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("中鼎經緯暴力催收", "中鼎经纬暴力催收"),  # traditional
        ("ＡＰＰ闪退", "app闪退"),  # full-width, case
        ("借了 5000 元", "借了 12 元"),  # digits fold
        ("砍头息????还有", "砍头息 还有"),  # lost characters
        ("看 https://x.cn/a?b=1 这个", "看 这个"),  # URLs
    ],
)
def test_features_ignore_surface_differences(a: str, b: str) -> None:
    assert features(a) == features(b)


def test_fast_paths_agree_with_the_reference(fixture_rows: list[Example]) -> None:
    from sentiment.features import _features_reference, features_folded, fold
    from sentiment.textnorm import normalize_for_match

    samples = [e.text for e in fixture_rows] + ["İstanbul ＡＢＣ　中鼎經緯 ΣΑΣ ß Ⓔ", "", "，。"]
    for text in samples:
        assert fold(text) == normalize_for_match(text)
        assert features_folded(fold(text)) == _features_reference(fold(text))


def test_features_are_unigrams_and_bigrams_broken_by_punctuation() -> None:
    assert features("催收，骚扰") == {"催", "收", "催收", "骚", "扰", "骚扰"}
    assert clean("  ") == ""
    assert features("") == set()


# --- model file ----------------------------------------------------------------------------


def test_shipped_model_is_small_portable_json(model) -> None:
    assert SHIPPED_MODEL.stat().st_size < 3_000_000
    data = json.loads(gzip.decompress(SHIPPED_MODEL.read_bytes()))
    assert data["format"] == "yuqing-linear/1"
    assert data["classes"] == ["negative", "neutral", "positive"]
    assert (
        "finnsp_train.jsonl" in " ".join(data["meta"]["trained_on"]) or data["meta"]["trained_on"]
    )
    assert model.target is not None
    assert model.version.startswith("finance-")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not gzip at all", "not a yuqing model file"),
        (gzip.compress(b'{"format": "other"}'), "expected format"),
        (
            gzip.compress(b'{"format": "yuqing-linear/1", "classes": ["negative"]}'),
            "corrupt model file",
        ),
    ],
)
def test_bad_model_files_give_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "m.json.gz"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        load_model(path)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.gz")


def test_train_save_load_round_trip(tmp_path: Path, fixture_rows: list[Example]) -> None:
    trained = train_model(fixture_rows, TrainOptions(max_iterations=50))
    path = trained.save(tmp_path / "m.json.gz")
    assert path == tmp_path / "m.json.gz"  # the exact path, no ".3" suffix as snownlp does
    loaded = load_model(path)
    text = "中鼎经纬暴力催收，爆通讯录"
    assert loaded.score(text) == pytest.approx(trained.score(text), abs=1e-3)
    assert loaded.version == trained.version
    again = train_model(fixture_rows, TrainOptions(max_iterations=50)).save(tmp_path / "n.json.gz")
    assert again.read_bytes() == path.read_bytes()  # deterministic: same data, same file


# --- analyzer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (0.0, "negative"),
        (0.3499, "negative"),
        (0.35, "neutral"),
        (0.65, "neutral"),
        (0.6501, "positive"),
        (1.0, "positive"),
    ],
)
def test_label_thresholds(score: float, label: str) -> None:
    assert label_for(score, 0.35, 0.65) == label


def test_scores_are_probabilities_and_order_sensibly(model) -> None:
    bad = model.score("中鼎经纬暴力催收，爆通讯录，还威胁我的家人，太恶心了")
    news = model.score("中鼎经纬发布三季度经营数据，服务用户超过三百万人")
    good = model.score("中鼎经纬客服很耐心，帮我解决了问题，体验很好，推荐")
    assert 0.0 <= bad < 0.2 < news and 0.35 <= news <= 0.65 < good <= 1.0
    assert model.score("") == pytest.approx(model.score("   "))


def test_analysis_of_a_post(analyzer: Analyzer) -> None:
    result = analyzer.analyze(
        "投诉中鼎经纬", "中鼎经纬的催收员每天打电话骚扰我的同事，还爆通讯录。"
    )
    assert result.label == "negative"
    assert result.mentions == 2
    assert "催收" in (result.deciding_sentence or "")
    assert result.categories == ()  # no taxonomy given


def test_long_text_keeps_the_deciding_sentence(analyzer: Analyzer) -> None:
    filler = "今天天气不错，我们去公园散步，看到很多人在跑步。" * 12
    text = filler + "中鼎经纬的催收太恶心了，逾期三天就爆通讯录威胁我的家人。" + filler
    result = analyzer.analyze("", text)
    assert result.label == "negative"
    assert result.deciding_sentence is not None
    assert "中鼎经纬的催收太恶心了" in result.deciding_sentence
    assert len(result.deciding_sentence) < 120


def test_negative_about_another_lender_is_not_negative_about_us(analyzer: Analyzer) -> None:
    text = (
        "速贷宝涉嫌非法集资已被立案侦查，平台负责人跑路，受害人正在集体维权。"
        "中鼎经纬同日发布了三季度业绩报告。"
    )
    ours = analyzer.analyze("", text)
    theirs = analyzer.judge_entity(text, MentionTerms(name="速贷宝"))
    assert theirs[0] < 0.35
    assert ours.label != "negative"
    assert ours.deciding_sentence == "中鼎经纬同日发布了三季度业绩报告。"


def test_windows_grow_short_sentences_and_cap_walls_of_text() -> None:
    text = "中鼎经纬。太坑了！别的都好。"
    spans = [(m.start, m.end) for m in find_mentions(text, US)]
    assert windows(text, spans, min_chars=8) == ["中鼎经纬。太坑了！"]
    wall = "啊" * 1000 + "中鼎经纬" + "啊" * 1000
    (piece,) = windows(wall, [(1000, 1004)], max_chars=100)
    assert "中鼎经纬" in piece and len(piece) <= 104
    assert judge([], lambda _t: 0.0).deciding is None


# --- datasets ------------------------------------------------------------------------------


def test_read_all_shared_formats(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {
                    "title": "标题",
                    "text": "正文",
                    "negative": 1,
                    "entities": ["甲"],
                    "key_entities": ["甲"],
                },
                {"text": "还行", "label": 1},
                {"text": "好评", "label": "positive"},
                {"text": "不算负面", "negative": 0},
            ]
        )
        + "\n\n",
        encoding="utf-8",
    )
    rows = read_examples(jsonl)
    assert [r.label for r in rows] == ["negative", "neutral", "positive", "not_negative"]
    assert rows[0].text == "标题\n正文" and rows[0].key_entities == ("甲",)
    csv_file = tmp_path / "b.csv"
    csv_file.write_text("label,review\n1,很好吃\n0,太慢了\n", encoding="utf-8")
    assert [r.label for r in read_examples(csv_file)] == ["positive", "negative"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.jsonl", "{not json}\n", "x.jsonl:1: not JSON"),
        ("x.jsonl", '{"text": "a", "label": 7}\n', "x.jsonl:1: need 'negative'"),
        ("x.jsonl", '{"label": 1}\n', "x.jsonl:1: no text or title"),
        ("x.jsonl", "[1, 2]\n", "expected a JSON object"),
        ("x.csv", "text,sentiment\na,1\n", "needs the columns label,review"),
        ("x.csv", "label,review\n5,a\n", "x.csv:2: label must be 0 or 1"),
    ],
)
def test_bad_labelled_files_name_file_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        read_examples(path)


def test_split_is_seeded_and_keeps_duplicates_together() -> None:
    texts = [f"关于{chr(0x4E00 + i)}{chr(0x5E00 + i)}的帖子" for i in range(2000)]
    held = [t for t in texts if is_validation(t)]
    assert 0.15 < len(held) / len(texts) < 0.25
    assert held == [t for t in texts if is_validation(t)]  # deterministic
    assert is_validation("中鼎經緯 催收") == is_validation("中鼎经纬催收")  # same normalised text
    assert is_validation("借了3000元") == is_validation("借了5000元")  # digits fold too
    train, validation = split([Example(t, "neutral") for t in texts])
    assert len(train) + len(validation) == 2000


# --- metrics and quality -------------------------------------------------------------------


def test_metrics_by_hand() -> None:
    m = metrics(
        ["negative", "negative", "not_negative", "not_negative"],
        ["negative", "not_negative", "negative", "not_negative"],
        ("negative", "not_negative"),
    )
    assert m["accuracy"] == 0.5
    assert m["per_class"]["negative"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["confusion"]["negative"] == {"negative": 1, "not_negative": 1}


def test_quality_on_the_finance_fixture(analyzer: Analyzer, fixture_rows: list[Example]) -> None:
    """Fails when a retrained model regresses on complaint-style posts about a lender.

    The shipped model scores 0.87 (negative or not), 0.78 (three classes) and 0.57 (entity,
    14 pairs); default snownlp scores 0.66, 0.49 and 0.43 on the same rows. These rows were
    written for this test, not drawn from the training data.
    """
    doc = evaluate_docs(fixture_rows, analyzer.model.score, 0.35, 0.65)
    assert doc["binary"]["accuracy"] >= 0.84
    assert doc["binary"]["per_class"]["negative"]["recall"] >= 0.9
    assert doc["three_class"]["accuracy"] >= 0.75

    def towards(text: str, terms: MentionTerms) -> float:
        return analyzer.judge_entity(text, terms)[0] if find_mentions(text, terms) else 0.5

    entity = evaluate_entities(fixture_rows, towards, 0.35)
    assert entity is not None and entity["accuracy"] >= 0.55


def test_importing_sentiment_and_the_cli_loads_no_model() -> None:
    code = (
        "import sys, time; t = time.perf_counter();"
        "import sentiment, sentiment.analyzer, sentiment.model, yuqing.cli_sentiment;"
        "heavy = [m for m in ('snownlp', 'jieba', 'numpy', 'scipy') if m in sys.modules];"
        "print(heavy, round(time.perf_counter() - t, 3))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, seconds = out.stdout.rsplit(" ", 1)
    assert heavy == "[]", out.stdout
    assert float(seconds) < 1.5
