"""o2f: one-to-few label assignment for end-to-end dense detection, as an mmdet 3.x plugin."""

__version__ = "0.1.0"
