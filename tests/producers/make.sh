#!/usr/bin/env bash
# Rebuilds tests/fixtures/producers/: one invoice as real producers write it. Text PDFs from
# LibreOffice (HTML export), ReportLab and Ghostscript (ps2pdf); the LibreOffice page rendered to
# a 200 dpi gray "scan" (slightly rotated and blurred, as a scanner delivers it), then wrapped into
# scanned PDFs by img2pdf (PNG and JPEG), ImageMagick (each -compress method), Ghostscript's
# pdfimage8 device, tesseract's own PDF output, OCRmyPDF, LibreOffice Draw and ReportLab; and
# image files in the layouts scanners and converters write (gray+alpha TIFF, palette PNG, 16-bit
# PNG, CMYK JPEG, two-page TIFFs in several compressions).
#
# Needs: libreoffice-writer-nogui libreoffice-draw-nogui imagemagick ghostscript img2pdf
# poppler-utils qpdf tesseract-ocr, and `pip install ocrmypdf reportlab`. The outputs are
# committed, so the tests need none of these. Debian's ImageMagick refuses to write PDF until
# /etc/ImageMagick-6/policy.xml allows it: rights="read|write" on pattern="PDF".
set -euo pipefail
cd "$(dirname "$0")"
out=../fixtures/producers
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Text PDFs.
soffice --headless --infilter="HTML (StarWriter)" --convert-to pdf --outdir "$tmp" invoice.html >/dev/null 2>&1
cp "$tmp/invoice.pdf" "$out/text-libreoffice.pdf"
python3 reportlab_invoice.py text "$out/text-reportlab.pdf"
ps2pdf invoice.ps "$out/text-ghostscript.pdf"

# The scan.
pdftoppm -r 200 -gray -png -singlefile "$out/text-libreoffice.pdf" "$tmp/page"
convert "$tmp/page.png" -background white -rotate 0.6 -blur 0x0.5 -gravity center -extent 1654x2339 +repage -depth 8 -colorspace Gray "$tmp/scan.png"
convert "$tmp/scan.png" -quality 85 "$tmp/scan.jpg"

# Scanned PDFs.
img2pdf --pagesize A4 "$tmp/scan.png" -o "$out/scan-img2pdf-png.pdf"
img2pdf --pagesize A4 "$tmp/scan.jpg" -o "$out/scan-img2pdf-jpeg.pdf"
for c in JPEG Zip LZW RLE JPEG2000; do
  convert "$tmp/scan.png" -density 200 -compress "$c" "$out/scan-imagemagick-${c,,}.pdf"
done
convert "$tmp/scan.png" -density 200 -threshold 55% -monochrome -compress Group4 "$out/scan-imagemagick-group4.pdf"
# Colour layouts scanners write: a 16-colour palette (Indexed), 16 bits per sample, CMYK JPEG.
convert "$tmp/scan.png" -colors 16 PNG8:"$tmp/palette.png"
img2pdf --pagesize A4 "$tmp/palette.png" -o "$out/scan-img2pdf-indexed.pdf"
convert "$tmp/scan.png" -depth 16 -define png:bit-depth=16 -define png:color-type=0 "$tmp/sixteen.png"
img2pdf --pagesize A4 "$tmp/sixteen.png" -o "$out/scan-img2pdf-16bit.pdf"
convert "$tmp/scan.png" -density 200 -colorspace CMYK -compress JPEG "$out/scan-imagemagick-cmyk.pdf"
# A page scanned sideways and turned upright by its /Rotate (qpdf), as copiers do.
convert "$tmp/scan.png" -rotate -90 "$tmp/sideways.png"
img2pdf "$tmp/sideways.png" -o "$tmp/sideways.pdf"
qpdf --rotate=+90 "$tmp/sideways.pdf" "$out/scan-rotated.pdf"
# Pages fed upside down and a quarter turn the wrong way, with no /Rotate to set them right.
convert "$tmp/scan.png" -rotate 180 "$tmp/upside-down.png"
img2pdf --pagesize A4 "$tmp/upside-down.png" -o "$out/scan-upside-down.pdf"
convert "$tmp/scan.png" -rotate 90 "$tmp/quarter.png"
img2pdf "$tmp/quarter.png" -o "$out/scan-quarter-turn.pdf"
convert "$tmp/scan.png" -rotate 270 -quality 85 "$out/image-quarter-turn-back.jpg"
gs -q -sDEVICE=pdfimage8 -r200 -o "$out/scan-ghostscript.pdf" "$out/text-libreoffice.pdf"
tesseract "$tmp/scan.png" "$out/scan-tesseract" --dpi 200 pdf 2>/dev/null
ocrmypdf -q --output-type pdf "$out/scan-img2pdf-png.pdf" "$out/scan-ocrmypdf.pdf"
cp "$tmp/scan.jpg" "$tmp/scan-draw.jpg"
soffice --headless --convert-to pdf --outdir "$tmp/draw" "$tmp/scan-draw.jpg" >/dev/null 2>&1
cp "$tmp/draw/scan-draw.pdf" "$out/scan-libreoffice.pdf"
python3 reportlab_invoice.py scan "$tmp/scan.png" "$out/scan-reportlab.pdf"
python3 reportlab_invoice.py inline "$tmp/scan.png" "$out/scan-reportlab-inline.pdf"

# Image files.
convert "$tmp/scan.png" -alpha set -channel A -evaluate set 100% +channel -type GrayscaleAlpha -compress LZW "$out/image-gray-alpha.tiff"
convert "$tmp/scan.png" -colors 16 PNG8:"$out/image-palette.png"
cp "$tmp/sixteen.png" "$out/image-16bit.png"
convert "$tmp/scan.png" -colorspace CMYK -quality 85 "$out/image-cmyk.jpg"
for c in LZW Group4 JPEG Zip RLE; do
  extra=()
  [ "$c" = Group4 ] && extra=(-threshold 55% -monochrome)
  convert "$tmp/scan.png" "$tmp/scan.png" "${extra[@]}" -compress "$c" "$out/image-two-pages-${c,,}.tiff"
done
ls -la "$out"
