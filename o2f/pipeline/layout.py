"""Where a scale's data and runs are: the one reader of ``configs/pipeline.yaml``'s scales, the
config families, the data roots and the work-dir layout. The DAG, a training job, ``o2f train`` on
its own and the reports all ask here, so each of these facts is stated once.

- A *scale* is a settings block in ``configs/pipeline.yaml`` (``scales.<name>``) plus its config
  override file ``configs/_scales_/<name>.py``.
- A config's *family* is the folder it sits in when that folder has its own scale files
  (``configs/crowdhuman/`` reads ``configs/_scales_/crowdhuman/<scale>.py`` and CrowdHuman data);
  every other config is ``coco``: COCO-format detection data.
- A family's *data root* at a scale is ``scales.<scale>.datasets.<family>``. A root that the DAG
  writes itself (``BUILTIN_DATA``) is a declared input of the jobs; any other root is the user's
  and must exist before the DAG starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import O2FError
from ..work_dir import FINAL_METRICS, SPEED

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
SCALE_FILES = CONFIGS / "_scales_"
SETTINGS_FILE = Path("configs") / "pipeline.yaml"
DEFAULT_FAMILY = "coco"
# A run's evidence (o2f.pipeline.evidence): run.json stands for all of it in the DAG; beside it its detections
# and its metrics on the bootstrap's image multisets.
EVIDENCE_RUN, EVIDENCE_DETECTIONS, EVIDENCE_RESAMPLED = "run.json", "detections.json.gz", "resampled.json.gz"

# Data the DAG writes itself (workflow/rules/data.smk, `o2f prepare-data NAME`), one row per dataset: its
# annotation files and, for a copy in CrowdHuman's layout, the built-in dataset it is made from.
COCO_FILES = ("annotations/train.json", "annotations/val.json")
ODGT_FILES = ("annotation_train.odgt", "annotation_val.odgt")
DATA_DIR = "data"


@dataclass(frozen=True)
class BuiltinDataset:
    files: tuple[str, ...]
    source: str | None = None  # the built-in dataset an ODGT copy rewrites

    def inputs(self) -> list[str]:
        return [f"{DATA_DIR}/{self.source}/{name}" for name in COCO_FILES] if self.source else []


BUILTIN_DATASETS = {
    "synthetic_shapes": BuiltinDataset(COCO_FILES),
    "synthetic_shapes_demo": BuiltinDataset(COCO_FILES),  # more shapes, with masks: the CondInst configs' demo data
    "demo_trees": BuiltinDataset(COCO_FILES),
    "synthetic_shapes_odgt": BuiltinDataset(ODGT_FILES, source="synthetic_shapes"),
    "demo_trees_odgt": BuiltinDataset(ODGT_FILES, source="demo_trees"),
}
BUILTIN_DATA = {f"{DATA_DIR}/{name}": dataset.files for name, dataset in BUILTIN_DATASETS.items()}  # root -> files


def settings_path(root: Path | None = None) -> Path:
    """The settings a job or command reads: its working directory's ``configs/pipeline.yaml`` (the
    project a DAG runs in), else the package's own."""
    local = (root or Path.cwd()) / SETTINGS_FILE
    return local if local.exists() else ROOT / SETTINGS_FILE


def load_settings(root: Path | None = None) -> dict:
    path = settings_path(root)
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise O2FError(f"cannot read {path}: {err}") from err


def config_family(config: str | Path) -> str:
    """The family of a config: its folder's name where that folder is one of ``configs/`` and
    ``configs/_scales_/<folder>/`` exists; a config anywhere else is ``coco``."""
    folder = Path(config).resolve().parent
    in_configs = folder.parent == CONFIGS.resolve()
    return folder.name if in_configs and (SCALE_FILES / folder.name).is_dir() else DEFAULT_FAMILY


def scale_file(scale: str, family: str = DEFAULT_FAMILY) -> Path:
    """The config override file of a scale, for a family with its own (it inherits the plain one)."""
    path = SCALE_FILES / f"{scale}.py" if family == DEFAULT_FAMILY else SCALE_FILES / family / f"{scale}.py"
    if not path.exists():
        raise O2FError(f"scale '{scale}' has no config file for {family} configs: {path} is missing")
    return path


class Layout:
    """One scale's data roots and work dirs, from the settings (``configs/pipeline.yaml``)."""

    def __init__(self, settings: dict, scale: str) -> None:
        scales = settings["scales"]
        if scale not in scales:
            raise O2FError(f"unknown scale '{scale}'; choose one of {', '.join(scales)}")
        self.scale, self.scale_settings = scale, scales[scale]
        self.work_root = settings["work_root"]
        self.evidence_root = settings["evidence_dir"]

    @classmethod
    def from_settings_file(cls, scale: str, root: Path | None = None) -> Layout:
        return cls(load_settings(root), scale)

    # --- data ------------------------------------------------------------------------------------
    def data_root(self, family: str) -> str:
        roots = self.scale_settings["datasets"]
        if family not in roots:
            raise O2FError(f"scale '{self.scale}' has no data root for {family} configs; set "
                           f"scales.{self.scale}.datasets.{family} in configs/pipeline.yaml")
        return roots[family].rstrip("/")

    def builtin_files(self, family: str) -> list[str]:
        """The annotation files the DAG writes for the family's root; [] for a user's root."""
        root = self.data_root(family)
        return [f"{root}/{name}" for name in BUILTIN_DATA.get(root, ())]

    def data_help(self, family: str) -> str:
        """How to get the family's data: the command that writes a built-in root, else where to put it."""
        root = self.data_root(family)
        if root not in BUILTIN_DATA:
            return (f"put the dataset at {root} (see README) or set scales.{self.scale}.datasets.{family} in "
                    "configs/pipeline.yaml")
        return f"run `o2f prepare-data {root.removeprefix(DATA_DIR + '/')}` (the DAG does it)"

    def check_user_root(self, family: str, project: Path) -> None:
        """A root the DAG does not write must be there before any job starts."""
        root = self.data_root(family)
        if root not in BUILTIN_DATA and not (project / root).exists():
            raise O2FError(f"dataset root {root} does not exist; put the dataset there (see README) or set "
                           f"scales.{self.scale}.datasets.{family} in configs/pipeline.yaml")

    # --- runs ------------------------------------------------------------------------------------
    def work_dir(self, experiment: str, seed: int) -> str:
        return f"{self.work_root}/{self.scale}/{experiment}/seed{seed}"

    def metrics_file(self, experiment: str, seed: int) -> str:
        return f"{self.work_dir(experiment, seed)}/{FINAL_METRICS}"

    def experiment_evidence(self, experiment: str) -> str:
        """An experiment's evidence: its speed measurement, and a folder per kind its runs ran on."""
        return f"{self.evidence_root}/{self.scale}/{experiment}"

    def evidence_dir(self, experiment: str, seed: int, kind: str) -> str:
        """A run's evidence, under the folder of the kind it ran on (``run_kinds.kind_folder``): runs of one
        experiment and seed on two kinds are two runs, kept side by side."""
        return f"{self.experiment_evidence(experiment)}/{kind}/seed{seed}"

    def evidence_file(self, experiment: str, seed: int, kind: str) -> str:
        """The file of a run's evidence that stands for all of it in the DAG (``o2f.pipeline.evidence``)."""
        return f"{self.evidence_dir(experiment, seed, kind)}/{EVIDENCE_RUN}"

    def evidence_kinds(self, root: Path, experiment: str, seed: int) -> list[str]:
        """The kind folders that hold evidence of the run, sorted."""
        found = (root / self.experiment_evidence(experiment)).glob(f"*/seed{seed}/{EVIDENCE_RUN}")
        return sorted(path.parent.parent.name for path in found)

    def speed_file(self, experiment: str) -> str:
        return f"{self.experiment_evidence(experiment)}/{SPEED}"


def backbone_kind(cfg) -> str:
    """The kind of an experiment config's own backbone (the key of a scale's ``scaled_backbones``):
    ``swin`` or ``resnet<depth>``."""
    backbone = cfg.get("model", {}).get("backbone", {})
    return "swin" if "Swin" in str(backbone.get("type", "")) else f"resnet{backbone.get('depth', 50)}"
