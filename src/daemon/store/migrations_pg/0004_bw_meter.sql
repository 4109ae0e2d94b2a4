-- 0004 (PostgreSQL): what the bandwidth meter last read; see migrations/0004_bw_meter.sql.
ALTER TABLE sandboxes ADD COLUMN bw_seen_egress BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN bw_seen_ingress BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN bw_seen_egress_handle BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN bw_seen_ingress_handle BIGINT NOT NULL DEFAULT 0;
