#!/usr/bin/env bash
# Set up materiel in ./.venv (Python >= 3.11): the package, its dependencies, the test tools and
# the documentation tools (mkdocs).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "materiel needs Python >= 3.11")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install --quiet -e ".[test,bench,docs]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import materiel, linopy, highspy" || { echo "setup failed: see pip output above" >&2; exit 1; }
echo "compiling the simulator's kernel (first install only, about 20 s; cached on disk)"
.venv/bin/python -c "from materiel.simulation.engine import warm_up; warm_up()"
echo "materiel is set up in .venv: try .venv/bin/materiel --help"
