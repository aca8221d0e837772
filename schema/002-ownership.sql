-- 002-ownership.sql: the lease that names the node allowed to serve this server.
-- It is meant for high-availability failover: the node holding the lease
-- serves the server until expires (seconds since the Epoch), and generation
-- counts acquisitions, so each holder has its own. No row means that no node
-- has ever held the lease.
-- lib/nsr-store-owner.c reads and writes it; docs/design.md explains the fencing.
CREATE TABLE ownership (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	node_id TEXT NOT NULL CHECK (length(node_id) BETWEEN 1 AND 255),
	generation INTEGER NOT NULL CHECK (generation >= 0),
	expires INTEGER NOT NULL
);
