-- The roll-ups' fold and rebuild were database functions that migrations 9, 13 and 15 each
-- defined again. They are now statements in the server (server/src/db/rollup.rs), defined
-- once, changed with the code that reads the roll-ups and never by another migration.
-- The triggers that queue the deltas (migrations 8, 9 and 14) stay in the schema.
drop function stats_fold();
drop function stats_rebuild();
