-- A document cut from a scanned batch (issue 22): the batch it came from and its pages there
-- ("3-4, 6"). The batch keeps its own row and bytes, with status 'split'.
ALTER TABLE documents ADD COLUMN split_from INTEGER REFERENCES documents(id);
ALTER TABLE documents ADD COLUMN split_pages TEXT;
CREATE INDEX documents_split_from ON documents(split_from);
-- The barcodes read on a page (JSON: [{format, value}]) and its ink in millionths of the page
-- (an integer: one type on both backends), for splitting, matching and fields.
ALTER TABLE pages ADD COLUMN barcodes TEXT;
ALTER TABLE pages ADD COLUMN ink_ppm INTEGER;
