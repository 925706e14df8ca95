"""invoice2data 1.0.1's side of `cargo bench --bench invoice2data`: loads the templates once,
then extracts every file with the pdftotext reader (as `invoice2data --input-reader pdftotext`
does), and prints one JSON object: seconds to load the templates, seconds for the files, files.

    python invoice2data_bench.py TEMPLATE_DIR FILE...
"""

import json
import sys
import time

t0 = time.perf_counter()
from invoice2data import extract_data  # noqa: E402
from invoice2data.extract.loader import read_templates  # noqa: E402
from invoice2data.input import pdftotext  # noqa: E402

templates = read_templates(sys.argv[1])
t1 = time.perf_counter()
recognised = 0
for path in sys.argv[2:]:
    if extract_data(path, templates, pdftotext):
        recognised += 1
t2 = time.perf_counter()
print(json.dumps({"startup": t1 - t0, "files_seconds": t2 - t1, "files": len(sys.argv) - 2, "recognised": recognised}))
