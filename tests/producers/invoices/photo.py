"""Photographs of the printed corpus, as a phone takes one of an invoice lying on a desk: each
invoice's first page from one of the producers (taken in turn, like scan.py) rendered at 200 dpi,
laid on a darker desk, seen a little from the side (a perspective of up to 4% at the corners),
turned up to 3 degrees, lit unevenly (a light falling off to 55-75% across the sheet and a
soft shadow), slightly out of focus, with sensor noise, saved as a JPEG. Writes
OUT/photo/<producer>-<name>.jpg, OUT/scans.jsonl (the records measure.py reads, producer "scan",
as clean.py writes them) and an empty OUT/truth.jsonl:

    photo.py CORPUS OUT        (CORPUS: make.py's output)
    measure.py target/release/clerk OUT

Deterministic: every choice comes from the file's name. Written before any OCR setting was
tried on it, from what phone pictures of paper show, not from what clerk reads well.
"""
import json
import math
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan import one_print_each, seed_of, write_records  # noqa: E402


def solve(a, b):
    """Gaussian elimination for the 8 perspective coefficients."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def perspective(dst, src):
    """Coefficients mapping output points `dst` to input points `src` (PIL's PERSPECTIVE)."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return solve(a, b)


def photograph(pdf, out, rnd):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-f", "1", "-l", "1", str(pdf), f"{tmp}/p"],
                       check=True, capture_output=True, timeout=120)
        page = Image.open(next(Path(tmp).glob("p*.png"))).convert("L")
    w, h = page.size
    # The sheet on a desk, with room around it.
    margin = int(0.07 * w)
    desk = rnd.randint(70, 120)
    W, H = w + 2 * margin, h + 2 * margin
    # Where the sheet's corners land in the photo: each corner moved up to 4% inwards or out.
    j = lambda s: rnd.uniform(-0.04, 0.04) * s
    corners = [(margin + j(w), margin + j(h)), (margin + w + j(w), margin + j(h)),
               (margin + w + j(w), margin + h + j(h)), (margin + j(w), margin + h + j(h))]
    coeffs = perspective(corners, [(0, 0), (w, 0), (w, h), (0, h)])
    mask = Image.new("L", (w, h), 255).transform((W, H), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    sheet = page.transform((W, H), Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=desk)
    photo = Image.composite(sheet, Image.new("L", (W, H), desk), mask)
    photo = photo.rotate(rnd.uniform(-3, 3), resample=Image.BICUBIC, fillcolor=desk)
    # Light falling off across the sheet, in a random direction, and a soft shadow (a hand, a phone).
    low = rnd.uniform(0.55, 0.75)
    angle = rnd.uniform(0, 2 * math.pi)
    dx, dy = math.cos(angle), math.sin(angle)
    small = Image.new("L", (64, 64))
    small.putdata([int(255 * (low + (1 - low) * (0.5 + 0.5 * ((x / 63 - 0.5) * dx + (y / 63 - 0.5) * dy) * 1.4)))
                   for y in range(64) for x in range(64)])
    light = small.resize((W, H), Image.BILINEAR)
    shadow = Image.new("L", (W, H), 255)
    cx, cy, r = rnd.uniform(0, W), rnd.uniform(0, H), rnd.uniform(0.2, 0.35) * W
    ImageDraw.Draw(shadow).ellipse([cx - r, cy - r, cx + r, cy + r], fill=int(255 * rnd.uniform(0.7, 0.85)))
    shadow = shadow.filter(ImageFilter.GaussianBlur(r / 3))
    photo = ImageChops.multiply(ImageChops.multiply(photo, light), shadow)
    # A little out of focus, and the sensor's noise.
    photo = photo.filter(ImageFilter.GaussianBlur(rnd.uniform(0.7, 1.2)))
    noise = Image.effect_noise((W, H), rnd.uniform(6, 12))
    photo = ImageChops.add(photo, noise, scale=1.0, offset=-128)
    out.parent.mkdir(parents=True, exist_ok=True)
    photo.convert("RGB").save(out, "JPEG", quality=rnd.randint(70, 85))


def main():
    corpus, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    truth = [json.loads(l) for l in open(corpus / "truth.jsonl")]
    records = []
    for name, t in one_print_each(truth):
        jpg = out / "photo" / f"{t['producer']}-{name}.jpg"
        if not jpg.exists():
            photograph(t["file"], jpg, random.Random(seed_of(jpg)))
        records.append({**t, "file": str(jpg), "producer": "scan", "scanned_from": t["producer"]})
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth.jsonl").write_text("")
    write_records(out, records, "photos")

if __name__ == "__main__":
    main()
