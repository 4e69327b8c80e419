#!/usr/bin/env bash
# Builds the converter guests (WebAssembly components) for the plugin host: the NTA converter, the
# converter template and the fixture-abuse guest used by the sandbox tests. Run from anywhere; prints the artefact paths.
set -euo pipefail

cd "$(dirname "$0")/.."

target=wasm32-wasip2
# Automatic toolchain installs are off on these machines: add the target only when it is missing.
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi

cargo build --release --target "$target" -p nta-corporate-number -p converter-template -p fixture-abuse

out="${CARGO_TARGET_DIR:-target}/$target/release"
for artefact in nta_corporate_number.wasm converter_template.wasm fixture_abuse.wasm; do
    if [[ ! -f "$out/$artefact" ]]; then
        echo "build-plugins: expected $out/$artefact, which was not produced" >&2
        exit 1
    fi
    echo "$out/$artefact"
done
