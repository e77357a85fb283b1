"""Reports: paper tables (ours / paper / delta), training-curve figures, the index page."""
