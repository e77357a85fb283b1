"""The package's shape, checked where it matters: the formulas run without mmcv's compiled ops, the
reports render without torch or mmcv, and the mmdet plugin never imports the pipeline."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from dag import write_evidence

REPO = Path(__file__).resolve().parent.parent
FORMULA_TESTS = ["tests/test_o2f_formulas.py", "tests/test_hand_computed.py"]


def run_blocked(blocked: list[str], code: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter where importing any of ``blocked`` fails."""
    prelude = ("import sys\nclass Blocked:\n    def find_spec(self, name, path=None, target=None):\n"
               f"        if any(name == b or name.startswith(b + '.') for b in {blocked!r}):\n"
               "            raise ImportError(f'{name} is blocked')\nsys.meta_path.insert(0, Blocked())\n")
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=cwd, capture_output=True, text=True)


def test_formula_tests_pass_without_mmcvs_compiled_ops():
    done = run_blocked(["mmcv._ext"], f"import pytest\nsys.exit(pytest.main({FORMULA_TESTS!r} + "
                                      "['-q', '-p', 'no:cacheprovider', '-o', 'addopts=']))")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_reports_render_without_torch_or_mmcv(tmp_path):
    """A table, Figure 5, the claims report and the index page from a finished run's metrics file."""
    epochs = [{"epoch": e, "coco/nms_bbox_mAP": 0.1 * e, "coco/nonms_bbox_mAP": 0.09 * e} for e in (1, 2)]
    write_evidence(tmp_path, "demo", "o2f_r50_1x", 0, epochs)
    code = f"""
from pathlib import Path
import yaml
from o2f.pipeline.plan import Plan
from o2f.reporting.claims import claims_frame, evaluate_claims, write_claims
from o2f.reporting.figures import curves_figure
from o2f.reporting.index import render_index
from o2f.reporting.results import Results
from o2f.reporting.tables import table_frame, write_table
settings = {{**yaml.safe_load(Path('{REPO}/configs/pipeline.yaml').read_text()), 'tables': ['headline', 'figure5']}}
plan = Plan.from_files('{REPO}/configs/tables.yaml', settings, root=Path('{REPO}'))
results = Results(plan, root=Path('{tmp_path}'))
out = Path('{tmp_path}/reports')
write_table(table_frame(plan, results, 'headline'), 'headline', out / 'headline', 'demo', [], '')
curves_figure(plan, results, 'figure5', out / 'figure5')
write_claims(claims_frame(evaluate_claims(plan, results), [0]), out / 'claims', 'demo', [0])
render_index({{'headline': ('t', Path('headline.csv'))}}, {{'figure5': ('f', Path('figure5.png'))}},
             out / 'index.html', 'demo', [], Path('{REPO}'), claims=Path('claims.csv'))
assert not any(m in sys.modules for m in ('torch', 'mmcv', 'mmdet')), 'loaded the training stack'
"""
    done = run_blocked(["torch", "mmcv", "mmdet"], code)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = tmp_path / "reports"
    assert "Ours-3convs" in (reports / "headline.md").read_text()
    assert (reports / "figure5.png").stat().st_size > 0 and (reports / "claims.md").exists()
    assert "claims" in (reports / "index.html").read_text().lower()


def imported_modules(path: Path) -> set[str]:
    """The o2f modules a source file imports, relative imports resolved."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            found.add(".".join(p for p in (base, node.module or "") if p))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("o2f")}


# The package's parts, by role: the first folder under o2f/ names a module's part; a module at o2f/'s top
# (errors, result-file names, the failed-run rule, the bootstrap's draws) is shared by all of them.
PARTS = {"models": "plugin", "assigners": "plugin", "evaluation": "plugin", "datasets": "plugin",
         "engine": "plugin", "plugin.py": "plugin", "pipeline": "pipeline", "reporting": "reporting",
         "deploy": "deploy"}
# Which parts each part may import (besides itself and the shared modules).
MAY_IMPORT = {"plugin": set(), "deploy": {"plugin"}, "pipeline": {"plugin", "deploy"}, "reporting": {"pipeline"},
              "shared": set()}


def part_of(module: str) -> str:
    """The part of a module named ``o2f.x.y`` (or of the file ``o2f/x/y.py``)."""
    parts = module.split(".")
    if len(parts) < 2:
        return "shared"
    return PARTS.get(parts[1], PARTS.get(f"{parts[1]}.py", "shared"))


def test_every_module_imports_only_the_parts_its_own_may():
    sources = sorted((REPO / "o2f").rglob("*.py"))
    assert len(sources) > 50
    offenders = {}
    for path in sources:
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        own = part_of(module)
        allowed = {own, "shared", *MAY_IMPORT[own]}
        bad = sorted(m for m in imported_modules(path) if part_of(m) not in allowed)
        if bad:
            offenders[module] = bad
    assert offenders == {}


def test_part_of_reads_the_first_folder():
    assert part_of("o2f.models.o2f_head") == "plugin" and part_of("o2f.plugin") == "plugin"
    assert part_of("o2f.pipeline.data.checks") == "pipeline" and part_of("o2f.reporting.claims") == "reporting"
    assert part_of("o2f.errors") == "shared" and part_of("o2f") == "shared"


def test_the_plugin_imports_without_the_pipeline_dependencies():
    """An mmdet user's ``custom_imports = dict(imports=['o2f.plugin'])`` needs mmdet, not the DAG's tools."""
    plugin_modules = sorted(".".join(p.relative_to(REPO).with_suffix("").parts) for p in (REPO / "o2f").rglob("*.py")
                            if part_of(".".join(p.relative_to(REPO).with_suffix("").parts)) == "plugin")
    code = (f"import importlib\nfor name in {plugin_modules!r}:\n    importlib.import_module(name)\n"
            "assert not any(m.split('.')[0] in ('snakemake', 'mlflow', 'pandas', 'onnx') "
            "for m in sys.modules), 'loaded a pipeline dependency'\n")
    done = run_blocked(["snakemake", "mlflow", "pandas", "onnx", "onnxruntime", "onnxscript"], code)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_dags_parse_imports_no_torch():
    """Every Snakemake start (two per job on Slurm) parses the workflow: its modules must not pull torch in."""
    done = run_blocked(["torch", "mmcv", "mmdet"], "import o2f.pipeline.plan, o2f.pipeline.layout, o2f.pipeline.config")
    assert done.returncode == 0, done.stderr[-2000:]
