-- Pages OCR read turned (scanned upside down or sideways): clockwise degrees, so the page is
-- drawn for people the way its words and boxes were read.
ALTER TABLE pages ADD COLUMN turned INTEGER NOT NULL DEFAULT 0;
