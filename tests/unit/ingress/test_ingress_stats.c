/* SPDX-License-Identifier: MIT */
/* test_ingress_stats.c: the ingress proxy's metrics (ingress_stats.h): a status lands on its
 * fixed `code` label (the guest's by class, the proxy's own exactly, nonsense on "other"), the
 * head-latency histogram is cumulative, and a known state renders exactly these lines. */
#include "daemon/ingress/ingress_stats.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static char *render(const struct ingress_stats *st)
{
    struct buf b;
    buf_init(&b, 1u << 20);
    if (ingress_stats_render(st, &b) < 0) { /* the caller's REQUIRE fails on NULL */
        buf_release(&b);
        return NULL;
    }
    size_t len;
    return (char *)buf_take(&b, &len);
}

TEST(ingress_stats_codes)
{
    struct ingress_stats st = { 0 };
    ingress_stats_response(&st, 200, false, 0.001);
    ingress_stats_response(&st, 404, false, 0.001); /* the app's 404 */
    ingress_stats_response(&st, 404, true, 0.001);  /* no such sandbox */
    ingress_stats_response(&st, 101, false, 0.001);
    ingress_stats_response(&st, 418, true, 0.001);  /* not one of ours: its class */
    ingress_stats_response(&st, 999, false, 0.001);
    ingress_stats_response(&st, -5, true, 0.001);
    CHECK_EQ(st.requests[INGRESS_C_2XX], 1);
    CHECK_EQ(st.requests[INGRESS_C_4XX], 2);
    CHECK_EQ(st.requests[INGRESS_C_404], 1);
    CHECK_EQ(st.requests[INGRESS_C_1XX], 1);
    CHECK_EQ(st.requests[INGRESS_C_OTHER], 2);
    CHECK_EQ(st.heads, 7);
}

TEST(ingress_stats_render_exact)
{
    struct ingress_stats st = { 0 };
    ingress_stats_response(&st, 200, false, 0.002);
    ingress_stats_response(&st, 503, true, 0.3);
    ingress_stats_response(&st, 502, true, 100); /* past every bound: only +Inf */
    ingress_stats_response(&st, 301, false, -1); /* a clock step back counts as 0 */
    st.bytes_in = 10;
    st.bytes_out = 2048;
    st.wakes_ok = 3;
    st.wakes_failed = 1;
    st.websockets = 2;
    st.connections = 5;
    st.pooled = 4;
    char *s = render(&st);
    CHECK(s != NULL);
    if (!s)
        return;
    static const char want[] =
        "# HELP hearth_ingress_requests_total Ingress requests answered, by status class (the "
        "guest's answer) or exact status (the proxy's own).\n"
        "# TYPE hearth_ingress_requests_total counter\n"
        "hearth_ingress_requests_total{code=\"1xx\"} 0\n"
        "hearth_ingress_requests_total{code=\"2xx\"} 1\n"
        "hearth_ingress_requests_total{code=\"3xx\"} 1\n"
        "hearth_ingress_requests_total{code=\"4xx\"} 0\n"
        "hearth_ingress_requests_total{code=\"5xx\"} 0\n"
        "hearth_ingress_requests_total{code=\"400\"} 0\n"
        "hearth_ingress_requests_total{code=\"401\"} 0\n"
        "hearth_ingress_requests_total{code=\"404\"} 0\n"
        "hearth_ingress_requests_total{code=\"421\"} 0\n"
        "hearth_ingress_requests_total{code=\"429\"} 0\n"
        "hearth_ingress_requests_total{code=\"502\"} 1\n"
        "hearth_ingress_requests_total{code=\"503\"} 1\n"
        "hearth_ingress_requests_total{code=\"504\"} 0\n"
        "hearth_ingress_requests_total{code=\"other\"} 0\n"
        "# HELP hearth_ingress_request_duration_seconds Time from a request's head to its "
        "response head.\n"
        "# TYPE hearth_ingress_request_duration_seconds histogram\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"0.005\"} 2\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"0.01\"} 2\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"0.025\"} 2\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"0.05\"} 2\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"0.1\"} 2\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"0.25\"} 2\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"0.5\"} 3\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"1\"} 3\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"2.5\"} 3\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"5\"} 3\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"10\"} 3\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"30\"} 3\n"
        "hearth_ingress_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"
        "hearth_ingress_request_duration_seconds_sum 100.302000\n"
        "hearth_ingress_request_duration_seconds_count 4\n"
        "# HELP hearth_ingress_bytes_total Ingress bytes: in to the guests, out to clients.\n"
        "# TYPE hearth_ingress_bytes_total counter\n"
        "hearth_ingress_bytes_total{direction=\"in\"} 10\n"
        "hearth_ingress_bytes_total{direction=\"out\"} 2048\n"
        "# HELP hearth_ingress_connections Open ingress client connections.\n"
        "# TYPE hearth_ingress_connections gauge\n"
        "hearth_ingress_connections 5\n"
        "# HELP hearth_ingress_upstream_pool Idle guest connections kept for reuse.\n"
        "# TYPE hearth_ingress_upstream_pool gauge\n"
        "hearth_ingress_upstream_pool 4\n"
        "# HELP hearth_ingress_wakes_total Ingress requests that resumed a paused sandbox, by "
        "result.\n"
        "# TYPE hearth_ingress_wakes_total counter\n"
        "hearth_ingress_wakes_total{result=\"ok\"} 3\n"
        "hearth_ingress_wakes_total{result=\"failed\"} 1\n"
        "# HELP hearth_ingress_websockets Open upgraded (WebSocket) ingress connections.\n"
        "# TYPE hearth_ingress_websockets gauge\n"
        "hearth_ingress_websockets 2\n";
    CHECK_STR(s, want);
    free(s);
}

TEST(ingress_stats_render_full_buffer)
{
    struct ingress_stats st = { 0 };
    struct buf b;
    buf_init(&b, 64); /* far too small: an error, never a cut family passed off as whole */
    CHECK(ingress_stats_render(&st, &b) < 0);
    buf_release(&b);
}
