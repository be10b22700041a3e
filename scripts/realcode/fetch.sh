#!/usr/bin/env bash
# Fetch >= 1 GB of real third-party code that nobody on this project wrote, from the package
# registries only (npm, PyPI, Debian source packages, crates.io), at pinned versions, into
# $REALCODE_DIR (default /tmp/keysweep-realcode). Nothing here is committed: it is the corpus
# for the false-positive yardstick in docs/accuracy.md, scored by scripts/realcode/score.py.
#
# Idempotent: a package already unpacked is not fetched again. Needs npm, pip and apt-get
# (Debian's deb-src entries are given to apt-get in a private sources list; the machine's apt
# configuration is not changed).
set -euo pipefail
OUT="${REALCODE_DIR:-/tmp/keysweep-realcode}"
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$OUT"/{npm,pypi,debian,crates}

# --- npm: SDKs of the providers we have rules for, and big minified bundles / source maps
while read -r spec; do
  [ -z "$spec" ] || [[ "$spec" == \#* ]] && continue
  dir="$OUT/npm/$(echo "$spec" | tr '/@' '__')"
  [ -d "$dir" ] && continue
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>&1); then
    mkdir -p "$dir" && tar -xzf "$tmp"/*.tgz -C "$dir" 2>/dev/null || echo "fetch: npm $spec: cannot unpack" >&2
  else
    echo "fetch: npm $spec: not available" >&2
  fi
  rm -rf "$tmp"
done < "$HERE/npm.txt"

# --- PyPI: source distributions (no wheels: we want the sources and their tests)
while read -r spec; do
  [ -z "$spec" ] || [[ "$spec" == \#* ]] && continue
  dir="$OUT/pypi/${spec%%==*}"
  [ -d "$dir" ] && continue
  tmp="$(mktemp -d)"
  if pip download --quiet --no-deps --no-binary :all: --no-build-isolation -d "$tmp" "$spec" >/dev/null 2>&1 \
     || pip download --quiet --no-deps -d "$tmp" "$spec" >/dev/null 2>&1; then
    mkdir -p "$dir"
    for f in "$tmp"/*; do
      case "$f" in
        *.tar.gz|*.tgz) tar -xzf "$f" -C "$dir" ;;
        *.zip|*.whl) python3 -m zipfile -e "$f" "$dir" ;;
      esac
    done
  else
    echo "fetch: pypi $spec: not available" >&2
  fi
  rm -rf "$tmp"
done < "$HERE/pypi.txt"

# --- Debian source packages (bookworm), through a private apt configuration with deb-src
APT="$OUT/.apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
cat > "$APT/sources.list" <<SRC
deb-src http://deb.debian.org/debian bookworm main
SRC
aptopts=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
         -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "APT::Sandbox::User=root")
[ -f "$APT/updated" ] || { apt-get "${aptopts[@]}" -qq update && touch "$APT/updated"; }
while read -r pkg; do
  [ -z "$pkg" ] || [[ "$pkg" == \#* ]] && continue
  dir="$OUT/debian/$pkg"
  [ -d "$dir" ] && continue
  mkdir -p "$dir"
  (cd "$dir" && apt-get "${aptopts[@]}" -qq source "$pkg" >/dev/null 2>&1) \
    || echo "fetch: debian $pkg: not available" >&2
  rm -f "$dir"/*.tar.* "$dir"/*.dsc 2>/dev/null || true
done < "$HERE/debian.txt"

# --- crates.io: a throwaway project whose dependencies cargo fetches into its own CARGO_HOME
CRATES_HOME="$OUT/crates/cargo-home"
if [ ! -d "$CRATES_HOME/registry/src" ]; then
  proj="$OUT/crates/fetch-project"
  mkdir -p "$proj/src" && echo 'fn main() {}' > "$proj/src/main.rs"
  { echo '[package]'; echo 'name = "realcode-fetch"'; echo 'version = "0.0.0"'; echo 'edition = "2021"';
    echo '[dependencies]'; cat "$HERE/crates.txt"; } > "$proj/Cargo.toml"
  (cd "$proj" && CARGO_HOME="$CRATES_HOME" cargo fetch --quiet) || echo "fetch: crates: cargo fetch failed" >&2
  rm -rf "$CRATES_HOME/registry/cache"
fi

du -sh "$OUT"/npm "$OUT"/pypi "$OUT"/debian "$OUT"/crates 2>/dev/null
du -sb "$OUT" | awk '{printf "fetch: %.2f GB in %s\n", $1/1e9, "'"$OUT"'"}'
