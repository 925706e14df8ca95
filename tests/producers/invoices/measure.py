"""How well the generic invoice reader reads printed invoices whose fields are known (make.py's
OUT/truth.jsonl): per field, per producer and per language, the share read right; how often a
field marked sure is right; how many invoices would go straight through.

    measure.py CLERK OUT [--json]
"""
import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

FIELDS = ["invoice_number", "issue_date", "due_date", "currency", "purchase_order", "seller_vat_id", "buyer_vat_id",
          "iban", "bic", "total_net", "total_tax", "total", "amount_due"]
CORE = ["invoice_number", "issue_date", "total", "currency", "seller_vat_id", "iban"]
AMOUNTS = {"total_net", "total_tax", "total", "amount_due"}


def same(field, got, want):
    if got is None:
        return False
    if field in AMOUNTS:
        try:
            return Decimal(got) == Decimal(want)
        except InvalidOperation:
            return False
    norm = lambda s: "".join(str(s).split()).upper()
    return norm(got) == norm(want)


def main():
    clerk, out = sys.argv[1], Path(sys.argv[2])
    truth = [json.loads(l) for l in open(out / "truth.jsonl")]
    defs = Path(__file__).resolve().parent / "defs"
    files = [t["file"] for t in truth]
    got = {}
    for i in range(0, len(files), 200):
        run = subprocess.run([clerk, "classify", "--json", "--explain", "--definitions", str(defs)] + files[i:i + 200],
                             capture_output=True, text=True, env={"CLERK_LOG": "error", "PATH": "/usr/bin:/bin"})
        for line in run.stdout.splitlines():
            v = json.loads(line)
            got[v["file"]] = v
    per = defaultdict(lambda: [0, 0])           # (group, field) -> [right, total]
    sure = [0, 0]                               # [right, total] of fields marked sure
    straight = defaultdict(lambda: [0, 0])      # producer -> [straight through, invoices]
    for t in truth:
        v = got.get(t["file"], {})
        reading = (v.get("reading") or {}).get("fields", {})
        fields = v.get("fields") or {}
        ok_all = v.get("status") == "recognised"
        straight[t["producer"]][1] += 1
        wrong_sure = False
        for f in FIELDS:
            want = t["fields"].get(f)
            if want is None:
                continue
            right = same(f, fields.get(f), want)
            for group in ("all", t["producer"], "lang:" + t["language"]):
                per[(group, f)][0] += right
                per[(group, f)][1] += 1
            r = reading.get(f)
            if r and r.get("sure"):
                sure[0] += right
                sure[1] += 1
                wrong_sure |= not right
        if ok_all and not wrong_sure:
            straight[t["producer"]][0] += 1
    groups = sorted({g for g, _ in per})
    print(f"{'':16}" + "".join(f"{f[:12]:>13}" for f in FIELDS))
    for g in groups:
        row = "".join(
            f"{(100 * per[(g, f)][0] / per[(g, f)][1]):12.0f}%" if per[(g, f)][1] else f"{'-':>13}" for f in FIELDS)
        print(f"{g:16}{row}")
    print(f"sure fields right: {sure[0]}/{sure[1]} = {100 * sure[0] / max(1, sure[1]):.1f}%")
    for p, (s, n) in sorted(straight.items()):
        print(f"straight through, {p}: {s}/{n} = {100 * s / max(1, n):.0f}%")


if __name__ == "__main__":
    main()
