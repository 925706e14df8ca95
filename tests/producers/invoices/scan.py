"""Scans of the printed corpus, as an office scanner makes them: each invoice's PDF from one of
the producers (taken in turn, so every producer is scanned) rendered at 200 dpi in grey, rotated
a little, speckled, JPEG-compressed and wrapped in a PDF, like a scan-to-PDF device. Writes
OUT/scan/<producer>-<name>.pdf and OUT/scans.jsonl (make.py's records, producer "scan").

    scan.py OUT

Deterministic: the angle and the noise come from the file's name.
"""
import hashlib
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageFilter


def scan(pdf, out, seed):
    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", str(pdf), f"{tmp}/p"], check=True,
                       capture_output=True, timeout=120)
        pages = []
        for png in sorted(Path(tmp).glob("p*.png")):
            page = Image.open(png).convert("L")
            # A sheet fed a little askew: up to 1.5 degrees either way.
            angle = rnd.uniform(0.3, 1.5) * rnd.choice([-1, 1])
            page = page.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
            # Speckle and a slight blur, as paper and optics give.
            noise = Image.effect_noise(page.size, 18).point(lambda v: 0 if v < 40 else 255)
            page = Image.composite(page, noise, noise.point(lambda v: 255 if v else 0))
            page = page.filter(ImageFilter.GaussianBlur(0.6))
            pages.append(page)
        out.parent.mkdir(parents=True, exist_ok=True)
        # JPEG at quality 60, as scan-to-PDF devices store pages.
        pages[0].save(out, "PDF", resolution=200, save_all=True, append_images=pages[1:], quality=60)


def one_print_each(truth):
    """(name, record) for each invoice, printed by one producer: the producers in turn, so every
    producer is taken."""
    producers = sorted({t["producer"] for t in truth})
    by_name = {}
    for t in truth:
        by_name.setdefault(Path(t["file"]).stem, {})[t["producer"]] = t
    for i, (name, made) in enumerate(sorted(by_name.items())):
        choices = [p for p in producers[i % len(producers):] + producers[:i % len(producers)] if p in made]
        yield name, made[choices[0]]


def seed_of(path):
    return int(hashlib.sha256(path.name.encode()).hexdigest()[:8], 16)


def write_records(out, records, what):
    """OUT/scans.jsonl, the records measure.py reads after truth.jsonl."""
    with open(out / "scans.jsonl", "w") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    print(f"{len(records)} {what}")


def main():
    out = Path(sys.argv[1]).resolve()
    truth = [json.loads(l) for l in open(out / "truth.jsonl")]
    records = []
    for name, t in one_print_each(truth):
        pdf = out / "scan" / f"{t['producer']}-{name}.pdf"
        if not pdf.exists():
            scan(t["file"], pdf, seed_of(pdf))
        records.append({**t, "file": str(pdf), "producer": "scan", "scanned_from": t["producer"]})
    write_records(out, records, "scans")


if __name__ == "__main__":
    main()
