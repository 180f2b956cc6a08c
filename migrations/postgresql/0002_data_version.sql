-- SQLite's 0002 kept a data version by triggers, and its 0004 dropped them
-- for the audit's last sequence number. Nothing to do here: the number is
-- kept so that both engines count their migrations alike.
SELECT 1;
