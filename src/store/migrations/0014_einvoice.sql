-- The e-invoice a document carries (issue 20): the EN 16931 model the reader filled from a
-- stand-alone XML or from an XML embedded in a PDF, as JSON; NULL for every other document.
ALTER TABLE documents ADD COLUMN einvoice TEXT;
