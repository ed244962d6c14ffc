"""The analysis: real vs synthetic scores per task, the gap against task subjectivity, and a
readable report with figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # stages run headless
import matplotlib.pyplot as plt  # noqa: E402

from synthclf.correlations import correlation  # noqa: E402
from synthclf.filters import REASONS  # noqa: E402
from synthclf.io import atomic_write  # noqa: E402
from synthclf.learning_curve import real_examples_worth  # noqa: E402
from synthclf.titles import CLASSIFIER_TITLES, SOURCE_TITLES, fraction, percent  # noqa: E402

DIVERSITY_TITLES = {
    "remote_clique": "Remote-Clique",
    "chamfer": "Chamfer",
    "similarity_to_real": "Similarity to real",
    "distinct_1": "distinct-1",
    "distinct_2": "distinct-2",
}
# What each figure of the diversity table means, in the report's words.
DIVERSITY_NOTES = [
    "**Remote-Clique**: the mean cosine distance between two texts of the set; higher means more varied.",
    "**Chamfer**: the mean cosine distance from a text to its nearest other text; near 0 means near-duplicates.",
    "**Similarity to real**: the mean of each text's top-k cosine similarities to the real training texts "
    "(k = `diversity.top_k`, 5 as in the paper; for real data, to the *other* real texts); higher means closer to real data.",
    "**distinct-n**: unique word n-grams over all n-grams of the set; lower means repeated wording, and it "
    "falls as a set grows, so compare sets of similar size.",
]


def build_summary(
    subjectivity: Mapping[str, int],
    evals: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
    methods: Sequence[str],
    classifiers: Sequence[str],
    diversity: Mapping[str, Mapping[str, Mapping[str, Any]]],
    curves: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``evals[task][source][classifier]`` holds the scores of ``evaluation.combine_seeds``;
    ``diversity[task][source]`` the figures of ``diversity.describe_set``; ``curves[task]`` the
    learning_curve stage's output, from which each synthetic set's worth in real examples follows."""
    tasks: dict[str, Any] = {}
    for task, by_source in evals.items():
        scores = {source: {clf: _scores(by_source[source][clf]) for clf in classifiers} for source in ["real", *methods]}
        gap = {method: {clf: _gap(scores["real"][clf], scores[method][clf]) for clf in classifiers} for method in methods}
        tasks[task] = {"subjectivity": subjectivity[task], "scores": scores, "gap": gap, "diversity": diversity[task]}
        if curves and task in curves:
            tasks[task].update(_worth(curves[task], scores, methods))
    ordered = sorted(tasks)
    correlations = {
        method: {
            clf: correlation(
                [tasks[t]["subjectivity"] for t in ordered], [tasks[t]["gap"][method][clf]["macro_f1"] for t in ordered]
            )
            for clf in classifiers
        }
        for method in methods
    }
    return {"tasks": tasks, "subjectivity_vs_gap": correlations}


def _worth(curve: Mapping[str, Any], scores: Mapping[str, Any], methods: Sequence[str]) -> dict[str, Any]:
    """The real-data learning curve of each classifier (Macro-F1 by number of real examples, the
    full set's from the ``real`` source) and what each synthetic set is worth on it."""
    points = {
        clf: {**{int(n): s["macro_f1"] for n, s in by_size.items()}, curve["n_train"]: scores["real"][clf]["macro_f1"]}
        for clf, by_size in curve["curve"].items() if clf in scores["real"]
    }
    worth = {m: {clf: real_examples_worth(points[clf], scores[m][clf]["macro_f1"]) for clf in points} for m in methods}
    mixed = {
        m: {clf: {n: s["macro_f1"] for n, s in sorted(by_size.items(), key=lambda item: int(item[0]))} for clf, by_size in by_clf.items()}
        for m, by_clf in curve.get("mixed", {}).items() if m in methods
    }
    return {"learning_curve": {clf: {str(n): f for n, f in sorted(p.items())} for clf, p in points.items()},
            "worth_real_examples": worth, **({"mixed_curve": mixed} if mixed else {})}


def _scores(evaluated: Mapping[str, Any]) -> dict[str, Any]:
    """Macro-F1 and accuracy (means over seeds), with their spread when there were several seeds."""
    kept = {k: evaluated[k] for k in ("macro_f1", "accuracy")}
    if len(evaluated.get("seeds", {})) > 1:
        kept.update({k: evaluated[k] for k in ("macro_f1_std", "accuracy_std")}, n_seeds=len(evaluated["seeds"]))
    return kept


def _gap(real: Mapping[str, float], synthetic: Mapping[str, float]) -> dict[str, float | None]:
    """Real minus synthetic in points, and the Macro-F1 gap as a share of the real score (the part
    of what real data achieves that synthetic data loses)."""
    gap: dict[str, float | None] = {k: real[k] - synthetic[k] for k in ("macro_f1", "accuracy")}
    gap["macro_f1_relative"] = gap["macro_f1"] / real["macro_f1"] if real["macro_f1"] else None
    return gap


def _seeds(summary: Mapping[str, Any]) -> int:
    """How many seeds the scores are averaged over (1 when nothing says more)."""
    return max((s.get("n_seeds", 1) for t in summary["tasks"].values() for by_clf in t["scores"].values()
                for s in by_clf.values()), default=1)


def _stars(level: int) -> str:
    return "★" * level + "☆" * (5 - level)


def _signed(x: float | None) -> str:
    return "–" if x is None else f"{x:+.2f}"


def _p(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f}" if x >= 0.01 else f"{x:.0e}"


def _by_subjectivity(tasks: Mapping[str, Any]) -> list[str]:
    """Task names from the most objective to the most subjective, as the paper orders them."""
    return sorted(tasks, key=lambda t: (tasks[t]["subjectivity"], t))


def scores_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str:
    """The paper's Table 1 layout: task, subjectivity, then Macro-F1 / accuracy per training source."""
    sources = ["real", *methods]
    head = "| Task | Subjectivity | " + " | ".join(f"{SOURCE_TITLES.get(s, s)} F1 | {SOURCE_TITLES.get(s, s)} Acc" for s in sources) + " |"
    rule = "|---|---|" + "---:|---:|" * len(sources)
    rows = []
    tasks = summary["tasks"]
    for task in _by_subjectivity(tasks):
        cells = []
        for source in sources:
            s = tasks[task]["scores"][source][classifier]
            cells += [percent(s["macro_f1"], s.get("macro_f1_std")), percent(s["accuracy"], s.get("accuracy_std"))]
        rows.append(f"| {task} | {_stars(tasks[task]['subjectivity'])} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def gap_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str:
    """Real minus synthetic Macro-F1 per task and method, in points and as a share of the real score."""
    head = "| Task | Subjectivity | " + " | ".join(f"{SOURCE_TITLES.get(m, m)} gap (relative)" for m in methods) + " |"
    rows = [head, "|---|---|" + "---:|" * len(methods)]
    tasks = summary["tasks"]
    for task in _by_subjectivity(tasks):
        cells = []
        for method in methods:
            g = tasks[task]["gap"][method][classifier]
            relative = "–" if g.get("macro_f1_relative") is None else f"{100 * g['macro_f1_relative']:.0f}%"
            cells.append(f"{100 * g['macro_f1']:+.1f} ({relative})")
        rows.append(f"| {task} | {_stars(tasks[task]['subjectivity'])} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def diversity_table(summary: Mapping[str, Any], methods: Sequence[str]) -> str:
    """One row per task x training source: the figures of ``diversity.describe_set``."""
    head = "| Task | Source | Texts | " + " | ".join(DIVERSITY_TITLES.values()) + " |"
    rule = "|---|---|---:|" + "---:|" * len(DIVERSITY_TITLES)
    rows = []
    tasks = summary["tasks"]
    for task in _by_subjectivity(tasks):
        for source in ["real", *methods]:
            figures = tasks[task]["diversity"][source]
            cells = [str(figures["n"]), *(fraction(figures[key]) for key in DIVERSITY_TITLES)]
            rows.append(f"| {task} | {SOURCE_TITLES.get(source, source)} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def _grouped_bars(
    ax: Any, tasks: Mapping[str, Any], sources: Sequence[str], value: Callable[[str, str], float | None]
) -> None:
    """One group of bars per task (most objective first), one bar per source; None leaves a gap."""
    names = _by_subjectivity(tasks)
    width = 0.8 / len(sources)
    for i, source in enumerate(sources):
        values = [value(t, source) for t in names]
        heights = [math.nan if v is None else v for v in values]
        ax.bar([x + i * width for x in range(len(names))], heights, width, label=SOURCE_TITLES.get(source, source))
    ax.set_xticks([x + width * (len(sources) - 1) / 2 for x in range(len(names))])
    ax.set_xticklabels([f"{t}\n{_stars(tasks[t]['subjectivity'])}" for t in names], fontsize=8)


def plot_scores(summary: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path) -> None:
    tasks = summary["tasks"]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(tasks)), 4))
    _grouped_bars(ax, tasks, ["real", *methods], lambda t, s: 100 * tasks[t]["scores"][s][classifier]["macro_f1"])
    ax.set_ylabel("Macro-F1 on real test data (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Trained on real vs synthetic data ({CLASSIFIER_TITLES.get(classifier, classifier)})")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_diversity(summary: Mapping[str, Any], methods: Sequence[str], path: Path) -> None:
    """Remote-Clique, Chamfer distance and similarity to real data, one panel each, per task and source."""
    tasks = summary["tasks"]
    keys = ("remote_clique", "chamfer", "similarity_to_real")
    fig, axes = plt.subplots(len(keys), 1, figsize=(max(6, 1.6 * len(tasks)), 2.4 * len(keys)), sharex=True)
    for ax, key in zip(axes, keys):
        _grouped_bars(ax, tasks, ["real", *methods], lambda t, s: tasks[t]["diversity"][s][key])
        ax.set_ylabel(DIVERSITY_TITLES[key], fontsize=9)
    axes[0].set_title("Diversity of each training set, and its closeness to the real one")
    # Below the last panel, where no bar can hide it.
    axes[-1].legend(fontsize=8, ncol=len(methods) + 1, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    _save(fig, path)


def plot_gap(summary: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path) -> None:
    tasks = summary["tasks"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in methods:
        xs = [tasks[t]["subjectivity"] for t in sorted(tasks)]
        ys = [100 * tasks[t]["gap"][method][classifier]["macro_f1"] for t in sorted(tasks)]
        ax.scatter(xs, ys, label=SOURCE_TITLES.get(method, method))
        for x, y, t in zip(xs, ys, sorted(tasks)):
            ax.annotate(t, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("Task subjectivity (1 = most objective, 5 = most subjective)")
    ax.set_ylabel("Macro-F1 gap: real minus synthetic (points)")
    ax.set_xticks(range(1, 6))
    ax.set_title("The gap against subjectivity")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_agreement(
    evals: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path, curve_key: str = "accuracy_by_agreement"
) -> bool:
    """Accuracy over test items with agreement >= gamma (the paper's Fig. 2), by the annotators'
    agreement or (``curve_key`` accuracy_by_proxy_agreement) the LLM-label proxy; False if no task has it."""
    tasks = [t for t in sorted(evals) if curve_key in evals[t]["real"][classifier]]
    if not tasks:
        return False
    who = "LLM labels'" if curve_key == "accuracy_by_proxy_agreement" else "annotator"
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for source in ["real", *methods]:
            curve = evals[task][source][classifier][curve_key]
            points = [(float(g), 100 * c["accuracy"]) for g, c in curve.items() if c["accuracy"] is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=SOURCE_TITLES.get(source, source))
        _finish_panel(ax, task, f"{who} agreement threshold γ", "accuracy (%)")
    _save(fig, path)
    return True


def _finish_panel(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    """One task's panel of a figure of small multiples."""
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)


# Below this Macro-F1 the real-data classifier has learnt little (a two-class majority guess scores
# about 0.4), so a small gap says more about the task than about the synthetic data.
WEAK_REAL_F1 = 0.5
WORTH_SIGNS = {"about": "≈", "fewer than": "<", "at least": "≥"}


def _worth_text(worth: Mapping[str, Any] | None) -> str:
    return "–" if worth is None else f"{WORTH_SIGNS[worth['relation']]} {worth['real_examples']}"


def curve_classifier(summary: Mapping[str, Any], classifiers: Sequence[str]) -> str | None:
    """The classifier whose learning curve the report reads: the encoder if it has one."""
    curved = {clf for t in summary["tasks"].values() for clf in t.get("learning_curve", {})}
    return next((clf for clf in sorted(classifiers, key=lambda c: c != "encoder") if clf in curved), None)


def worth_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str | None:
    """How many real examples each synthetic set is worth (None if no task has a learning curve)."""
    tasks = summary["tasks"]
    names = [t for t in _by_subjectivity(tasks) if classifier in tasks[t].get("learning_curve", {})]
    if not names:
        return None
    rows = ["| Task | Subjectivity | Real examples (all) | " + " | ".join(f"{SOURCE_TITLES.get(m, m)} is worth" for m in methods) + " |",
            "|---|---|---:|" + "---:|" * len(methods)]
    for task in names:
        sizes = [int(n) for n in tasks[task]["learning_curve"][classifier]]
        worth = tasks[task]["worth_real_examples"]
        cells = [_worth_text(worth[m].get(classifier)) for m in methods]
        rows.append(f"| {task} | {_stars(tasks[task]['subjectivity'])} | {max(sizes)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def mixes_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str | None:
    """Macro-F1 of n real examples alone and with each synthetic set added, and the change in
    points; None if no task has mixes."""
    tasks = summary["tasks"]
    names = [t for t in _by_subjectivity(tasks) if any(classifier in tasks[t].get("mixed_curve", {}).get(m, {}) for m in methods)]
    if not names:
        return None
    rows = ["| Task | Real examples | Real only | " + " | ".join(f"+ {SOURCE_TITLES.get(m, m)} (change)" for m in methods) + " |",
            "|---|---:|---:|" + "---:|" * len(methods)]
    for task in names:
        real = tasks[task]["learning_curve"][classifier]
        mixed = tasks[task]["mixed_curve"]
        for n, alone in real.items():
            cells = []
            for m in methods:
                f1 = mixed.get(m, {}).get(classifier, {}).get(n)
                cells.append("–" if f1 is None else f"{percent(f1)} ({100 * (f1 - alone):+.1f})")
            rows.append(f"| {task} | {n} | {percent(alone)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def plot_learning_curves(summary: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path) -> bool:
    """Macro-F1 against real training examples, with each synthetic set's score as a level line and,
    where measured, the curve of the real subsets with that synthetic set added."""
    tasks = [t for t in _by_subjectivity(summary["tasks"]) if classifier in summary["tasks"][t].get("learning_curve", {})]
    if not tasks:
        return False
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        curve = summary["tasks"][task]["learning_curve"][classifier]
        ax.plot([int(n) for n in curve], [100 * f for f in curve.values()], marker="o", color="black", label="Real (n examples)")
        for method in methods:
            level = summary["tasks"][task]["scores"][method][classifier]["macro_f1"]
            color = f"C{methods.index(method)}"
            ax.axhline(100 * level, linestyle="--", linewidth=1, color=color, label=SOURCE_TITLES.get(method, method))
            mixed = summary["tasks"][task].get("mixed_curve", {}).get(method, {}).get(classifier)
            if mixed:
                ax.plot([int(n) for n in mixed], [100 * f for f in mixed.values()], marker="s", markersize=3, linewidth=1,
                        color=color, label=f"Real + {SOURCE_TITLES.get(method, method).lower()}")
        ax.set_xscale("log")
        _finish_panel(ax, task, "real training examples", "Macro-F1 (%)")
    _save(fig, path)
    return True


def verdicts(summary: Mapping[str, Any], methods: Sequence[str], classifier: str, curved: str | None = None) -> list[str]:
    """One plain sentence per task: how the best synthetic set compares with real data, and what it
    is worth in real examples on the learning curve of ``curved`` (default: ``classifier``)."""
    curved = curved or classifier
    lines = []
    tasks = summary["tasks"]
    for task in _by_subjectivity(tasks):
        t = tasks[task]
        best = max(methods, key=lambda m: t["scores"][m][classifier]["macro_f1"])
        real, synthetic = t["scores"]["real"][classifier]["macro_f1"], t["scores"][best][classifier]["macro_f1"]
        gap = real - synthetic
        if gap <= 0.02:
            judgement = "synthetic data does as well as real data here"
        elif gap <= 0.10:
            judgement = "synthetic data comes close: usable where real data is scarce or costly"
        else:
            judgement = "real data is clearly better: use synthetic data to add to it, not to replace it"
        if real < WEAK_REAL_F1:
            judgement += f" (but the real-data classifier itself scores only {percent(real)}: little to lose)"
        worth = t.get("worth_real_examples", {}).get(best, {}).get(curved)
        to = "" if curved == classifier else f" to {CLASSIFIER_TITLES.get(curved, curved)}"
        worth_text = "" if worth is None else f", worth {worth['relation']} {worth['real_examples']} real examples{to}"
        lines.append(
            f"- **{task}** ({_stars(t['subjectivity'])}): real data {percent(real)}, the best synthetic set "
            f"({SOURCE_TITLES.get(best, best)}) {percent(synthetic)}, {100 * abs(gap):.1f} points {'lower' if gap >= 0 else 'higher'}"
            f"{worth_text}; {judgement}."
        )
    return lines


def render_report(
    summary: Mapping[str, Any],
    methods: Sequence[str],
    classifiers: Sequence[str],
    generation: Mapping[str, Mapping[str, Any]],
    filtering: Mapping[str, Mapping[str, Any]],
    figures: Mapping[str, str],
    subjectivity_notes: Mapping[str, str],
    estimated: Mapping[str, Any] | None = None,
    proxies: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """``generation`` and ``filtering`` map "<task>/<method>" to the stage metrics; ``figures`` maps
    a figure's role to its path relative to the report; ``estimated`` is the subjectivity stage's
    output; ``proxies`` maps a task to its agreement_proxy metrics (tasks that have the proxy only)."""
    models = sorted({g.get("model", "?") for g in generation.values()})
    lines = [
        "# synthclf report: real vs LLM-generated training data",
        "",
        f"Generator: {', '.join(models)}. Each classifier is trained on real data or on synthetic data "
        "and tested on the same real test set. Scores are percentages"
        + (f"; the encoder's are the mean ± standard deviation over {seeds} seeds." if (seeds := _seeds(summary)) > 1 else "."),
        "",
    ]
    primary = "encoder" if "encoder" in classifiers else classifiers[0]
    curved = curve_classifier(summary, classifiers)
    lines += [f"## Verdict per task ({CLASSIFIER_TITLES.get(primary, primary)})", "", *verdicts(summary, methods, primary, curved), ""]
    for clf in classifiers:
        lines += [f"## Scores, {CLASSIFIER_TITLES.get(clf, clf)}", "", scores_table(summary, methods, clf), ""]
        lines += _figure(figures, f"scores-{clf}", "Macro-F1 per task")
    worth = worth_table(summary, methods, curved) if curved else None
    if worth:
        lines += [
            "## How many real examples is the synthetic data worth?",
            "",
            f"The {CLASSIFIER_TITLES.get(curved, curved)} trained on growing stratified subsets of the real training data; "
            "a synthetic set is worth the number of real examples at which that learning curve reaches its Macro-F1 "
            "(interpolated on a log scale; < and ≥ mark scores below or beyond the curve).",
            "",
            worth,
            "",
        ]
        mixes = mixes_table(summary, methods, curved)
        if mixes:
            lines += [
                "### Real data plus synthetic data",
                "",
                "The same real subsets with each synthetic set added, and the change from the real subset alone "
                "(the last row of a task: all real training data plus the synthetic set):",
                "",
                mixes,
                "",
            ]
        lines += _figure(figures, "learning_curve", "Learning curves")
    lines += [
        "## Does the gap grow with subjectivity?",
        "",
        f"Macro-F1 lost by training on synthetic instead of real data ({CLASSIFIER_TITLES.get(primary, primary)}; points, "
        "and in brackets the share of the real-data score):",
        "",
        gap_table(summary, methods, primary),
        "",
        "| Method | Classifier | Spearman ρ (subjectivity vs F1 gap) | p | 95% bootstrap interval | Kendall τ | p | tasks |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for method in methods:
        for clf in classifiers:
            c = summary["subjectivity_vs_gap"][method][clf]
            ci = "–" if c.get("rho_ci95") is None else f"[{c['rho_ci95'][0]:+.2f}, {c['rho_ci95'][1]:+.2f}]"
            lines.append(
                f"| {SOURCE_TITLES.get(method, method)} | {clf} | {_signed(c['spearman_rho'])} | {_p(c['p_value'])} | {ci} "
                f"| {_signed(c.get('kendall_tau'))} | {_p(c.get('kendall_p'))} | {c['n_tasks']} |"
            )
    lines.append("")
    lines += _figure(figures, "gap", "Gap against subjectivity")
    lines += [
        "With only a handful of tasks a rank correlation is fragile: read it as a direction, not a proof.",
        "",
    ]
    if "agreement" in figures:
        lines += ["## Instance level: accuracy over test items with annotator agreement ≥ γ", ""]
        lines += _figure(figures, "agreement", "Accuracy by agreement")
    if proxies:
        lines += agreement_proxy_section(proxies, figures)
    lines += ["## Diversity and closeness to real data", "", diversity_table(summary, methods), ""]
    lines += [f"- {note}" for note in DIVERSITY_NOTES] + [""]
    lines += _figure(figures, "diversity", "Diversity and similarity to real data")
    lines += [
        "## The synthetic data",
        "",
        f"| Task | Method | Requested | Generated | Kept after filtering | Removed ({' / '.join(r.replace('_', ' ') for r in REASONS)}) "
        "| Label issues flagged (cleanlab / LLM judge) | Balance | Tokens in / out | Cost (USD) |",
        "|---|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for key in sorted(generation):
        g, f = generation[key], filtering.get(key, {})
        task, method = key.split("/")
        r = f.get("removed", {})
        removed = " / ".join(str(r.get(reason, 0)) for reason in REASONS)
        balance = f"{f['balance']:.2f}" if "balance" in f else "–"
        checked = f.get("label_check", {})
        flagged = " / ".join("–" if checked.get(k) is None else str(checked[k]) for k in ("cleanlab_flagged", "llm_judge_flagged"))
        lines.append(
            f"| {task} | {SOURCE_TITLES.get(method, method)} | {g.get('wanted', '–')} | {g.get('n', '–')} | {f.get('kept', '–')} | "
            f"{removed} | {flagged} | {balance} | {g.get('tokens_in', 0)} / {g.get('tokens_out', 0)} | {g.get('cost_usd', 0.0):.4f} |"
        )
    lines += ["", "## Task subjectivity levels", ""]
    for task in sorted(subjectivity_notes):
        lines.append(f"- **{task}** ({_stars(summary['tasks'][task]['subjectivity'])}): {subjectivity_notes[task]}")
    lines.append("")
    if estimated:
        lines += estimated_subjectivity_section(estimated, summary["tasks"])
    return "\n".join(lines)


def _figure(figures: Mapping[str, str], key: str, alt: str) -> list[str]:
    """The report lines that show a figure, if the run drew it."""
    return [f"![{alt}]({figures[key]})", ""] if key in figures else []


def agreement_proxy_section(proxies: Mapping[str, Mapping[str, Any]], figures: Mapping[str, str]) -> list[str]:
    """The LLM-label proxy for annotator agreement: how it was measured, how far it matches real raters."""
    samples = sorted({p["samples"] for p in proxies.values()})
    lines = [
        "## Instance level without annotators: agreement of sampled LLM labels",
        "",
        f"The LLM labelled each test text {' or '.join(map(str, samples))} times (independent requests at the sampling "
        "temperature); a text's proxy agreement is the share of its answers that name the most frequent label. Where "
        "the test data also has the annotators' agreement, the rank correlation says how far the proxy can stand in "
        "for them on tasks that have none.",
        "",
        "| Task | Texts labelled | With a proxy | Mean proxy agreement | LLM majority label = gold "
        "| Spearman ρ vs annotators | p | Kendall τ | p |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for task in sorted(proxies):
        p = proxies[task]
        check = p.get("vs_annotators") or {}
        mean = "–" if p["mean_agreement"] is None else f"{p['mean_agreement']:.2f}"
        lines.append(
            f"| {task} | {p['items']} | {p['items_with_proxy']} | {mean} | {percent(p['majority_accuracy'])} "
            f"| {_signed(check.get('spearman_rho'))} | {_p(check.get('p_value'))} "
            f"| {_signed(check.get('kendall_tau'))} | {_p(check.get('kendall_p'))} |"
        )
    lines.append("")
    if "proxy_agreement" in figures:
        lines += ["Accuracy over the test texts whose proxy agreement is at least γ:", ""]
        lines += _figure(figures, "proxy_agreement", "Accuracy by LLM-label agreement")
    return lines


def estimated_subjectivity_section(estimated: Mapping[str, Any], run_tasks: Collection[str]) -> list[str]:
    """The LLM's Bradley-Terry estimate beside the catalogued levels (``metrics/subjectivity.json``)."""
    agreement = estimated["vs_known_levels"]
    reference = estimated["reference_tasks"]
    consistency = estimated.get("position_consistency")
    lines = [
        "## Estimated subjectivity",
        "",
        f"The LLM ({estimated.get('model', '?')}) compared every ordered pair of {len(estimated['tasks'])} tasks "
        f"(\"which task is more objective?\"; {estimated['answered']} of {estimated['comparisons']} answered"
        + ("" if consistency is None else f", the same answer in both orders for {100 * consistency:.0f}% of pairs")
        + "). A Bradley-Terry model turns the outcomes into strengths, placed on the 1-5 scale by a line "
        f"fitted to the levels of the paper's {len(reference)} tasks among them. Against those levels the estimate "
        f"ranks with Spearman ρ = {_signed(agreement['spearman_rho'])} (p = {_p(agreement['p_value'])}) and "
        f"Kendall τ = {_signed(agreement.get('kendall_tau'))} (p = {_p(agreement.get('kendall_p'))}).",
        "",
        "| Task | Level used | Basis | Estimated level | Bradley-Terry strength | Comparisons won |",
        "|---|---|---|---:|---:|---:|",
    ]
    rows = estimated["tasks"]
    for task in sorted(rows, key=lambda t: (rows[t]["estimated_level"], t)):
        r = rows[task]
        name = f"**{task}**" if task in run_tasks else task
        lines.append(f"| {name} | {_stars(r['level'])} | {r['basis']} | {r['estimated_level']:.1f} | {r['strength']:+.2f} | {r['wins']} |")
    lines += ["", "Tasks of this run are in bold. A level far from the estimate is worth a second look.", ""]
    return lines
