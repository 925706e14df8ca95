"""Typesets text files as PDFs with ReportLab (a real producer; monospaced, one text line per
PDF line), so tests and benchmarks run both tools on PDFs that exercise the templates.

    python typeset.py OUT_DIR FILE.txt...

A `FILE.areas.json` beside a text (written by tests/support/template_texts.rs) lists lines that
belong inside a template's `area:` rectangle: each is drawn there instead of in the flow, and the
flow keeps clear of the rectangles, so a crop finds what the template expects.
"""

import json
import sys
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

TOP, BOTTOM, LEADING, SIZE = 40, 40, 11, 8


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:]:
        lines = Path(name).read_text(encoding="utf-8").splitlines()
        sidecar = Path(name).with_suffix(".areas.json")
        placed = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else []
        for p in placed:
            if p["text"] in lines:
                lines.remove(p["text"])
        pdf = canvas.Canvas(str(out / (Path(name).stem + ".pdf")), pagesize=A4, invariant=1)
        width, height = A4
        page = 1

        def draw_areas():
            # Lines of one rectangle one below the other, from its top-left corner.
            used = {}
            for p in placed:
                if p["page"] != page:
                    continue
                x0, y0, _, _ = p["box_pt"]
                k = used.get(tuple(p["box_pt"]), 0)
                used[tuple(p["box_pt"])] = k + 1
                pdf.setFont("Courier", SIZE)
                pdf.drawString(x0 + 2, height - (y0 + 2 + SIZE + k * LEADING), p["text"])

        def blocked(top):
            # A flow line from `top` (points from the page's top) would cross a rectangle.
            return any(p["page"] == page and p["box_pt"][1] - LEADING <= top <= p["box_pt"][3] for p in placed)

        draw_areas()
        top = TOP
        for line in lines:
            while True:
                if top > height - BOTTOM:
                    pdf.showPage()
                    page += 1
                    draw_areas()
                    top = TOP
                if not blocked(top):
                    break
                top += LEADING
            pdf.setFont("Courier", SIZE)
            pdf.drawString(30, height - top, line)
            top += LEADING
        pdf.save()


if __name__ == "__main__":
    main()
