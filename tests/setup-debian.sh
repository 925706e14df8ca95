#!/usr/bin/env bash
# Installs what clerk needs on Debian/Ubuntu: tesseract (OCR, English data, the orientation model), leptonica, and
# clang + pkg-config for the tesseract bindings; poppler's library and headers for clerk-reader
# (libpoppler-private-dev: the PDF text layer and page rendering), poppler-utils (pdftotext and
# pdftoppm: the tests and benchmarks compare clerk with them); cmake builds zxing-cpp (barcodes); curl for the demo. Idempotent; runs apt only when something is
# missing. Needs root (or sudo) for apt-get, and a Rust toolchain (>= 1.88, from rustup).
set -euo pipefail
packages=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd libtesseract-dev libleptonica-dev clang libclang-dev pkg-config g++ cmake libpoppler-private-dev poppler-utils curl time python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "clerk needs a Rust toolchain (1.88 or newer): install it with rustup, then run this again" >&2
  exit 1
fi
