"""The zxing-cpp Python package on page images, as a user who picks it instead of clerk would call
it: `zxingcpp.read_barcodes(image)` with its defaults (every format, rotated and inverted codes
sought), and again with clerk's options (its six symbologies, no inverted codes). One JSON line
per image: the texts found each way and the seconds the PNG load and each read took."""
import json
import sys
import time

import zxingcpp
from PIL import Image

FORMATS = (
    zxingcpp.BarcodeFormat.Code39
    | zxingcpp.BarcodeFormat.Code128
    | zxingcpp.BarcodeFormat.QRCode
    | zxingcpp.BarcodeFormat.DataMatrix
    | zxingcpp.BarcodeFormat.PDF417
    | zxingcpp.BarcodeFormat.EAN13
    | zxingcpp.BarcodeFormat.EAN8
    | zxingcpp.BarcodeFormat.UPCA
    | zxingcpp.BarcodeFormat.UPCE
)

for path in sys.argv[1:]:
    t0 = time.perf_counter()
    image = Image.open(path)
    image.load()
    t1 = time.perf_counter()
    found = zxingcpp.read_barcodes(image)
    t2 = time.perf_counter()
    same = zxingcpp.read_barcodes(image, formats=FORMATS, try_invert=False)
    t3 = time.perf_counter()
    print(json.dumps({
        "file": path,
        "default": sorted({b.text for b in found}),
        "clerk_options": sorted({b.text for b in same}),
        "load": t1 - t0,
        "default_read": t2 - t1,
        "clerk_options_read": t3 - t2,
    }), flush=True)
