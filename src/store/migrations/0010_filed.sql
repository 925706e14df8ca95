-- The learner reads the items agents resolved in the order they were resolved, from where it
-- stopped: without this index every look would scan every resolved item.
CREATE INDEX exceptions_filed ON exceptions(state, updated_at, id);
