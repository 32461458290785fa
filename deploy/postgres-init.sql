-- Temporal's auto-setup creates its own databases; this only makes sure the
-- Graphium role may create them.
ALTER ROLE graphium CREATEDB;
