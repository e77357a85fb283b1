"""The detector side of the plugin: heads, losses and modules registered into mmdet's MODELS registry
(``o2f.plugin`` imports every module), and the formulas they apply (``matching``, ``soft_labels``),
which import neither mmdet's models nor mmcv's compiled ops."""
