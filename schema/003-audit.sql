-- 003-audit.sql: what the audit needs beyond the event log: client sightings,
-- findings and the history of nfsd's server scope.
-- The migration runner sets PRAGMA user_version; this file must not.

-- The latest address and principal each client id presented, and when.
-- A CREATE compares itself with this row to find one id used by two
-- clients within one lease period. Rows older than a lease period no
-- longer matter and are deleted by the batches that follow.
CREATE TABLE client_sightings (
	clientid BLOB PRIMARY KEY NOT NULL
		CHECK (typeof(clientid) = 'blob' AND length(clientid) BETWEEN 1 AND 1024),
	time INTEGER NOT NULL,
	address TEXT,
	principal TEXT
) WITHOUT ROWID;

CREATE INDEX client_sightings_time ON client_sightings (time);

-- Audit findings. The kind names the problem; old_value and new_value are
-- the two addresses, principals or scopes that disagree.
CREATE TABLE findings (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	time INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('address-conflict', 'principal-conflict',
					   'scope-change')),
	clientid BLOB CHECK (clientid IS NULL OR length(clientid) BETWEEN 1 AND 1024),
	old_value TEXT,
	new_value TEXT,
	detail TEXT
);

CREATE INDEX findings_time ON findings (time);

-- Every server scope nfsd has sent, with the time it was first seen.
-- A row is added whenever the scope differs from the previous one.
CREATE TABLE scope_history (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	time INTEGER NOT NULL,
	scope TEXT NOT NULL
);

-- The scope that 001 kept in meta becomes the first history entry.
INSERT INTO scope_history (time, scope)
	SELECT 0, value FROM meta WHERE key = 'scope';
