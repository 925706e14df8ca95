"""The Python shop's e-invoice reading, timed in one process: for each file, the XML out of a
PDF with the `factur-x` package (`get_xml_from_pdf`) or the file itself, then lxml mapping the
same EN 16931 terms as clerk (read.py). Prints the seconds spent on all files, start-up excluded.

    bench.py FILE...
"""
import io
import logging
import sys
import time

import facturx
from lxml import etree

import read

logging.disable(logging.CRITICAL)


def one(path):
    data = open(path, "rb").read()
    if data[:5] == b"%PDF-":
        _name, data = facturx.get_xml_from_pdf(data, check_xsd=False)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(io.BytesIO(data), parser).getroot()
    q = etree.QName(root)
    if q.localname == "CrossIndustryInvoice":
        return read.cii(root, False)
    if q.localname == "CrossIndustryDocument":
        return read.cii(root, True)
    return read.ubl(root, q.localname == "CreditNote")


if __name__ == "__main__":
    files = sys.argv[1:]
    start = time.perf_counter()
    for f in files:
        one(f)
    print(time.perf_counter() - start)
