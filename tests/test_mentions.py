"""Mention matching: names, aliases, short aliases needing context, look-alikes excluded."""

from __future__ import annotations

import pytest

from sentiment.mentions import MentionTerms, find_mentions, matched_terms
from sentiment.textnorm import normalize_for_match, normalize_with_offsets

TERMS = MentionTerms(
    name="北京中鼎经纬实业发展有限公司",
    aliases=("中鼎经纬", "中鼎", "ZDJW"),
    short_alias_max_len=2,
    context_words=("贷款", "借款", "催收", "利息", "app"),
    context_window=10,
    exclude=("中鼎国际", "中鼎经纬科技"),
)


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("北京中鼎经纬实业发展有限公司发布年度报告", ["北京中鼎经纬实业发展有限公司"]),
        ("中鼎经纬的催收打电话给我家人", ["中鼎经纬"]),
        ("中鼎經緯暴力催收", ["中鼎经纬"]),  # traditional characters
        ("中 鼎 经 纬 收砍头息", ["中鼎经纬"]),  # spacing used to dodge filters
        ("在中鼎借款利息太高了", ["中鼎"]),  # short alias with context
        ("ｚｄｊｗ 的 APP 又崩了", ["ZDJW"]),  # full-width and case
        ("中鼎经纬和中鼎经纬都一样", ["中鼎经纬"]),
    ],
)
def test_mentions_found(text: str, terms: list[str]) -> None:
    assert matched_terms(find_mentions(text, TERMS)) == terms


@pytest.mark.parametrize(
    "text",
    [
        "中鼎国际物流今日发货",  # a look-alike company
        "中鼎经纬科技有限公司招聘工程师",  # excluded although it contains the alias
        "我同学中鼎今天结婚了",  # short alias, no finance context
        "天气很好，适合出游",
        "",
    ],
)
def test_not_a_mention(text: str) -> None:
    assert find_mentions(text, TERMS) == []


def test_span_maps_back_to_original_text() -> None:
    text = "投诉：中 鼎 經 緯乱收费"
    (mention,) = find_mentions(text, TERMS)
    assert text[mention.start : mention.end] == "中 鼎 經 緯"


def test_context_must_be_near_the_short_alias() -> None:
    far = "中鼎" + "。" * 30 + "贷款"
    near = "中鼎" + "。" * 5 + "贷款"
    assert find_mentions(far, TERMS) == []
    assert [m.term for m in find_mentions(near, TERMS)] == ["中鼎"]


def test_normalisation_is_length_preserving() -> None:
    text = "中鼎經緯ＡＰＰ　闪退"
    assert len(normalize_for_match(text)) == len(text)
    folded, offsets = normalize_with_offsets(text)
    assert folded == "中鼎经纬app闪退"
    assert [text[i] for i in offsets] == [c for c in text if c != "\u3000"]


@pytest.mark.parametrize("text", ["", "abc", " a b  c ", "\u3000中 鼎\t經\n緯 ", "  ", "x  "])
def test_offsets_match_a_plain_character_loop(text: str) -> None:
    folded, offsets = normalize_with_offsets(text)
    expected = [i for i, c in enumerate(text) if not c.isspace() and c not in "\u200b\ufeff"]
    assert list(offsets) == expected
    assert len(offsets) == len(folded)
    assert folded == "".join(normalize_for_match(text)[i] for i in expected)
