-- Every word of a page with its box in points, as `[x0, y0, x1, y1, text]` (the text layer's, or
-- OCR's converted): what invoice2data `area:` fields crop. NULL for plain text, and for pages
-- read before clerk kept boxes (their area fields read the whole text).
ALTER TABLE pages ADD COLUMN boxes TEXT;
