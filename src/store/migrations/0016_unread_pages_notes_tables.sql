-- A damaged page costs that page, not the document (issue 22): why it could not be read.
ALTER TABLE pages ADD COLUMN unread TEXT;
-- Fields read from a longer text than their value: name → what was left beside it (JSON).
ALTER TABLE documents ADD COLUMN notes TEXT;
-- A spreadsheet's sheets as rows of cells (JSON: [{name, rows}]), for extractors and bots.
ALTER TABLE documents ADD COLUMN tables TEXT;
