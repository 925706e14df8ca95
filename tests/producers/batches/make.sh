#!/usr/bin/env bash
# Rebuilds tests/fixtures/batches/: scanned batches as a mail room makes them. Three invoices
# (LibreOffice from HTML; the second has two pages) are rendered to 200 dpi gray "scans"
# (pdftoppm, slightly rotated and blurred by ImageMagick as a scanner delivers them); separator
# sheets carry a PATCH-T patch code (drawn to Kodak's dimensions: narrow bars and spaces 0.08 in,
# wide bars 0.2 in, 2.5 in long) or a barcode made by zint in each symbology; img2pdf and
# ImageMagick wrap the pages into PDFs as scanners' software does, and into multi-page TIFFs as
# scanners and fax servers write them. Each batch is named in
# batches.tsv with the documents a person would cut from it.
#
# Needs: zint libreoffice-writer-nogui imagemagick img2pdf poppler-utils qpdf. The outputs are
# committed, so the tests need none of these. Debian's ImageMagick writes PDF only when
# /etc/ImageMagick-6/policy.xml allows it: rights="read|write" on pattern="PDF".
set -euo pipefail
cd "$(dirname "$0")"
out=../../fixtures/batches
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
W=1654; H=2339 # A4 at 200 dpi

# The documents: INV-8001 (1 page), INV-8002 (2 pages), INV-8003 (1 page).
for n in 1 2 3; do
  sed -e "s/INV-7731/INV-800$n/g" -e "s/Umbrella Office Supplies GmbH/Supplier $n GmbH/" ../invoice.html > "$tmp/inv$n.html"
  if [ "$n" = 2 ]; then
    sed -i 's|</body>|<p style="page-break-before: always">Terms and conditions of Supplier 2 GmbH. Goods remain our property until paid in full. Place of jurisdiction: Hamburg.</p></body>|' "$tmp/inv$n.html"
  fi
  soffice --headless --infilter="HTML (StarWriter)" --convert-to pdf --outdir "$tmp" "$tmp/inv$n.html" >/dev/null 2>&1
  pdftoppm -r 200 -gray -png "$tmp/inv$n.pdf" "$tmp/inv$n"
  for p in "$tmp"/inv$n-*.png; do
    convert "$p" -background white -rotate 0.4 -blur 0x0.5 -gravity center -extent ${W}x${H} +repage -depth 8 -colorspace Gray "${p%.png}-scan.png"
  done
done
doc1=("$tmp"/inv1-*-scan.png); doc2=("$tmp"/inv2-*-scan.png); doc3=("$tmp"/inv3-*-scan.png)

# A sheet with a barcode image in its middle, and a line of text as separator sheets print it.
sheet() { # sheet OUT CODE.png LABEL [extra convert args]
  local o=$1 code=$2 label=$3; shift 3
  convert -size ${W}x${H} xc:white "$code" -gravity center -geometry +0-200 -composite \
    -font DejaVu-Sans -pointsize 40 -annotate +0+500 "$label" "$@" -depth 8 -colorspace Gray "$o"
}
barcode() { # barcode OUT TYPE DATA SCALE [zint args]
  local o=$1 t=$2 d=$3 s=$4; shift 4
  zint -b "$t" -d "$d" --scale "$s" "$@" -o "$o"
}

# The PATCH-T patch code at 200 dpi: bars narrow 16 px, wide 40 px, spaces 16 px, 500 px long.
patch_t() { # patch_t OUT [extra convert args]
  local o=$1; shift
  local x=700 draw=""
  for w in 16 40 16 40; do draw="$draw rectangle $x,700 $((x + w - 1)),1200"; x=$((x + w + 16)); done
  convert -size ${W}x${H} xc:white -fill black -draw "$draw" -font DejaVu-Sans -pointsize 40 -annotate +600+1400 "PATCH T" "$@" -depth 8 -colorspace Gray "$o"
}
blank() { # blank OUT: a duplex back, scanner noise and a faint edge shadow
  convert -size ${W}x${H} xc:gray97 -attenuate 0.15 +noise Gaussian -fill gray60 -draw "rectangle 0,0 6,$H" -depth 8 -colorspace Gray "$1"
}

# 1. PATCH-T sheets, the second one fed sideways.
patch_t "$tmp/pt.png"
patch_t "$tmp/pt-side.png" -rotate 90
img2pdf --pagesize A4 "${doc1[@]}" "$tmp/pt.png" "${doc2[@]}" "$tmp/pt-side.png" "${doc3[@]}" -o "$out/patch-t.pdf"
# Two invoices in one PDF that arrives whole (no separator between them), put together by qpdf.
qpdf --empty --pages "$out/patch-t.pdf" 1,3-4 -- "$out/two-invoices.pdf"
# The same batch as a scanner's multi-page TIFF: JPEG-compressed gray pages, in strips.
convert "${doc1[@]}" "$tmp/pt.png" "${doc2[@]}" "$tmp/pt-side.png" "${doc3[@]}" -density 200 -compress JPEG -quality 75 "$out/patch-t.tif"

# 2. Code 39 PATCHT sheets (scanning software prints these), the whole batch as a fax: 204x98 dpi,
# one bit per pixel, CCITT Group 4.
barcode "$tmp/c39.png" 8 PATCHT 4 --height 40
sheet "$tmp/c39-sheet.png" "$tmp/c39.png" "PATCHT"
i=0
for p in "${doc1[@]}" "$tmp/c39-sheet.png" "${doc2[@]}" "$tmp/c39-sheet.png" "${doc3[@]}"; do
  i=$((i + 1))
  convert "$p" -resize 102%x49% -threshold 60% -resize ${W}x${H}! -threshold 50% -monochrome "$tmp/fax-$i.tiff"
done
convert "$tmp"/fax-?.tiff -density 200 -compress Group4 "$out/fax-code39.pdf"
# …and as a fax server keeps it: one multi-page Group 4 TIFF.
convert "$tmp"/fax-?.tiff -density 200 -compress Group4 "$out/fax-code39.tif"

# 3. A separator barcode in each symbology; rotated, skewed, small and low-contrast ones.
barcode "$tmp/qr.png" 58 SEPARATOR 6
barcode "$tmp/dm.png" 71 SEPARATOR 8
barcode "$tmp/pdf417.png" 55 SEPARATOR 3
barcode "$tmp/c128.png" 20 SEPARATOR 3 --height 50
barcode "$tmp/ean.png" 13 400638133393 3 --height 50
barcode "$tmp/qr-small.png" 58 SEPARATOR 2
sheet "$tmp/s-qr.png" "$tmp/qr.png" "QR separator"
sheet "$tmp/s-dm.png" "$tmp/dm.png" "DataMatrix separator" -rotate 180
sheet "$tmp/s-pdf417.png" "$tmp/pdf417.png" "PDF417 separator" -rotate 90
sheet "$tmp/s-c128.png" "$tmp/c128.png" "Code 128 separator" -rotate 4 -gravity center -extent ${W}x${H}
sheet "$tmp/s-ean.png" "$tmp/ean.png" "EAN-13 separator"
sheet "$tmp/s-qr-small.png" "$tmp/qr-small.png" "small QR separator"
sheet "$tmp/s-c128-faint.png" "$tmp/c128.png" "faint Code 128 separator" +level 45%,88%
pages=("${doc1[@]}" "$tmp/s-qr.png" "${doc2[@]}" "$tmp/s-dm.png" "${doc3[@]}" "$tmp/s-pdf417.png" "${doc1[@]}"
  "$tmp/s-c128.png" "${doc2[@]}" "$tmp/s-ean.png" "${doc3[@]}" "$tmp/s-qr-small.png" "${doc1[@]}" "$tmp/s-c128-faint.png" "${doc3[@]}")
i=0
for p in "${pages[@]}"; do
  i=$((i + 1))
  convert "$p" -quality 80 "$tmp/b-$(printf %02d $i).jpg"
done
img2pdf --pagesize A4 "$tmp"/b-*.jpg -o "$out/symbologies.pdf"

# 4. Duplex with blank backs, each document's first page stamped with an archive number
# (Code 128 sticker, top right); ImageMagick writes the PDF (JPEG in PDF, as it does).
asn() { # asn OUT PAGE NUMBER
  barcode "$tmp/asn-$3.png" 20 "ASN$3" 2 --height 30
  convert "$2" "$tmp/asn-$3.png" -gravity northeast -geometry +80+60 -composite -depth 8 -colorspace Gray "$1"
}
asn "$tmp/d1.png" "${doc1[0]}" 00123
asn "$tmp/d2.png" "${doc2[0]}" 00124
asn "$tmp/d3.png" "${doc3[0]}" 00125
blank "$tmp/back.png"
convert "$tmp/d1.png" "$tmp/back.png" "$tmp/d2.png" "$tmp/back.png" "${doc2[1]}" "$tmp/back.png" "$tmp/d3.png" "$tmp/back.png" \
  -density 200 -compress JPEG -quality 80 "$out/duplex-asn.pdf"

# 5. Blank pages as separators (no sheets printed at all).
convert "$tmp/back.png" -quality 75 "$tmp/back.jpg"
img2pdf --pagesize A4 "${doc1[@]}" "$tmp/back.jpg" "${doc2[@]}" "$tmp/back.jpg" "${doc3[@]}" -o "$out/blank-separated.pdf"

