"""Label assigners registered into mmdet's TASK_UTILS registry."""

from .one_to_few import OneToFewAssigner

__all__ = ["OneToFewAssigner"]
