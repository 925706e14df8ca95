"""Typesets text files as PDFs with ReportLab (a real producer; monospaced, one text line per
PDF line), so benchmarks run both tools on PDFs that exercise the templates.

    python typeset.py OUT_DIR FILE.txt...
"""

import sys
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:]:
        lines = Path(name).read_text(encoding="utf-8").splitlines()
        pdf = canvas.Canvas(str(out / (Path(name).stem + ".pdf")), pagesize=A4, invariant=1)
        width, height = A4
        y = height - 40
        for line in lines:
            if y < 40:
                pdf.showPage()
                y = height - 40
            pdf.setFont("Courier", 8)
            pdf.drawString(30, y, line)
            y -= 11
        pdf.save()


if __name__ == "__main__":
    main()
