/* SPDX-License-Identifier: MIT */
/* dns_meter.c: what the DNS server counts and limits per sandbox (docs/networking.md "DNS"):
 * a token bucket of queries (dns_config.rate_qps/rate_burst) and counters of queries, bytes
 * and refusals, kept in a hash table by sandbox id. A sandbox's entry lives until
 * dns_server_forget(); past DNS_METER_MAX entries the least recently seen one is dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/net/dns_internal.h"

#define DNS_METER_BUCKETS 1024
#define DNS_METER_MAX 65536

struct dns_meter_entry {
    char id[DNS_SANDBOX_ID_MAX];
    struct dns_stats st;
    double tokens;
    uint64_t last_us;                   /* monotonic: last refill, last seen */
    struct dns_meter_entry *next;       /* hash chain */
};

struct dns_meter {
    struct dns_meter_entry *b[DNS_METER_BUCKETS];
    size_t n;
    double rate, burst;                 /* 0 rate: no limit */
    struct dns_stats total;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned bucket_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % DNS_METER_BUCKETS;
}

int dns_meter_new(uint32_t rate_qps, uint32_t burst, struct dns_meter **ret)
{
    struct dns_meter *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    m->rate = rate_qps;
    m->burst = rate_qps ? (burst ? burst : rate_qps) : 0;
    *ret = m;
    return 0;
}

void dns_meter_free(struct dns_meter *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < DNS_METER_BUCKETS; i++)
        for (struct dns_meter_entry *e = m->b[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(m);
}

static struct dns_meter_entry **find(struct dns_meter *m, const char *id)
{
    struct dns_meter_entry **pp = &m->b[bucket_of(id)];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Drops the entry seen least recently (a full table: O(n), rare). */
static void evict_oldest(struct dns_meter *m)
{
    struct dns_meter_entry **old = NULL;
    for (size_t i = 0; i < DNS_METER_BUCKETS; i++)
        for (struct dns_meter_entry **pp = &m->b[i]; *pp; pp = &(*pp)->next)
            if (!old || (*pp)->last_us < (*old)->last_us)
                old = pp;
    if (old) {
        struct dns_meter_entry *e = *old;
        *old = e->next;
        free(e);
        m->n--;
    }
}

/* The entry of id, created with a full bucket; NULL when out of memory. */
static struct dns_meter_entry *get(struct dns_meter *m, const char *id)
{
    struct dns_meter_entry **pp = find(m, id);
    if (*pp)
        return *pp;
    if (m->n >= DNS_METER_MAX)
        evict_oldest(m);
    struct dns_meter_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->tokens = m->burst;
    e->last_us = now_us();
    pp = find(m, id); /* eviction may have changed the chain */
    e->next = *pp;
    *pp = e;
    m->n++;
    return e;
}

bool dns_meter_query(struct dns_meter *m, const char *id, size_t bytes)
{
    m->total.queries++;
    m->total.bytes_in += bytes;
    struct dns_meter_entry *e = get(m, id);
    if (!e)
        return true; /* out of memory: serve rather than refuse everyone */
    e->st.queries++;
    e->st.bytes_in += bytes;
    uint64_t now = now_us();
    if (m->rate > 0) {
        e->tokens += (double)(now - e->last_us) * m->rate / 1e6;
        if (e->tokens > m->burst)
            e->tokens = m->burst;
    }
    e->last_us = now;
    if (m->rate > 0 && e->tokens < 1.0) {
        e->st.limited++;
        m->total.limited++;
        return false;
    }
    if (m->rate > 0)
        e->tokens -= 1.0;
    return true;
}

void dns_meter_refused(struct dns_meter *m, const char *id)
{
    m->total.refused++;
    struct dns_meter_entry *e = *find(m, id);
    if (e)
        e->st.refused++;
}

void dns_meter_sent(struct dns_meter *m, const char *id, size_t bytes)
{
    m->total.bytes_out += bytes;
    if (!id[0])
        return;
    struct dns_meter_entry *e = *find(m, id);
    if (e)
        e->st.bytes_out += bytes;
}

bool dns_server_stats(const struct dns_server *s, const char *id, struct dns_stats *ret)
{
    if (!id) {
        *ret = s->meter->total;
        return true;
    }
    struct dns_meter_entry *e = *find(s->meter, id);
    if (!e) {
        memset(ret, 0, sizeof(*ret));
        return false;
    }
    *ret = e->st;
    return true;
}

void dns_server_forget(struct dns_server *s, const char *id)
{
    struct dns_meter_entry **pp = find(s->meter, id);
    if (*pp) {
        struct dns_meter_entry *e = *pp;
        *pp = e->next;
        free(e);
        s->meter->n--;
    }
}

void dns_server_stats_each(const struct dns_server *s,
                           void (*fn)(void *ud, const char *id, const struct dns_stats *st),
                           void *ud)
{
    for (size_t i = 0; i < DNS_METER_BUCKETS; i++)
        for (const struct dns_meter_entry *e = s->meter->b[i]; e; e = e->next)
            fn(ud, e->id, &e->st);
}
