#!/usr/bin/env bash
# Builds the portal's browser bundle (the Leptos app hydrated as WASM) into target/site/pkg,
# without cargo-leptos and without downloading any binary:
#   1. cargo builds renkei-app for wasm32-unknown-unknown with the `hydrate` feature;
#   2. the wasm-bindgen CLI of exactly the version in Cargo.lock writes renkei.js + renkei_bg.wasm;
#   3. gzip copies sit beside them (the server sends those to browsers that accept gzip).
# Run from anywhere; paths are taken from the repository root. SITE_ROOT overrides target/site.
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
site_root="${SITE_ROOT:-$target_dir/site}"
pkg_dir="$site_root/pkg"
profile="wasm-release"
target="wasm32-unknown-unknown"

if ! rustup target list --installed | grep -qx "$target"; then
    echo "==> adding the $target target"
    rustup target add "$target"
fi

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly, or the bundle will not load.
wanted="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
if [[ -z "$wanted" ]]; then
    echo "error: no wasm-bindgen entry in Cargo.lock" >&2
    exit 1
fi
installed="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
if [[ "$installed" != "$wanted" ]]; then
    echo "==> installing wasm-bindgen-cli $wanted (found: ${installed:-none})"
    # Not --locked: the CLI's own lockfile pins a yanked crate.
    cargo install wasm-bindgen-cli --version "$wanted"
fi

echo "==> building renkei-app ($target, hydrate, profile $profile)"
cargo build -p renkei-app --lib --target "$target" --features hydrate --profile "$profile"

wasm="$target_dir/$target/$profile/renkei_app.wasm"
echo "==> wasm-bindgen $wanted -> $pkg_dir"
rm -rf "$pkg_dir"
mkdir -p "$pkg_dir"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$pkg_dir" --out-name renkei "$wasm"

for file in "$pkg_dir/renkei.js" "$pkg_dir/renkei_bg.wasm"; do
    gzip -9 --keep --force "$file"
done

echo "==> bundle sizes (raw / gzipped bytes)"
total_gz=0
for file in "$pkg_dir/renkei.js" "$pkg_dir/renkei_bg.wasm"; do
    raw=$(stat -c %s "$file")
    gz=$(stat -c %s "$file.gz")
    total_gz=$((total_gz + gz))
    printf '  %-32s %9d  %9d\n' "$(basename "$file")" "$raw" "$gz"
done
printf '  %-32s %9s  %9d (%d KiB; budget 250 KB)\n' "total gzipped" "" "$total_gz" $((total_gz / 1024))
