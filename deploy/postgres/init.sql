-- One database per service, so each owns its schema and migrations (compose only).
CREATE DATABASE auth OWNER energypulse;
CREATE DATABASE predict OWNER energypulse;
CREATE DATABASE ledger OWNER energypulse;
CREATE DATABASE ingest OWNER energypulse;
CREATE DATABASE alert OWNER energypulse;
