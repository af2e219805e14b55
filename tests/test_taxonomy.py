"""The complaint taxonomy: shipped categories, tolerant matching, user additions, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentiment.taxonomy import DEFAULT_TAXONOMY, Taxonomy, TaxonomyError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_IDS = [
    "fees",
    "contract",
    "repayment",
    "collection",
    "credit_report",
    "service",
    "disclosure",
    "app_failure",
    "scam",
    "regulator",
]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def test_config_taxonomy_is_a_relative_symlink_to_the_package_copy() -> None:
    link = ROOT / "config" / "taxonomy.yaml"
    assert link.is_symlink()
    assert os.readlink(link) == "../sentiment/taxonomy.yaml"
    assert link.resolve() == DEFAULT_TAXONOMY


def test_shipped_categories_have_ids_and_chinese_names(taxonomy: Taxonomy) -> None:
    for cid in SHIPPED_IDS:
        assert cid in taxonomy.categories
        assert any("\u4e00" <= ch <= "\u9fff" for ch in taxonomy.display_name(cid))
    assert taxonomy.display_name("collection") == "催收"
    assert taxonomy.display_name("unknown") == "unknown"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("借一万到手八千，这不就是砍头息吗", {"fees"}),
        ("他们暴力催收，还爆通讯录", {"collection"}),
        ("暴力催收，爆 通 訊 錄", {"collection"}),  # traditional + spaces
        ("我已经打了１２３７８，还要去黑貓投訴", {"regulator"}),  # full-width digits
        ("ＡＰＰ閃退，登录不了", {"app_failure"}),
        ("被上了征信，提前还款还收违约金", {"credit_report", "repayment", "fees"}),
        ("客服态度差，一直推诿", {"service"}),
        ("有人冒充工作人员让我转账", {"scam"}),
        ("合同里全是霸王条款", {"contract"}),
        ("宣传低息，隐瞒实际利率", {"disclosure"}),
        (
            "我们准备集体维权，并联系了记者曝光，还要起诉",
            {"group_action", "media", "legal"},
        ),
        ("已经向金融监管总局和消协反映", {"regulator"}),
        ("客服电话一直没人接", {"service"}),  # the topic word 客服 alone tags nothing
        (
            "客服态度挺好，回复也及时",
            set(),
        ),
        ("今天天气很好，出去散步", set()),
        ("", set()),
    ],
)
def test_matching(taxonomy: Taxonomy, text: str, expected: set[str]) -> None:
    assert set(taxonomy.match(text)) == expected


def test_hits_name_the_configured_terms(taxonomy: Taxonomy) -> None:
    hits = taxonomy.hits("暴力催收，爆 通 訊 錄")
    assert hits["collection"][:2] == ["暴力催收", "催收"]
    assert "爆通讯录" in hits["collection"]


def test_users_add_terms_and_categories(taxonomy: Taxonomy) -> None:
    extended = Taxonomy.load(
        extra={
            "fees": {"terms": ["账户管理费"]},
            "insurance": {"name": "捆绑保险", "terms": ["强制买保险", 88888888]},
        }
    )
    assert extended.match("收了账户管理费，还强制买保险") == ["fees", "insurance"]
    assert extended.match("88888888") == ["insurance"]
    assert "insurance" not in taxonomy.categories  # the cached default is untouched


def test_a_users_own_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "categories:\n  - {id: refund, name: 退款, terms: [退款, 不退钱]}\n", encoding="utf-8"
    )
    assert Taxonomy.load(path).match("一直不退钱") == ["refund"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "categories: required"),
        ("categories:\n  - {name: 费用, terms: [a]}\n", r"categories\[0\]\.id: required"),
        ("categories:\n  - {id: Fees, name: 费用, terms: [a]}\n", r"categories\[0\]\.id"),
        ("categories:\n  - {id: fees, terms: [a]}\n", r"categories\[0\]\.name: required"),
        (
            "categories:\n  - {id: fees, name: 费用, terms: []}\n",
            r"categories\[0\]\.terms: required",
        ),
        (
            "categories:\n  - {id: fees, name: 费用, terms: [a], colour: red}\n",
            r"\.colour: unknown field",
        ),
        (
            "categories:\n  - {id: a, name: x, terms: [b]}\n  - {id: a, name: y, terms: [c]}\n",
            r"categories\[1\]\.id: duplicate",
        ),
        ("categories: [\n", "cannot read taxonomy"),
    ],
)
def test_bad_taxonomy_files_name_the_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TaxonomyError, match=message):
        Taxonomy.load(path)


def test_missing_file_and_new_category_without_name(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="not found"):
        Taxonomy.load(tmp_path / "nope.yaml")
    with pytest.raises(TaxonomyError, match=r"extra\.newcat\.name: required"):
        Taxonomy.load(extra={"newcat": {"terms": ["x"]}})


def test_matching_is_fast(taxonomy: Taxonomy) -> None:
    """One automaton pass: a 2,000-character post is tagged in well under a millisecond or so."""
    import time

    text = "客户反映逾期后被暴力催收，还被收取了高额服务费。" * 80
    started = time.perf_counter()
    for _ in range(50):
        taxonomy.match(text)
    assert (time.perf_counter() - started) / 50 < 0.02
