"""Dataset preparation: the tree-crown demo data, synthetic shapes, CrowdHuman conversion."""
