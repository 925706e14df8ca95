-- The audit trail is read newest first, by who did it (an admin asking what a user did).
CREATE INDEX audit_actor ON audit(actor, id);
