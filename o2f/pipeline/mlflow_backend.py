"""mmengine's MLflow backend, logging each (metric, step) once across a killed run and its rerun.

A rerun repeats the iterations after its last checkpoint, and an epoch that was validated but not
recorded as such; MLflow keeps every value it is sent, so the steps logged before the kill would
appear twice. Training resumes exactly (``o2f.engine.resume``), so a repeated step's value is the
one already logged: the backend reads how far each metric got and skips what is already there.
"""

from __future__ import annotations

from mmdet.registry import VISBACKENDS
from mmengine.visualization import MLflowVisBackend


@VISBACKENDS.register_module()
class ResumableMLflowVisBackend(MLflowVisBackend):
    """``MLflowVisBackend`` that skips metric steps the run already holds."""

    def _init_env(self) -> None:
        super()._init_env()  # joins the run named by MLFLOW_RUN_ID (o2f.pipeline.tracking.prepare_run)
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        run_id = (self._mlflow.active_run() or self._mlflow.start_run()).info.run_id
        self._logged_up_to = {key: max(m.step for m in client.get_metric_history(run_id, key))
                              for key in client.get_run(run_id).data.metrics}

    def new_scalars(self, scalar_dict: dict, step: int) -> dict:
        return {key: value for key, value in scalar_dict.items() if step > self._logged_up_to.get(key, -1)}

    def add_scalar(self, name, value, step: int = 0, **kwargs) -> None:
        self.add_scalars({name: value}, step)

    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path=None, **kwargs) -> None:
        self.experiment  # noqa: B018  (initialises the env, which reads the logged steps)
        fresh = self.new_scalars(scalar_dict, step)
        if fresh:
            super().add_scalars(fresh, step, file_path, **kwargs)
