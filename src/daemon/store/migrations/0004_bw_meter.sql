-- 0004: what the bandwidth meter last read from a sandbox's nftables counters (absolute bytes
-- and each counter object's handle), stored in the same UPDATE as the totals they were added
-- to. The meter never resets a counter: it adds (now - seen), so bytes survive a store error or
-- a crash of hearthd; a changed handle means the counter was made anew (count from 0).
ALTER TABLE sandboxes ADD COLUMN bw_seen_egress INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN bw_seen_ingress INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN bw_seen_egress_handle INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN bw_seen_ingress_handle INTEGER NOT NULL DEFAULT 0;
