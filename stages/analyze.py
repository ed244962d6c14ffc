"""analyze: real vs synthetic across tasks, with intervals, and the gap against subjectivity
-> metrics/summary.json, reports/report.md, reports/figures/*.png"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.figures import plot_agreement, plot_diversity, plot_gap, plot_learning_curves, plot_scores
from synthclf.io import atomic_write, read_json, write_json
from synthclf.params import load_params
from synthclf.report import curve_classifier, render_report
from synthclf.summary import build_summary
from synthclf.tasks import load_task

FIGURES = Path("reports/figures")


def main(args):
    params = load_params()
    tasks = {name: load_task(name) for name in params.tasks}
    evals = {name: read_json(Path("metrics/eval") / f"{name}.json") for name in tasks}
    diversity = {name: read_json(Path("metrics/diversity") / f"{name}.json") for name in tasks}
    classifiers = params.train.classifiers
    subjectivity = {n: t.subjectivity for n, t in tasks.items()}
    curves = {name: read_json(Path("metrics/learning_curve") / f"{name}.json") for name in tasks}
    summary = build_summary(subjectivity, evals, params.methods, classifiers, diversity, curves)

    figures = {}
    for clf in classifiers:
        plot_scores(summary, params.methods, clf, FIGURES / f"scores-{clf}.png")
        figures[f"scores-{clf}"] = f"figures/scores-{clf}.png"
    primary = "encoder" if "encoder" in classifiers else classifiers[0]
    plot_gap(summary, params.methods, primary, FIGURES / "gap_vs_subjectivity.png")
    figures["gap"] = "figures/gap_vs_subjectivity.png"
    curved = curve_classifier(summary, classifiers)
    if curved and plot_learning_curves(summary, params.methods, curved, FIGURES / "learning_curves.png"):
        figures["learning_curve"] = "figures/learning_curves.png"
    plot_diversity(summary, params.methods, FIGURES / "diversity.png")
    figures["diversity"] = "figures/diversity.png"
    if plot_agreement(evals, params.methods, primary, FIGURES / "accuracy_by_agreement.png"):
        figures["agreement"] = "figures/accuracy_by_agreement.png"
    proxy_path = FIGURES / "accuracy_by_proxy_agreement.png"
    if plot_agreement(evals, params.methods, primary, proxy_path, curve_key="accuracy_by_proxy_agreement"):
        figures["proxy_agreement"] = f"figures/{proxy_path.name}"

    keys = [(t, m) for t in tasks for m in params.methods]
    generation = {f"{t}/{m}": read_json(Path("metrics/generate") / f"{t}-{m}.json") for t, m in keys}
    filtering = {f"{t}/{m}": read_json(Path("metrics/filter") / f"{t}-{m}.json") for t, m in keys}
    notes = {n: t.subjectivity_note for n, t in tasks.items()}
    estimated = read_json(Path("metrics/subjectivity.json"))
    summary["estimated_subjectivity"] = {t: estimated["tasks"][t]["estimated_level"] for t in tasks if t in estimated["tasks"]}
    proxies = {t: read_json(Path("metrics/agreement_proxy") / f"{t}.json") for t in tasks}
    summary["agreement_proxy"] = proxies = {t: p for t, p in proxies.items() if p["enabled"]}
    report = render_report(summary, params.methods, classifiers, generation, filtering, figures, notes, estimated, proxies,
                           params.intervals.level)
    write_json("metrics/summary.json", summary)
    with atomic_write("reports/report.md") as fh:
        fh.write(report)
    print(f"wrote metrics/summary.json and reports/report.md ({len(tasks)} tasks)")


if __name__ == "__main__":
    run_stage(__doc__, main)
