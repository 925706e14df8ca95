#!/usr/bin/env bash
# Fuzzes clerk's reader for SECONDS (default 300) with cargo fuzz (libFuzzer), on the machine's
# stable toolchain (RUSTC_BOOTSTRAP lets cargo fuzz pass its flags; no sanitizer, so no nightly).
# The corpus is seeded from ../shared/corpora/pdf-samples (when present), the hostile set and the
# producer set. A crash is saved under tests/fuzz/artifacts/read/: copy it into
# tests/fuzz/regressions/, where tests/hostile.rs reads every file through `clerk classify`.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
corpus=corpus/read
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
  [ -d ../../../shared/corpora/pdf-samples ] && find ../../../shared/corpora/pdf-samples -name '*.pdf' -size -1M -exec cp {} "$corpus"/ \;
  cp ../fixtures/producers/* "$corpus"/
  (cd ../.. && cargo run -q --example make-hostile -- "$OLDPWD/$corpus/hostile" >/dev/null)
  find "$corpus/hostile" -size +1M -delete
  mv "$corpus"/hostile/* "$corpus"/ && rmdir "$corpus/hostile"
fi
RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir . --sanitizer none read "$corpus" -- \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -max_len=1048576
