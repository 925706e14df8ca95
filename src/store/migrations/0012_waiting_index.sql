-- Overdue items are counted at every metrics scrape: open and claimed items older than a cutoff.
CREATE INDEX exceptions_waiting ON exceptions(state, created_at);
