"""Issue 22's OCR cleanup measurement: every scan of OUT/scans.jsonl (scan.py) rendered at its
200 dpi, passed through unpaper with the given options (none: unpaper's defaults — deskew, noise,
black, gray and blur filters, mask and border scans), and wrapped again into OUT2/scan/; writes
OUT2/scans.jsonl pointing at them and an empty OUT2/truth.jsonl, for measure.py:

    clean.py target/invoice-corpus OUT2 [unpaper options...]
    measure.py target/release/clerk OUT2

Run it with every filter off as the control (the same render and re-encoding, no cleanup)."""
import json, subprocess, sys, tempfile
from PIL import Image
from pathlib import Path
out, out2 = Path(sys.argv[1]), Path(sys.argv[2])
extra = sys.argv[3:]
(out2 / "scan").mkdir(parents=True, exist_ok=True)
(out2 / "truth.jsonl").write_text("")
recs = [json.loads(l) for l in open(out / "scans.jsonl")]
with open(out2 / "scans.jsonl", "w") as w:
    for r in recs:
        src = Path(r["file"])
        dst = out2 / "scan" / src.name
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["pdftoppm", "-r", "200", "-gray", str(src), f"{tmp}/p"], check=True, capture_output=True)
            pages = sorted(Path(tmp).glob("p*.pgm"))
            cleaned = []
            for i, p in enumerate(pages):
                o = Path(tmp) / f"c{i:03d}.pgm"
                subprocess.run(["unpaper", "--overwrite", "-q"] + extra + [str(p), str(o)], check=True, capture_output=True)
                cleaned.append(Image.open(o).convert("L"))
            cleaned[0].save(dst, save_all=True, append_images=cleaned[1:], resolution=200.0)
        r = dict(r); r["file"] = str(dst.resolve())
        w.write(json.dumps(r) + "\n")
