-- 001-initial.sql: one virtual server's client records, grace state and audit log.
-- The migration runner sets PRAGMA user_version; this file must not.

-- Server attributes such as "name", "scope" and "node-id".
CREATE TABLE meta (
	key TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	value TEXT NOT NULL
) WITHOUT ROWID;

-- The grace state: exactly one row. recovery_epoch is 0 when no grace period
-- is in progress, and otherwise an epoch older than current_epoch.
CREATE TABLE grace (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	current_epoch INTEGER NOT NULL CHECK (current_epoch >= 1),
	recovery_epoch INTEGER NOT NULL
		CHECK (recovery_epoch >= 0 AND recovery_epoch < current_epoch),
	grace_started INTEGER NOT NULL DEFAULT 0,
	boot_time INTEGER NOT NULL DEFAULT 0
);

INSERT INTO grace (id, current_epoch, recovery_epoch) VALUES (1, 1, 0);

-- One row per client and epoch. The id is the opaque NFSv4 client id
-- (1 to 1024 bytes, binary-safe), and princhash is NULL or the 32-byte
-- SHA-256 of the client's Kerberos principal. Times are seconds since the
-- Epoch. NULL audit fields mean "not known".
CREATE TABLE clients (
	epoch INTEGER NOT NULL CHECK (epoch >= 1),
	clientid BLOB NOT NULL
		CHECK (typeof(clientid) = 'blob' AND length(clientid) BETWEEN 1 AND 1024),
	princhash BLOB
		CHECK (princhash IS NULL OR (typeof(princhash) = 'blob' AND length(princhash) = 32)),
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	address TEXT CHECK (address IS NULL OR length(CAST(address AS BLOB)) <= 64),
	minor_version INTEGER CHECK (minor_version IS NULL OR minor_version >= 0),
	principal TEXT CHECK (principal IS NULL OR length(CAST(principal AS BLOB)) <= 1024),
	impl_id TEXT CHECK (impl_id IS NULL OR length(CAST(impl_id AS BLOB)) <= 1024),
	PRIMARY KEY (epoch, clientid)
) WITHOUT ROWID;

-- The audit log. AUTOINCREMENT keeps seq increasing even after retention
-- has deleted every older row.
CREATE TABLE events (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	time INTEGER NOT NULL,
	type TEXT NOT NULL CHECK (type IN ('create', 'remove', 'reclaim', 'grace-start',
					   'grace-done', 'import', 'forget')),
	clientid BLOB CHECK (clientid IS NULL OR length(clientid) BETWEEN 1 AND 1024),
	epoch INTEGER NOT NULL DEFAULT 0,
	detail TEXT
);

CREATE INDEX events_time ON events (time);
