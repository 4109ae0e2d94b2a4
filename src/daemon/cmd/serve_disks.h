/* SPDX-License-Identifier: MIT */
/* serve_disks.h: what `hearthd serve` sets up for S3 disks (docs/disks.md), kept out of
 * cmd_serve.c: the key ring from disk_key_file and the endpoint policy (hearth's own address
 * pools and disk_endpoint_allow) handed to the control layer. */
#pragma once

struct hd_config;
struct ctl;

/* Loads the disk key file (made at first start) unless disk_key_file is off. A key file that
 * cannot be used is logged as an error and disks stay off (503 disks_not_configured); the rest
 * of hearthd serves on. */
void serve_disks_start(const struct hd_config *cfg, struct ctl *c);
