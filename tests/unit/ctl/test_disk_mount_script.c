/* SPDX-License-Identifier: MIT */
/* test_disk_mount_script.c: s3fs's arguments (ctl/disk_mount_script.h): the tag follows what
 * decides a mount and the credentials' time, the source carries sub_path, and an endpoint or
 * region that could end an s3fs option is refused. */
#include "daemon/ctl/disk_mount_script.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void fill(struct store_mount *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->disk_id, sizeof(m->disk_id), "disk_01");
    snprintf(m->bucket, sizeof(m->bucket), "bkt");
    snprintf(m->endpoint, sizeof(m->endpoint), "https://s3.example.com");
    snprintf(m->mount_path, sizeof(m->mount_path), "/data");
}

TEST(tag_source_options)
{
    struct store_mount m;
    fill(&m);
    char t1[DISK_TAG_SIZE], t2[DISK_TAG_SIZE], t3[DISK_TAG_SIZE];
    disk_script_tag(&m, 1, t1);
    disk_script_tag(&m, 1, t2);
    CHECK_STR(t1, t2);
    CHECK_EQ(strlen(t1), 16);
    disk_script_tag(&m, 2, t3); /* a rotation is a new tag */
    CHECK(strcmp(t1, t3) != 0);
    snprintf(m.sub_path, sizeof(m.sub_path), "a/b");
    disk_script_tag(&m, 1, t3);
    CHECK(strcmp(t1, t3) != 0);

    char src[64], opts[DISK_OPTS_SIZE];
    CHECK_EQ(disk_script_source(&m, src, sizeof(src)), 0);
    CHECK_STR(src, "bkt:/a/b");
    CHECK_EQ(disk_script_source(&m, src, 5), -ENAMETOOLONG);
    m.sub_path[0] = '\0';
    CHECK_EQ(disk_script_source(&m, src, sizeof(src)), 0);
    CHECK_STR(src, "bkt");

    CHECK_EQ(disk_script_options(&m, t1, opts, sizeof(opts)), 0);
    CHECK(strstr(opts, "url=https://s3.example.com,endpoint=us-east-1,") == opts);
    CHECK(!strstr(opts, "use_path_request_style"));
    CHECK(strstr(opts, "fsname=hearth:") != NULL);
    m.path_style = true;
    snprintf(m.region, sizeof(m.region), "eu-west-3");
    CHECK_EQ(disk_script_options(&m, t1, opts, sizeof(opts)), 0);
    CHECK(strstr(opts, "endpoint=eu-west-3,use_path_request_style") != NULL);
    /* nothing may add an s3fs option of its own */
    static const char *const bad[] = { "https://x,passwd_file=/etc/shadow", "https://x y",
                                       "https://x\n", "https://x\"", "https://x'", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(m.endpoint, sizeof(m.endpoint), "%s", bad[i]);
        CHECK_EQ(disk_script_options(&m, t1, opts, sizeof(opts)), -EINVAL);
    }
    snprintf(m.endpoint, sizeof(m.endpoint), "https://s3.example.com");
    snprintf(m.region, sizeof(m.region), "eu,allow_other");
    CHECK_EQ(disk_script_options(&m, t1, opts, sizeof(opts)), -EINVAL);
}

TEST(argv_shapes)
{
    const char *v[9], *c[6], *u[6], *p[8];
    disk_script_mount_argv("/data", "bkt", "url=x", "0123456789abcdef", v);
    CHECK_STR(v[0], "/bin/sh");
    CHECK_STR(v[4], "/data");
    CHECK_STR(v[7], "0123456789abcdef");
    CHECK(v[8] == NULL);
    disk_script_check_argv("/data", c);
    CHECK(c[5] == NULL);
    disk_script_unmount_argv("/data", u);
    CHECK(u[5] == NULL);
    const char *keep[] = { "hearth:a /x", "hearth:b /y" };
    disk_script_prune_argv(keep, 2, p);
    CHECK_STR(p[5], "hearth:b /y");
    CHECK(p[6] == NULL);
}
