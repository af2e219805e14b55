"""``yuqing sentiment …``: train, evaluate, score, export reviewers' feedback.

Importing this module loads no model and no snownlp: every heavy import happens inside the
command that needs it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from yuqing.cli_common import config_option, fail, load_or_exit

BACKGROUND_WEIGHT = 0.3
FEEDBACK_WEIGHT = 3.0


@click.group("sentiment")
def sentiment() -> None:
    """Train, evaluate and try the sentiment model."""


def _collect(paths: tuple[str, ...], weight: float, *, as_background: bool = False) -> list[Any]:
    """Examples from files; a directory gives its *.jsonl as finance data, general/*.csv as background."""
    from dataclasses import replace

    from sentiment.datasets import DatasetError, read_examples

    out = []
    for raw in paths:
        path = Path(raw)
        files: list[tuple[Path, float]]
        if path.is_dir():
            files = [(p, weight) for p in sorted(path.glob("*.jsonl"))]
            files += [(p, BACKGROUND_WEIGHT) for p in sorted(path.glob("general/*.csv"))]
        else:
            files = [(path, BACKGROUND_WEIGHT if as_background else weight)]
        if not files:
            fail(f"{path}: no .jsonl or general/*.csv files in this directory")
        for file, file_weight in files:
            try:
                rows = read_examples(file)
            except DatasetError as error:
                fail(str(error))
            out += [replace(e, weight=e.weight * file_weight) for e in rows]
            click.echo(
                f"read {len(rows):>6} examples from {file} (weight {file_weight:g})", err=True
            )
    return out


@sentiment.command("train")
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    type=click.Path(exists=True),
    help="Labelled file or folder (a folder: *.jsonl finance data + general/*.csv background).",
)
@click.option(
    "--background",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help=f"Extra background file (weight {BACKGROUND_WEIGHT}).",
)
@click.option(
    "--feedback",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help=f"Reviewers' feedback from `sentiment export-feedback` (weight {FEEDBACK_WEIGHT}).",
)
@click.option(
    "--holdout",
    type=click.FloatRange(0, 0.9),
    default=0.2,
    show_default=True,
    help="Fraction kept out of training (seeded hash of the normalised text); 0 = use all.",
)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False), help="Model file to write."
)
def train_command(
    data: tuple[str, ...],
    background: tuple[str, ...],
    feedback: tuple[str, ...],
    holdout: float,
    out: str,
) -> None:
    """Train a model; `--data ../shared/data/sentiment` reproduces the shipped one."""
    from sentiment.datasets import split
    from sentiment.train import train_model

    examples = _collect(data, 1.0) + _collect(background, BACKGROUND_WEIGHT, as_background=True)
    examples += _collect(feedback, FEEDBACK_WEIGHT)
    if holdout > 0:
        examples, held = split(examples, holdout)
        click.echo(
            f"held out {len(held)} examples (validation split, fraction {holdout})", err=True
        )
    if not examples:
        fail("no training examples")
    meta = {
        "name": "finance",
        "trained_on": [Path(p).name for p in (*data, *background, *feedback)],
        "holdout": holdout,
        "split": "held out: sha1('yuqing-v1:' + normalised text) / 2**64 < holdout",
    }
    model = train_model(examples, meta=meta)
    path = model.save(out)
    size = path.stat().st_size
    click.echo(
        f"wrote {path} ({size / 1e6:.2f} MB, {len(model.weights)} features, "
        f"version {model.version})"
    )


def _sentiment_settings(config_path: str | None) -> Any:
    """The config's sentiment section; the defaults when no config is given (eval needs no
    institution: labelled files name their own entities)."""
    if config_path is None:
        from yuqing.settings.analysis import SentimentSettings

        return SentimentSettings()
    return load_or_exit(config_path).sentiment


def _analyzer_for(sentiment_settings: Any, model_file: str | None) -> Any:
    from sentiment.analyzer import Analyzer
    from sentiment.model import ModelError
    from yuqing.analyze import cached_model, model_path

    path = Path(model_file) if model_file else model_path(sentiment_settings)
    try:
        model = cached_model(str(path.resolve()))
    except ModelError as error:
        fail(str(error))
    return Analyzer(
        model,
        negative_below=sentiment_settings.negative_below,
        positive_above=sentiment_settings.positive_above,
    )


def _entity_judge(analyzer: Any) -> Any:
    from sentiment.mentions import find_mentions

    def judge(text: str, terms: Any) -> float:
        if not find_mentions(text, terms):
            # not named in the text (or only inside a longer listed entity, i.e. another
            # company): the text cannot be negative about it
            return 0.5
        return analyzer.judge_entity(text, terms)[0]

    return judge


@sentiment.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--model",
    "model_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Model to evaluate (default: the configured or shipped one).",
)
@click.option(
    "--holdout-only",
    is_flag=True,
    help="Only the rows of the validation split (the default split of `train`).",
)
@click.option("--no-baseline", is_flag=True, help="Skip default snownlp (slow: ~30 texts/s).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N rows.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_option
def eval_command(
    file: str,
    model_file: str | None,
    holdout_only: bool,
    no_baseline: bool,
    limit: int | None,
    as_json: bool,
    config_path: str | None,
) -> None:
    """Accuracy, per-class P/R/F1 and confusion of the model and of default snownlp on FILE."""
    from sentiment.datasets import DatasetError, is_validation, read_examples
    from sentiment.evaluate import evaluate_docs, evaluate_entities

    settings = _sentiment_settings(config_path)
    try:
        examples = read_examples(file)
    except DatasetError as error:
        fail(str(error))
    if holdout_only:
        examples = [e for e in examples if is_validation(e.text)]
    examples = examples[:limit] if limit else examples
    if not examples:
        fail(f"{file}: no labelled rows to evaluate")
    low, high = settings.negative_below, settings.positive_above
    analyzer = _analyzer_for(settings, model_file)
    report: dict[str, Any] = {
        "file": file,
        "rows": len(examples),
        "negative_below": low,
        "positive_above": high,
        "models": {},
    }
    ours = {
        "version": analyzer.version,
        "doc": evaluate_docs(examples, analyzer.model.score, low, high),
    }
    entity = evaluate_entities(examples, _entity_judge(analyzer), low)
    if entity is not None:
        ours["entity"] = entity
    report["models"]["finance"] = ours
    if not no_baseline:
        from sentiment.baseline import snownlp_score

        snownlp_score("预热")  # load snownlp before timing it
        base: dict[str, Any] = {
            "version": "snownlp-default",
            "doc": evaluate_docs(examples, snownlp_score, low, high),
        }
        if entity is not None:
            # what default snownlp says about a whole text is all it can say about an entity
            cache: dict[str, float] = {}

            def whole(text: str, _terms: Any) -> float:
                if text not in cache:
                    cache[text] = snownlp_score(text)
                return cache[text]

            base["entity"] = evaluate_entities(examples, whole, low)
        report["models"]["snownlp"] = base
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    click.echo(
        f"{report['file']}: {report['rows']} rows; negative below {report['negative_below']}, "
        f"positive above {report['positive_above']}"
    )
    for name, figures in report["models"].items():
        click.echo(
            f"\n== {name} ({figures['version']}) — {figures['doc']['texts_per_second']} texts/s"
        )
        for section, title in (
            ("binary", "doc-level, negative or not"),
            ("three_class", "doc-level, three classes"),
        ):
            if section in figures["doc"]:
                _print_metrics(title, figures["doc"][section])
        if "entity" in figures:
            _print_metrics("entity-level (key_entities), negative or not", figures["entity"])
    _print_side_by_side(report["models"])


def _sections(figures: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [
        (f"doc {k}", figures["doc"][k]) for k in ("binary", "three_class") if k in figures["doc"]
    ]
    if "entity" in figures:
        out.append(("entity", figures["entity"]))
    return out


def _print_side_by_side(models: dict[str, Any]) -> None:
    """One line per figure, the models in columns — the comparison at a glance."""
    names = list(models)
    click.echo("\n== side by side: " + " | ".join(names))
    rows = [
        (label, [dict(_sections(models[n])).get(label) for n in names])
        for label, _ in _sections(models[names[0]])
    ]
    for label, metrics_list in rows:
        for key, title in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
            values = "".join(f"{m[key]:>12.4f}" if m else f"{'-':>12}" for m in metrics_list)
            click.echo(f"   {label + ' ' + title:<30}{values}")
        values = "".join(
            f"{m['per_class']['negative']['f1']:>12.4f}" if m else f"{'-':>12}"
            for m in metrics_list
        )
        click.echo(f"   {label + ' F1(negative)':<30}{values}")
    speeds = "".join(f"{models[n]['doc']['texts_per_second'] or 0:>12.1f}" for n in names)
    click.echo(f"   {'texts/s':<30}{speeds}")


def _print_metrics(title: str, m: dict[str, Any]) -> None:
    classes = list(m["per_class"])
    click.echo(
        f"-- {title}: accuracy {m['accuracy']:.4f}, macro F1 {m['macro_f1']:.4f}, n={m['n']}"
    )
    click.echo(f"   {'class':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for c in classes:
        row = m["per_class"][c]
        click.echo(
            f"   {c:<14}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}"
            f"{row['support']:>10}"
        )
    click.echo("   confusion (rows = gold, columns = predicted): " + " | ".join(classes))
    for c in classes:
        click.echo(f"   {c:<14}" + "".join(f"{m['confusion'][c][p]:>10}" for p in classes))


@sentiment.command("score")
@click.argument("text", required=False)
@config_option
def score_command(text: str | None, config_path: str | None) -> None:
    """Score TEXT (or stdin lines) about the configured institution, as JSON lines."""
    from yuqing.analyze import build_analyzer

    settings = load_or_exit(config_path)
    analyzer = build_analyzer(settings)
    lines = [text] if text is not None else [line.rstrip("\n") for line in sys.stdin]
    for line in lines:
        if not line.strip():
            continue
        result = analyzer.analyze("", line)
        click.echo(
            json.dumps(
                {
                    "text": line,
                    "score": result.score,
                    "label": result.label,
                    "categories": list(result.categories),
                    "deciding_sentence": result.deciding_sentence,
                },
                ensure_ascii=False,
            )
        )


@sentiment.command("analyze")
@click.option(
    "--rescore", is_flag=True, help="Also re-score posts scored by another model version."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="At most N posts.")
@config_option
def analyze_command(rescore: bool, limit: int | None, config_path: str | None) -> None:
    """Score unscored posts now (the analyze step); --rescore after a retrain."""
    from yuqing.analyze import analyze_pending
    from yuqing.cli_common import open_database

    settings = load_or_exit(config_path)
    open_database(settings)
    click.echo(f"{analyze_pending(settings, limit=limit, rescore=rescore)} posts scored")


@sentiment.command("export-feedback")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@config_option
def export_feedback_command(out: str, config_path: str | None) -> None:
    """Reviewers' marks as labelled JSONL for `sentiment train --feedback FILE`.

    ``escalated`` → ``negative``; ``false_positive`` (flagged, but not negative about us) →
    ``not_negative`` (trained as neutral).
    """
    from yuqing.analyze import export_feedback
    from yuqing.cli_common import open_database

    settings = load_or_exit(config_path)
    url = open_database(settings)
    counts = export_feedback(url, Path(out))
    click.echo(
        f"wrote {sum(counts.values())} examples to {out} "
        + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    )
