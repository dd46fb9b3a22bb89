"""The AWX helpers under tests/awx/ are plain modules, not a package: put them on the path."""

import sys
from pathlib import Path

AWX_TOOLS = Path(__file__).resolve().parents[2] / "awx"
if str(AWX_TOOLS) not in sys.path:
    sys.path.insert(0, str(AWX_TOOLS))
