"""``python -m o2f.cli``: the ``o2f`` command (``o2f.pipeline.cli``) under the name the DAG's rules
and the console script call, so moving the pipeline into its own package changed no job's params."""

import sys

from .pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
