-- Claims walk these in the order they take work and stop at the first row that can be taken, so a
-- claim costs the same with ten or ten thousand items waiting (PostgreSQL's indexes, unlike
-- SQLite's, do not end in the row id, which the claims order by).
CREATE INDEX runs_due ON runs(state, run_after, id);
CREATE INDEX jobs_due ON jobs(state, id);
