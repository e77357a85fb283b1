"""Label assigners registered into mmdet's TASK_UTILS registry (``o2f.plugin`` imports every module);
the anchors each one picks are plain functions in ``selection``."""
