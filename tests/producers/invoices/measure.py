"""How well the generic invoice reader reads printed invoices whose fields are known (make.py's
OUT/truth.jsonl, and scan.py's OUT/scans.jsonl when there): per field, per producer and per
language, the share read right where the producer printed it; how often a field marked sure is right, per producer; how many
invoices would go straight through.

    measure.py CLERK OUT [--floors] [--others DIR]

What the reader takes each document for is counted too: every printed invoice should read as an
invoice (a credit note, type code 381, as a credit note), and no PDF under --others DIR (documents
that are no invoice: ../shared/corpora/pdf-samples) as either.

--floors: exit 1 when a figure is below the floor issue 21 sets — each of the core fields right
on >= 90% of every text producer's invoices and >= 80% of the scans, >= 99% of sure fields right,
>= 50% of text-PDF invoices straight through — naming each one short.
"""
import json
import os
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
    # Identifiers as printed: "NL8200.98.395.B.01" is NL820098395B01.
    norm = lambda s: "".join(c for c in str(s) if c.isalnum()).upper() if field in ("seller_vat_id", "buyer_vat_id", "iban") \
        else "".join(str(s).split()).upper()
    return norm(got) == norm(want)


from stdnum.eu import vat

IDENTIFIERS = {"invoice_number", "purchase_order", "seller_vat_id", "buyer_vat_id", "iban", "bic"}


def iban_valid(iban):
    i = "".join(str(iban).split()).upper()
    if len(i) < 15 or not i.isalnum():
        return False
    return int("".join(str(int(c, 36)) for c in i[4:] + i[:4])) % 97 == 1


def printed_texts(clerk, files):
    """Each text PDF's text, compacted (no spaces, upper case), to tell which identifiers a
    producer printed at all: the XRechnung visualisation leaves the seller's VAT identifier out,
    and a field that is not on the page cannot be read from it."""
    texts = {}
    for i in range(0, len(files), 100):
        run = subprocess.run([clerk, "text", "--json"] + files[i:i + 100], capture_output=True, text=True,
                             env={"CLERK_LOG": "error", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k.startswith("CLERK_OCR")}})
        for line in run.stdout.splitlines():
            v = json.loads(line)
            text = "".join(p.get("text", "") for p in v.get("pages", []))
            texts[v["file"]] = "".join(text.split()).upper()
    return texts


def main():
    clerk, out = sys.argv[1], Path(sys.argv[2])
    truth = [json.loads(l) for l in open(out / "truth.jsonl")]
    if (out / "scans.jsonl").exists():
        truth += [json.loads(l) for l in open(out / "scans.jsonl")]
    defs = Path(__file__).resolve().parent / "defs"
    files = [t["file"] for t in truth]
    got = {}
    for i in range(0, len(files), 200):
        run = subprocess.run([clerk, "classify", "--json", "--explain", "--definitions", str(defs)] + files[i:i + 200],
                             capture_output=True, text=True, env={"CLERK_LOG": "error", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k.startswith("CLERK_OCR")}})
        for line in run.stdout.splitlines():
            v = json.loads(line)
            got[v["file"]] = v
    texts = printed_texts(clerk, [t["file"] for t in truth if t["producer"] != "scan"])
    by_name = {(Path(t["file"]).stem, t["producer"]): t["file"] for t in truth}

    def printed(t, field, want):
        if field not in IDENTIFIERS:
            return True
        # The corpus has test IBANs no bank issues ("DK1212341234123412"): their check digits
        # fail, and a reader that refuses them is right. They are not counted.
        if field == "iban" and not iban_valid(want):
            return False
        # So are VAT identifiers whose check digits fail (python-stdnum, an oracle independent
        # of clerk's own checks, says which).
        if field in ("seller_vat_id", "buyer_vat_id") and not vat.is_valid(str(want)):
            return False
        # A scan shows what the PDF it was made from printed.
        origin = t.get("scanned_from")
        source = by_name.get((Path(t["file"]).stem[len(origin or "") + 1:], origin), t["file"])
        compact = "".join(str(want).split()).upper()
        return compact in texts.get(source, texts.get(t["file"], compact))

    per = defaultdict(lambda: [0, 0])           # (group, field) -> [right, total]
    sure = defaultdict(lambda: [0, 0])          # producer -> [right, total] of fields marked sure
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
            if want is None or not printed(t, f, want):
                continue
            right = same(f, fields.get(f), want)
            for group in ("all", t["producer"], "lang:" + t["language"]):
                per[(group, f)][0] += right
                per[(group, f)][1] += 1
            r = reading.get(f)
            # What is sure counts where it is used: on a document taken as an invoice.
            if r and r.get("sure") and v.get("doctype"):
                for group in ("all", t["producer"]):
                    sure[group][0] += right
                    sure[group][1] += 1
                wrong_sure |= not right
        if ok_all and not wrong_sure:
            straight[t["producer"]][0] += 1
            if t["producer"] != "scan":
                straight["text PDFs"][0] += 1
        if t["producer"] != "scan":
            straight["text PDFs"][1] += 1
    # The lines: an invoice's table read right when every line the producer printed is read, in
    # order, with its net amount and quantity (item names are not compared: producers cut them).
    tables = defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # producer -> [right, invoices, found, lines right, lines, sure right/sure]
    tables_sure = defaultdict(lambda: [0, 0])
    for t in truth:
        want = t.get("lines")
        if not want:
            continue
        v = got.get(t["file"], {})
        read = (v.get("fields") or {}).get("lines") or []
        lines = (v.get("reading") or {}).get("lines") or {}

        def line_right(g, w):
            return all(same("total", g.get(k), w[k]) if k in w else True for k in ("net_amount", "quantity"))
        right = len(read) == len(want) and all(line_right(g, w) for g, w in zip(read, want))
        for group in (t["producer"], "all"):
            c = tables[group]
            c[0] += right
            c[1] += 1
            c[2] += bool(read)
            c[3] += sum(line_right(g, w) for g, w in zip(read, want)) if len(read) == len(want) else 0
            c[4] += len(want)
            if lines.get("sure") and v.get("doctype"):
                tables_sure[group][0] += right
                tables_sure[group][1] += 1
                if group == "all":
                    sure["all"][0] += right
                    sure["all"][1] += 1
    kinds = defaultdict(lambda: [0, 0])
    for t in truth:
        want = "credit-note" if t["fields"].get("type_code") == "381" else "invoice"
        v = got.get(t["file"], {})
        kinds[t["producer"]][0] += v.get("doctype") == want
        kinds[t["producer"]][1] += 1
    others = []
    if "--others" in sys.argv:
        root = Path(sys.argv[sys.argv.index("--others") + 1])
        files = sorted(str(p) for p in root.rglob("*.pdf"))
        run = subprocess.run([clerk, "classify", "--json", "--definitions", str(defs)] + files,
                             capture_output=True, text=True, env={"CLERK_LOG": "error", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k.startswith("CLERK_OCR")}})
        others = [json.loads(l) for l in run.stdout.splitlines()]
    groups = sorted({g for g, _ in per})
    print(f"{'':16}" + "".join(f"{f[:12]:>13}" for f in FIELDS))
    for g in groups:
        row = "".join(
            f"{(100 * per[(g, f)][0] / per[(g, f)][1]):12.0f}%" if per[(g, f)][1] else f"{'-':>13}" for f in FIELDS)
        print(f"{g:16}{row}")
    for g, (r, n) in sorted(sure.items()):
        print(f"sure fields right, {g}: {r}/{n} = {100 * r / max(1, n):.1f}%")
    for p, c in sorted(tables.items()):
        r, n = tables_sure[p]
        print(f"lines, {p}: table read right on {c[0]}/{c[1]} = {100 * c[0] / max(1, c[1]):.0f}% (a table found on "
              f"{c[2]}; {c[3]}/{c[4]} lines right); sure tables right {r}/{n}")
    for p, (s, n) in sorted(straight.items()):
        print(f"straight through, {p}: {s}/{n} = {100 * s / max(1, n):.0f}%")
    for p, (r, n) in sorted(kinds.items()):
        print(f"read as what it is, {p}: {r}/{n} = {100 * r / max(1, n):.0f}%")
    if others:
        taken = [o["file"] for o in others if o.get("doctype")]
        print(f"other documents read as an invoice or credit note: {len(taken)}/{len(others)}"
              + "".join(f"\n  {f}" for f in taken))
    if "--floors" in sys.argv:
        short = []
        share = lambda rn: rn[0] / rn[1] if rn[1] else 1.0
        for g in groups:
            if g == "all" or g.startswith("lang:"):
                continue
            floor = 0.8 if g == "scan" else 0.9
            for f in CORE:
                if per[(g, f)][1] and share(per[(g, f)]) < floor:
                    short.append(f"{g} {f}: {100 * share(per[(g, f)]):.0f}% < {100 * floor:.0f}%")
        if share(sure["all"]) < 0.99:
            short.append(f"sure fields right: {100 * share(sure['all']):.1f}% < 99%")
        if share(straight["text PDFs"]) < 0.5:
            short.append(f"text PDFs straight through: {100 * share(straight['text PDFs']):.0f}% < 50%")
        print(f"{len(short)} figure(s) below the floors" + "".join(f"\n  {x}" for x in short))
        sys.exit(1 if short else 0)


if __name__ == "__main__":
    main()
