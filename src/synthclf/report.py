"""The readable report: verdicts that claim a difference only where its interval excludes zero, the
tables of :mod:`synthclf.tables` and the figures of :mod:`synthclf.figures`, with the words that say
how each number was measured and how far it can be trusted."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from synthclf.intervals import excludes_zero
from synthclf.tables import (
    by_subjectivity,
    diversity_table,
    estimated_subjectivity_table,
    gap_table,
    markdown,
    matched_table,
    mixes_table,
    p_text,
    points_text,
    proxy_table,
    scores_table,
    signed,
    stars,
    synthetic_data_table,
    title,
    trend_table,
    worth_table,
    worth_text,
)
from synthclf.titles import CLASSIFIER_TITLES, bounds, percent

# What each figure of the diversity table means, in the report's words.
DIVERSITY_NOTES = [
    "Every source is measured on random samples of the same size (the task's smallest synthetic replicate set), "
    "several draws each: the figures depend on set size, so 400 real texts against 30 synthetic ones would not compare. "
    "The brackets give the range over the draws.",
    "**Remote-Clique**: the mean cosine distance between two texts of the set; higher means more varied.",
    "**Chamfer**: the mean cosine distance from a text to its nearest other text; near 0 means near-duplicates.",
    "**Similarity to real**: the mean of each text's top-k cosine similarities to the real training texts "
    "(k = `diversity.top_k`, 5 as in the paper; for real data, to the *other* real texts); higher means closer to real data.",
    "**distinct-n**: unique word n-grams over all n-grams of the sample; lower means repeated wording.",
]
# A real-data classifier less than this far above chance has little room to lose, so a small gap
# there says more about the task than about the synthetic data.
LITTLE_ROOM = 0.10


def curve_classifier(summary: Mapping[str, Any], classifiers: Sequence[str]) -> str | None:
    """The classifier whose learning curve the report reads: the encoder if it has one."""
    curved = {clf for t in summary["tasks"].values() for clf in t.get("learning_curve", {})}
    return next((clf for clf in sorted(classifiers, key=lambda c: c != "encoder") if clf in curved), None)


def called(difference: Mapping[str, Any] | None) -> int:
    """+1 or -1 where the report calls a difference (real - synthetic, method - method): its interval
    excludes zero and, for a gap, the real-data classifier is detectably above chance (where it is
    not, neither source has learned the task, and which of two failures fails less is no verdict on
    synthetic data); else 0."""
    if not difference or difference.get("real_above_chance") is False or not excludes_zero(difference):
        return 0
    return 1 if difference["macro_f1"] > 0 else -1


def gap_sentence(gap: Mapping[str, Any], chance: float, level: float) -> str:
    """"worse by 12.3 points [4.1, 20.0]" only where :func:`called` calls the gap."""
    if gap.get("macro_f1") is None:
        return "no gap could be measured"
    span = f"[{100 * gap['macro_f1_low']:.1f}, {100 * gap['macro_f1_high']:.1f}]"
    measured = f"real − synthetic {100 * gap['macro_f1']:+.1f} points, {level:.0%} family-wise interval {span}"
    if not gap.get("real_above_chance", True):
        return (f"no verdict: the real-data classifier is not detectably above chance ({percent(chance)}) either, so "
                f"neither has learned the task at this size and their difference ({measured}) says nothing about "
                "the synthetic data")
    sign = called(gap)
    if not sign:
        return f"no detectable difference at this size ({measured})"
    direction = "worse" if sign > 0 else "better"
    return (f"synthetic data is {direction} by {100 * abs(gap['macro_f1']):.1f} points ({level:.0%} family-wise interval "
            f"of real − synthetic {span})")


def family_note(summary: Mapping[str, Any], level: float) -> str:
    """How the intervals of differences share the level, from the levels the metrics carry."""
    gaps = [g for t in summary["tasks"].values() for by_clf in t["gap"].values() for g in by_clf.values()]
    gap_level = next((g["level"] for g in gaps if "level" in g), level)
    if gap_level <= level:
        return f"Each difference's interval is at {level:.0%} on its own."
    m = round((1 - level) / (1 - gap_level))
    return (f"A task's differences of one kind (its real − synthetic gaps, its method comparisons, its size-matched "
            f"comparisons, its mixes' gains) are one family, whose intervals hold *together* at {level:.0%} (Bonferroni: "
            f"with m differences each interval is at 1 − {1 - level:.0%}/m, e.g. {gap_level:.2%} for the {m} real − synthetic "
            f"gaps): m intervals at {level:.0%} each would call some difference real in about m × {1 - level:.0%} of runs "
            "where there is none, and another sample would not repeat it. A gap is a verdict only where the real-data "
            "classifier is detectably above chance.")


def verdicts(
    summary: Mapping[str, Any], methods: Sequence[str], classifier: str, level: float, curved: str | None = None,
) -> list[str]:
    """One plain sentence per task: the synthetic method chosen on validation data, how its test
    score compares with real data's, and what it is worth in real examples on the learning curve
    of ``curved`` (default: ``classifier``)."""
    curved = curved or classifier
    lines = []
    tasks = summary["tasks"]
    for task in by_subjectivity(tasks):
        t = tasks[task]
        best = t["best_method"][classifier]
        real, synthetic = t["scores"]["real"][classifier], t["scores"][best][classifier]
        chosen = f" (chosen over {', '.join(title(m) for m in methods if m != best)} on validation data)" if len(methods) > 1 else ""
        gap = t["gap"][best][classifier]
        room = real["macro_f1"] - t["chance_macro_f1"]
        floor = (f" The real-data classifier is only {100 * room:.1f} points above chance ({percent(t['chance_macro_f1'])}): "
                 "little room to lose, so a small gap says little about the synthetic data."
                 if room < LITTLE_ROOM and gap.get("real_above_chance", True) else "")
        worth = t.get("worth_real_examples", {}).get(best, {}).get(curved)
        to = "" if curved == classifier else f" to {CLASSIFIER_TITLES.get(curved, curved)}"
        worth_part = "" if worth is None else f" It is worth {worth_text(worth)} real examples{to}."
        lines.append(
            f"- **{task}** ({stars(t['subjectivity'])}): real data {percent(real['macro_f1'], interval=bounds(real, 'macro_f1'))}, "
            f"{title(best)}{chosen} {percent(synthetic['macro_f1'], interval=bounds(synthetic, 'macro_f1'))}: "
            f"{gap_sentence(gap, t['chance_macro_f1'], level)}.{worth_part}{floor}"
        )
    return lines


def trend_words(summary: Mapping[str, Any], methods: Sequence[str], classifier: str) -> list[str]:
    """What the subjectivity trend can and cannot say with this many tasks."""
    c = summary["subjectivity_vs_gap"][methods[0]][classifier]
    n, floor = c["n_tasks"], c.get("min_p_value")
    lines = [
        "The paper's claim, that the gap grows with subjectivity, is about the drop in points (its Table 1). A task "
        "whose real-data classifier is near chance has little room to lose, which can make the drop *shrink* with "
        "subjectivity for reasons that have nothing to do with synthetic data; the gap as a share of the room above "
        "chance, (real − synthetic) / (real − chance), corrects for that floor. Both are shown.",
        "",
    ]
    if floor is not None and not c.get("testable", floor < 0.05):
        lines += [f"**With {n} tasks this trend cannot be tested**: the smallest p-value an exact permutation test can "
                  f"reach is {p_text(floor)}, so no ranking of {n} tasks is significant at the 5% level, whatever the data. "
                  "The signs of ρ and τ below are not evidence of a direction; run more tasks (README, \"The paper's ten "
                  "tasks\") to test it.", ""]
    else:
        significant = [f"{title(m)}: ρ = {signed(summary[key][m][classifier]['spearman_rho'])}, "
                       f"p = {p_text(summary[key][m][classifier]['p_value'])} ({what})"
                       for key, what in (("subjectivity_vs_gap", "points"), ("subjectivity_vs_relative_gap", "relative"))
                       for m in methods if (summary[key][m][classifier].get("p_value") or 1) < 0.05]
        name = CLASSIFIER_TITLES.get(classifier, classifier)
        lines += [(f"A trend at the 5% level for the {name}: " + "; ".join(significant) + ".") if significant else
                  f"No trend at the 5% level for the {name} with {n} tasks (exact permutation p-values of every "
                  "classifier below).", ""]
    return lines


def judges_sentence(
    generators: Collection[str],
    filtering: Mapping[str, Mapping[str, Any]],
    estimated: Mapping[str, Any] | None,
    proxies: Mapping[str, Mapping[str, Any]] | None,
) -> str:
    """The report's words on which model judged what (the label check, the subjectivity comparisons,
    the agreement proxy), flagging a generator that judged: a model favours its own outputs. "" if none did."""
    judged = [(f["label_check"].get("judge_model"), "label check") for f in filtering.values() if "label_check" in f]
    judged += [((estimated or {}).get("model"), "subjectivity")]
    judged += [(proxy.get("model"), "agreement proxy") for proxy in (proxies or {}).values()]
    roles: dict[str, list[str]] = {}
    for model, role in judged:
        if model is not None and role not in roles.setdefault(model, []):
            roles[model].append(role)
    named = [f"{model} ({', '.join(done)}{'; the generator itself' if model in generators else ''})"
             for model, done in sorted(roles.items())]
    return f" Judge: {', '.join(named)}." if named else ""


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
    level: float = 0.95,
) -> str:
    """``generation`` and ``filtering`` map "<task>/<method>" to the stage metrics; ``figures`` maps
    a figure's role to its path relative to the report; ``estimated`` is the subjectivity stage's
    output; ``proxies`` maps a task to its agreement_proxy metrics (tasks that have the proxy only)."""
    models = sorted({g.get("model", "?") for g in generation.values()})
    replicates = sorted({g.get("replicates", 1) for g in generation.values()})
    real = next(iter(summary["tasks"].values()))["scores"]["real"]
    seeds = (f"; the encoder was trained with {real['encoder'].get('models', 1)} seed(s) per training set"
             if "encoder" in real else "")
    lines = [
        "# synthclf report: real vs LLM-generated training data",
        "",
        f"Generator: {', '.join(models)}.{judges_sentence(models, filtering, estimated, proxies)} "
        "Each classifier is trained on real data or on synthetic data and tested on "
        f"the same real test set. Every synthetic set was generated {' or '.join(map(str, replicates))} times "
        f"independently (replicates){seeds}. A score is the mean "
        f"over replicates × seeds, in percent, with its {level:.0%} interval in brackets: a bootstrap that resamples "
        "the test items and the replicates. A difference (real − synthetic, method − method, mix − real only) is "
        "computed on the same resampled test items, and called a difference only when its interval excludes zero. "
        f"{family_note(summary, level)} "
        "The synthetic method of each verdict is chosen on a validation split held out from the real training data; "
        "the test set is read once for each number.",
        "",
    ]
    primary = "encoder" if "encoder" in classifiers else classifiers[0]
    curved = curve_classifier(summary, classifiers)
    lines += [f"## Verdict per task ({CLASSIFIER_TITLES.get(primary, primary)})", "", *verdicts(summary, methods, primary, level, curved), ""]
    for clf in classifiers:
        lines += [f"## Scores, {CLASSIFIER_TITLES.get(clf, clf)}", "", scores_table(summary, methods, clf), ""]
        lines += _figure(figures, f"scores-{clf}", "Macro-F1 per task")
    lines += _method_differences(summary, methods, classifiers)
    if curved:
        lines += _learning_curve_sections(summary, methods, curved, figures)
    lines += [
        "## Does the gap grow with subjectivity?",
        "",
        f"Macro-F1 lost by training on synthetic instead of real data ({CLASSIFIER_TITLES.get(primary, primary)}), in points "
        "and as a share of the real-data classifier's room above chance (chance: guessing labels uniformly at random):",
        "",
        gap_table(summary, methods, primary),
        "",
        *trend_words(summary, methods, primary),
        trend_table(summary, methods, classifiers),
        "",
    ]
    lines += _figure(figures, "gap", "Gap against subjectivity")
    if "agreement" in figures:
        lines += ["## Instance level: accuracy over test items with annotator agreement ≥ γ", "",
                  "Mean over each source's models (replicates × seeds).", ""]
        lines += _figure(figures, "agreement", "Accuracy by agreement")
    if proxies:
        lines += agreement_proxy_section(proxies, figures)
    lines += ["## Diversity and closeness to real data", "", diversity_table(summary, methods), ""]
    lines += [f"- {note}" for note in DIVERSITY_NOTES] + [""]
    lines += _figure(figures, "diversity", "Diversity and similarity to real data")
    lines += ["## The synthetic data", "", "Summed over the replicates.", "", synthetic_data_table(generation, filtering),
              "", "## Task subjectivity levels", ""]
    for task in sorted(subjectivity_notes):
        lines.append(f"- **{task}** ({stars(summary['tasks'][task]['subjectivity'])}): {subjectivity_notes[task]}")
    lines.append("")
    if estimated:
        lines += estimated_subjectivity_section(estimated, summary["tasks"])
    return "\n".join(lines)


def _method_differences(summary: Mapping[str, Any], methods: Sequence[str], classifiers: Sequence[str]) -> list[str]:
    """Method against method on the same test items, per task and classifier."""
    tasks = summary["tasks"]
    pairs = sorted({pair for t in tasks.values() for pair in t.get("method_differences", {})})
    if not pairs:
        return []
    lines = ["## Method against method", "",
             "Macro-F1 difference in points with its paired interval (a task's method comparisons hold together at "
             "the report's level); **bold** where the interval excludes zero.", ""]
    rows = []
    for task in by_subjectivity(tasks):
        for clf in classifiers:
            row = {"Task": task, "Classifier": clf}
            for pair in pairs:
                d = tasks[task]["method_differences"][pair][clf]
                shown = points_text(d)
                row[" − ".join(title(m) for m in pair.split(" - "))] = f"**{shown}**" if called(d) else shown
            rows.append(row)
    return lines + [markdown(rows), ""]


def _learning_curve_sections(summary: Mapping[str, Any], methods: Sequence[str], curved: str, figures: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    worth = worth_table(summary, methods, curved)
    if worth:
        lines += [
            "## How many real examples is the synthetic data worth?",
            "",
            f"The {CLASSIFIER_TITLES.get(curved, curved)} trained on stratified real subsets of growing size, several "
            "random draws per size. A monotone (isotonic) fit through every draw gives the curve; a synthetic set is worth "
            "the number of real examples at which the fit reaches its Macro-F1, and the interval maps the ends of the "
            "synthetic score's interval the same way (< and ≥ mark scores below or beyond the curve).",
            "",
            worth,
            "",
        ]
    matched = matched_table(summary, methods, curved)
    if matched:
        lines += ["### Synthetic data against the same number of real examples", "",
                  "Real subsets of the size of each synthetic set (several draws), scored on the same test items:", "",
                  matched, ""]
    mixes = mixes_table(summary, methods, curved)
    if mixes:
        lines += ["### Real data plus synthetic data", "",
                  "The same real subsets with each synthetic replicate added; the gain over the real subset alone is paired "
                  "on the test items (the last row of a task: all real training data plus the synthetic set):", "",
                  mixes, ""]
    return lines + _figure(figures, "learning_curve", "Learning curves")


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
        proxy_table(proxies),
        "",
    ]
    if "proxy_agreement" in figures:
        lines += ["Accuracy over the test texts whose proxy agreement is at least γ:", ""]
        lines += _figure(figures, "proxy_agreement", "Accuracy by LLM-label agreement")
    return lines


def estimated_subjectivity_section(estimated: Mapping[str, Any], run_tasks: Collection[str]) -> list[str]:
    """The LLM's Bradley-Terry estimate beside the catalogued levels (``metrics/subjectivity.json``)."""
    agreement = estimated["vs_known_levels"]
    reference = estimated["reference_tasks"]
    consistency = estimated.get("position_consistency")
    return [
        "## Estimated subjectivity",
        "",
        f"The LLM ({estimated.get('model', '?')}) compared every ordered pair of {len(estimated['tasks'])} tasks "
        f"(\"which task is more objective?\"; {estimated['answered']} of {estimated['comparisons']} answered"
        + ("" if consistency is None else f", the same answer in both orders for {100 * consistency:.0f}% of pairs")
        + "). A Bradley-Terry model turns the outcomes into strengths (higher: judged more objective), placed on the 1-5 "
        f"scale by a map that keeps the judge's order and takes only its scale from the levels of the paper's "
        f"{len(reference)} tasks among them. Against those levels the estimate ranks with Spearman ρ = "
        f"{signed(agreement['spearman_rho'])} (p = {p_text(agreement['p_value'])}) and Kendall τ = "
        f"{signed(agreement.get('kendall_tau'))} (p = {p_text(agreement.get('kendall_p'))}); a judge that ranked the tasks "
        "backwards would show ρ = −1.",
        "",
        estimated_subjectivity_table(estimated, set(run_tasks)),
        "",
        "Tasks of this run are in bold. A level far from the estimate is worth a second look.",
        "",
    ]
