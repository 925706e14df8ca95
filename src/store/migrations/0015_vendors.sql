-- What agents taught clerk of each vendor's invoices (issue 21). A vendor is known by keys (its
-- VAT identifier, its IBAN: `vat:DE…`, `iban:DE…`); per field, the spots its value stands at on the
-- vendor's layouts, newest first (JSON, see classify::generic::vendor::Spot), and the document the
-- newest was shown on.
CREATE TABLE vendors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE vendor_keys (
    key TEXT PRIMARY KEY,
    vendor_id INTEGER NOT NULL
);
CREATE INDEX vendor_keys_vendor ON vendor_keys(vendor_id);
CREATE TABLE vendor_fields (
    vendor_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    spots TEXT NOT NULL,
    example TEXT NOT NULL,
    document_id INTEGER NOT NULL,
    learned_by TEXT NOT NULL,
    learned_at TEXT NOT NULL,
    PRIMARY KEY (vendor_id, field)
);
