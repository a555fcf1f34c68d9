"""How long `attnmod report` takes for a 16-item run (the acceptance bound is 30 s on a 2-core CPU).

Makes a real run with the tiny model (8 prompts x variants none and full, seed 0, through ``run_ablation``, one
process), then builds its report several times in fresh processes (so every build pays the imports, as the
command does) and prints the median wall time of: HTML only, HTML + PDF, and the HTML + PDF build inside one
process after a warm-up (the figures and PDF alone, without import costs).

    python benchmarks/report_build.py [--repeats 3] [--run FOLDER] [--keep] [--screenshots docs]

With ``--screenshots DIR`` it also diagnoses one prompt with the tiny model and writes the README screenshots
``DIR/report-run.png`` and ``DIR/report-diagnosis.png`` (the top of each HTML report in headless Chromium, reduced
to a 256-colour palette).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

PROMPTS = [
    "a red car and a white sheep",
    "a blue cup on a wooden table",
    "a green apple beside a yellow banana",
    "a black cat and a brown dog",
    "a small house near a big tree",
    "a pink flower in a glass vase",
    "an orange ball and a purple box",
    "a silver spoon next to a golden bowl",
]
BUILD = (
    "import sys; from attnmod.reports.run_report import write_run_report; "
    "write_run_report(sys.argv[1], out_dir=sys.argv[2], formats=sys.argv[3])"
)


def make_run(folder: Path) -> float:
    from attnmod.lightning_modules.run import run_ablation

    source = folder.parent / "prompts.txt"
    source.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    start = time.perf_counter()
    summary = run_ablation(
        [str(source)], folder, variants=("none", "full"), seeds=(0,), accelerator="cpu", devices=1, progress=False
    )
    if summary.done != 16:
        raise SystemExit(f"expected 16 done items, got {summary}")
    return time.perf_counter() - start


def build_in_subprocess(run: Path, out: Path, formats: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", BUILD, str(run), str(out), formats], check=True)
    return time.perf_counter() - start


def screenshots(run: Path, workspace: Path, out: Path) -> None:
    """The top of both reports at laptop width, as small palette PNGs."""
    import io

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from attnmod.reports.diagnosis_report import write_diagnosis_report
    from attnmod.reports.run_report import write_run_report
    from attnmod.toolkit.models.loading import load_model
    from attnmod.workflows import run_diagnosis
    from browser import check_page

    diagnosis = workspace / "diagnosis"
    run_diagnosis(
        load_model("tiny", device="cpu", dtype="float32"), PROMPTS[0], variant="full", out_dir=diagnosis, formats=()
    )
    pages = {
        "report-diagnosis.png": write_diagnosis_report(diagnosis, formats="html")[0],
        "report-run.png": write_run_report(run, out_dir=workspace / "shots", formats="html", worst=2)[0],
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():
        check = check_page(page, width=1100, height=900)
        if check.errors or check.broken_images:
            raise SystemExit(f"{page}: {check.errors} {check.broken_images}")
        with Image.open(io.BytesIO(check.screenshot)) as shot:
            top = shot.convert("RGB").crop((0, 0, shot.width, min(shot.height, 1500)))
            top = top.quantize(256, method=Image.Quantize.FASTOCTREE)
            top.save(out / name, optimize=True)
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", type=Path, default=None, help="use this 16-item run instead of making one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary run and reports")
    parser.add_argument("--screenshots", type=Path, default=None, help="also write the README screenshots here")
    args = parser.parse_args()
    print(f"machine: {machine_description()}")

    workspace = Path(tempfile.mkdtemp(prefix="attnmod-report-bench-"))
    run = args.run
    if run is None:
        run = workspace / "run"
        print(f"made the 16-item run in {make_run(run):.1f} s ({run})")

    results = {}
    for formats in ("html", "html,pdf"):
        times = [build_in_subprocess(run, workspace / f"out-{formats}", formats) for _ in range(args.repeats)]
        results[formats] = times
        print(
            f"report --format {formats:<8} median {statistics.median(times):6.2f} s  (runs: "
            + ", ".join(f"{t:.2f}" for t in times)
            + ")"
        )

    from attnmod.reports.run_report import write_run_report

    write_run_report(run, out_dir=workspace / "warm", formats="html,pdf")
    warm = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        write_run_report(run, out_dir=workspace / "warm", formats="html,pdf")
        warm.append(time.perf_counter() - start)
    print(f"in-process html,pdf (warm) median {statistics.median(warm):6.2f} s")
    html_size = (workspace / "out-html" / "report.html").stat().st_size
    pdf_size = (workspace / "out-html,pdf" / "report.pdf").stat().st_size
    print(f"sizes: report.html {html_size / 1e6:.2f} MB, report.pdf {pdf_size / 1e6:.2f} MB")
    bound = 30.0
    worst = max(results["html,pdf"])
    print(f"slowest html,pdf build {worst:.2f} s vs bound {bound:.0f} s: {'OK' if worst < bound else 'TOO SLOW'}")
    if args.screenshots is not None:
        screenshots(run, workspace, args.screenshots)
    if args.keep:
        print(f"kept {workspace}")
    else:
        import shutil

        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
