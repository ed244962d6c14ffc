"""The report's tables, built as pandas DataFrames from ``metrics/summary.json``'s shape and
rendered as Markdown; every score with its 95% interval in brackets."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from synthclf.filters import REASONS
from synthclf.titles import SOURCE_TITLES, bounds, fraction, percent

DIVERSITY_TITLES = {
    "remote_clique": "Remote-Clique",
    "chamfer": "Chamfer",
    "similarity_to_real": "Similarity to real",
    "distinct_1": "distinct-1",
    "distinct_2": "distinct-2",
}
WORTH_SIGNS = {"about": "≈", "fewer than": "<", "at least": "≥"}


# A cell that shows a figure: a number, signed or not, a bound ("< 25", "≥ 400", "≈ 30") or "–" for none.
_FIGURE = re.compile(r"^(?:\*\*)?(?:[-+−]?\d|[<≥≈–]|\[)")


def markdown(table: pd.DataFrame | Sequence[Mapping[str, Any]], right: Collection[str] | None = None) -> str:
    """A DataFrame, or rows (one dict each, the same keys in the same order), as a Markdown table with
    every cell exactly as given. Columns named in ``right`` are right-aligned (figures) and the others
    left-aligned; without ``right``, the columns whose every cell shows a figure.

    tabulate would otherwise read number-like text as numbers and print "+0.50" as 0.5 and "1.00" as 1.
    """
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    if right is None:
        right = [c for c in frame.columns if all(_FIGURE.match(str(v)) for v in frame[c])]
    align = ["right" if column in right else "left" for column in frame.columns]
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def stars(level: int) -> str:
    return "★" * level + "☆" * (5 - level)


def title(source: str) -> str:
    return SOURCE_TITLES.get(source, source)


def by_subjectivity(tasks: Mapping[str, Any]) -> list[str]:
    """Task names from the most objective to the most subjective, as the paper orders them."""
    return sorted(tasks, key=lambda t: (tasks[t]["subjectivity"], t))


def score_text(record: Mapping[str, Any] | None, key: str = "macro_f1") -> str:
    """A share in percent with its interval: "71.2 [65.0, 77.1]"."""
    return "–" if not record else percent(record.get(key), interval=bounds(record, key))


def points_text(record: Mapping[str, Any] | None, key: str = "macro_f1") -> str:
    """A signed difference in points with its interval: "+12.3 [4.1, 20.0]"."""
    if not record or record.get(key) is None:
        return "–"
    interval = bounds(record, key)
    shown = f"{100 * record[key]:+.1f}"
    return shown if interval is None else f"{shown} [{100 * interval[0]:+.1f}, {100 * interval[1]:+.1f}]"


def scores_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str:
    """The paper's Table 1 layout: task, subjectivity, then Macro-F1 / accuracy per training source."""
    tasks = summary["tasks"]
    rows = []
    for task in by_subjectivity(tasks):
        row = {"Task": task, "Subjectivity": stars(tasks[task]["subjectivity"])}
        for source in ["real", *methods]:
            s = tasks[task]["scores"][source][classifier]
            row[f"{title(source)} F1"] = score_text(s, "macro_f1")
            row[f"{title(source)} Acc"] = score_text(s, "accuracy")
        rows.append(row)
    return markdown(rows)


def gap_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str:
    """Real minus synthetic Macro-F1 per task and method, in points and as a share of the room the
    real-data classifier has above chance, each with its paired interval."""
    tasks = summary["tasks"]
    rows = []
    for task in by_subjectivity(tasks):
        t = tasks[task]
        row = {"Task": task, "Subjectivity": stars(t["subjectivity"]), "Real": score_text(t["scores"]["real"][classifier]),
               "Chance": percent(t["chance_macro_f1"])}
        for method in methods:
            g = t["gap"][method][classifier]
            row[f"{title(method)} gap (points)"] = points_text(g)
            row[f"{title(method)} gap (% of room)"] = points_text(g, "macro_f1_relative")
        rows.append(row)
    return markdown(rows)


def trend_table(summary: Mapping[str, Any], methods: Sequence[str], classifiers: Sequence[str]) -> str:
    """Rank correlations of subjectivity with the gap in points and with the relative gap."""
    rows = []
    for measure, key in (("points", "subjectivity_vs_gap"), ("share of room above chance", "subjectivity_vs_relative_gap")):
        for method in methods:
            for clf in classifiers:
                c = summary[key][method][clf]
                ci = bounds(c, "spearman_rho")
                rows.append({
                    "Gap in": measure, "Method": title(method), "Classifier": clf,
                    "Spearman ρ": signed(c.get("spearman_rho")), "p": p_text(c.get("p_value")),
                    "Smallest p possible": p_text(c.get("min_p_value")),
                    "95% bootstrap interval": "–" if ci is None else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]",
                    "Kendall τ": signed(c.get("kendall_tau")), "Tasks": c["n_tasks"],
                })
    return markdown(rows)


def diversity_table(summary: Mapping[str, Any], methods: Sequence[str]) -> str:
    """One row per task x training source: the figures of ``diversity.describe_set`` on size-matched
    samples, the mean over draws with the range of the draws in brackets."""
    tasks = summary["tasks"]
    rows = []
    for task in by_subjectivity(tasks):
        for source in ["real", *methods]:
            figures = tasks[task]["diversity"][source]
            row = {"Task": task, "Source": title(source), "Texts per sample": figures.get("n"), "Draws": figures.get("draws")}
            for key, name in DIVERSITY_TITLES.items():
                span = bounds(figures, key)
                row[name] = fraction(figures.get(key)) + ("" if span is None else f" [{span[0]:.3f}, {span[1]:.3f}]")
            rows.append(row)
    return markdown(rows)


def worth_text(worth: Mapping[str, Any] | None) -> str:
    """"≈ 120 [60, 250]": where the monotone real-data curve reaches the synthetic score and its interval."""
    if worth is None:
        return "–"
    def end(side: str) -> str:
        relation = worth.get(f"relation_{side}", "about")
        return ("" if relation == "about" else f"{WORTH_SIGNS[relation]} ") + str(worth[f"real_examples_{side}"])

    span = f" [{end('low')}, {end('high')}]" if worth.get("real_examples_low") is not None else ""
    return f"{WORTH_SIGNS[worth['relation']]} {worth['real_examples']}{span}"


def worth_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str | None:
    """How many real examples each synthetic set is worth (None if no task has a learning curve)."""
    tasks = summary["tasks"]
    names = [t for t in by_subjectivity(tasks) if classifier in tasks[t].get("learning_curve", {})]
    if not names:
        return None
    rows = []
    for task in names:
        sizes = [int(n) for n in tasks[task]["learning_curve"][classifier]]
        row = {"Task": task, "Subjectivity": stars(tasks[task]["subjectivity"]), "Real examples (all)": max(sizes)}
        for m in methods:
            row[f"{title(m)} is worth"] = worth_text(tasks[task]["worth_real_examples"][m].get(classifier))
        rows.append(row)
    return markdown(rows)


def matched_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str | None:
    """Each synthetic set against real subsets of its own size (several draws), paired on the items."""
    tasks = summary["tasks"]
    rows = []
    for task in by_subjectivity(tasks):
        for m in methods:
            matched = tasks[task].get("size_matched", {}).get(m, {}).get(classifier)
            if matched:
                rows.append({"Task": task, "Method": title(m), "Examples": matched["size"],
                             "Real, same size": score_text(matched["real"]), "Synthetic": score_text(matched["synthetic"]),
                             "Real − synthetic (points)": points_text(matched["difference"])})
    return markdown(rows) if rows else None


def mixes_table(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> str | None:
    """Macro-F1 of n real examples alone and with each synthetic set added, and the paired gain;
    None if no task has mixes."""
    tasks = summary["tasks"]
    rows = []
    for task in by_subjectivity(tasks):
        mixed = tasks[task].get("mixed_curve", {})
        if not any(classifier in mixed.get(m, {}) for m in methods):
            continue
        real = tasks[task]["learning_curve"][classifier]
        sizes = sorted({int(n) for m in methods for n in mixed.get(m, {}).get(classifier, {})})
        for n in sizes:
            row = {"Task": task, "Real examples": n, "Real only": score_text(real.get(str(n)))}
            for m in methods:
                point = mixed.get(m, {}).get(classifier, {}).get(str(n))
                row[f"+ {title(m)}"] = score_text(point)
                row[f"+ {title(m)} gain (points)"] = points_text((point or {}).get("gain"))
            rows.append(row)
    return markdown(rows) if rows else None


def synthetic_data_table(generation: Mapping[str, Mapping[str, Any]], filtering: Mapping[str, Mapping[str, Any]]) -> str:
    """What each synthetic set asked for, what generation and filtering left, and what it cost."""
    rows = []
    for key in sorted(generation):
        g, f = generation[key], filtering.get(key, {})
        task, method = key.split("/")
        removed = f.get("removed", {})
        checked = f.get("label_check", {})
        rows.append({
            "Task": task, "Method": title(method), "Replicates": g.get("replicates", 1), "Requested": g.get("wanted", "–"),
            "Generated": g.get("n", "–"), "Kept after filtering": f.get("kept", "–"),
            f"Removed ({' / '.join(r.replace('_', ' ') for r in REASONS)})": " / ".join(str(removed.get(r, 0)) for r in REASONS),
            "Label issues flagged (cleanlab / LLM judge)": " / ".join(
                "–" if checked.get(k) is None else str(checked[k]) for k in ("cleanlab_flagged", "llm_judge_flagged")),
            "Balance": f"{f['balance']:.2f}" if "balance" in f else "–",
            "Tokens in / out": f"{g.get('tokens_in', 0)} / {g.get('tokens_out', 0)}",
            "Cost (USD)": f"{g.get('cost_usd', 0.0):.4f}",
        })
    return markdown(rows)


def proxy_table(proxies: Mapping[str, Mapping[str, Any]]) -> str:
    """The LLM-label agreement proxy per task, and how far it ranks like the annotators' agreement."""
    rows = []
    for task in sorted(proxies):
        p = proxies[task]
        check = p.get("vs_annotators") or {}
        rows.append({
            "Task": task, "Texts labelled": p["items"], "With a proxy": p["items_with_proxy"],
            "Mean proxy agreement": "–" if p["mean_agreement"] is None else f"{p['mean_agreement']:.2f}",
            "LLM majority label = gold": percent(p["majority_accuracy"]),
            "Spearman ρ vs annotators": signed(check.get("spearman_rho")), "p": p_text(check.get("p_value")),
            "Kendall τ": signed(check.get("kendall_tau")), "p (τ)": p_text(check.get("kendall_p")),
        })
    return markdown(rows)


def estimated_subjectivity_table(estimated: Mapping[str, Any], run_tasks: Sequence[str] | set[str]) -> str:
    """The LLM's Bradley-Terry estimate beside the catalogued level of every task it compared."""
    tasks = estimated["tasks"]
    rows = []
    for task in sorted(tasks, key=lambda t: (tasks[t]["estimated_level"], t)):
        r = tasks[task]
        rows.append({"Task": f"**{task}**" if task in run_tasks else task, "Level used": stars(r["level"]), "Basis": r["basis"],
                     "Estimated level": f"{r['estimated_level']:.1f}", "Bradley-Terry strength": f"{r['strength']:+.2f}",
                     "Comparisons won": r["wins"]})
    return markdown(rows)


def signed(x: float | None) -> str:
    return "–" if x is None else f"{x:+.2f}"


def p_text(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f}" if x >= 0.01 else f"{x:.0e}"
