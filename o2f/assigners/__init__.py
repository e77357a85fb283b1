"""Label assigners registered into mmdet's TASK_UTILS registry."""

from .one_to_few import OneToFewAssigner
from .one_to_many import OneToManyAssigner
from .poto import POTOAssigner

__all__ = ["OneToFewAssigner", "OneToManyAssigner", "POTOAssigner"]
