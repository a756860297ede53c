/* common/health.c: a worker's health and its HTTP probe. */
#include "rv/health.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "rv/log.h"

#define WHAT_SIZE 128

struct rv_health {
    pthread_mutex_t mu;
    bool starting;
    int red_after;
    int failures;           /* in a row, since the last success */
    char what[WHAT_SIZE];   /* of the last failure */
    struct MHD_Daemon *mhd; /* NULL without a port */
};

bool rv_health_is_red(rv_health *h, char *why, size_t why_size)
{
    if (h == NULL) {
        return false;
    }
    pthread_mutex_lock(&h->mu);
    bool red = h->starting || h->failures >= h->red_after;
    if (red && why != NULL && why_size > 0) {
        if (h->starting) {
            snprintf(why, why_size, "starting%s%s", h->what[0] ? ": " : "",
                     h->what);
        } else {
            snprintf(why, why_size, "%s (%d failures in a row)", h->what,
                     h->failures);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return red;
}

/* libmicrohttpd's request handler: GET /healthz only. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req_cls;
    rv_health *h = cls;
    char body[WHAT_SIZE + 64];
    unsigned int status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        snprintf(body, sizeof(body), "GET /healthz\n");
    } else if (strcmp(url, "/healthz") != 0) {
        status = MHD_HTTP_NOT_FOUND;
        snprintf(body, sizeof(body), "GET /healthz\n");
    } else {
        char why[WHAT_SIZE + 48];
        if (rv_health_is_red(h, why, sizeof(why))) {
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
            snprintf(body, sizeof(body), "red: %s\n", why);
        } else {
            snprintf(body, sizeof(body), "ok\n");
        }
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Whether @p address is an IPv4 address (into *out). rv_health_start and
 * rv_health_check_address share this and is_port, so a checked config
 * starts. */
static bool is_address(const char *address, struct in_addr *out)
{
    return address != NULL && inet_pton(AF_INET, address, out) == 1;
}

/* A probe's port: 0 (none) or 1..65535. */
static bool is_port(int64_t port)
{
    return port >= 0 && port <= 65535;
}

rv_err rv_health_check_address(const char *address, int64_t port,
                               rv_cfg_report_fn report, void *report_arg)
{
    rv_err err = RV_OK;
    struct in_addr a4;
    if (!is_address(address, &a4)) {
        char why[256];
        snprintf(why, sizeof(why),
                 "\"%.64s\" is not an IPv4 address (dotted decimal, e.g. "
                 "127.0.0.1)",
                 address != NULL ? address : "");
        report(report_arg, "health.address", why);
        err = RV_ERR_INVALID;
    }
    if (!is_port(port)) {
        char why[128];
        snprintf(why, sizeof(why), "%" PRId64 " is outside [0, 65535]", port);
        report(report_arg, "health.port", why);
        err = RV_ERR_INVALID;
    }
    return err;
}

rv_err rv_health_start(const char *address, int port, int red_after,
                       rv_health **out, char *errstr, size_t errstr_size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    if (red_after < 1 || !is_port(port) || !is_address(address, &sa.sin_addr)) {
        rv_errf(errstr, errstr_size,
                "health: need an IPv4 address, a port 0..65535 and "
                "red_after >= 1");
        return RV_ERR_INVALID;
    }
    rv_health *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        rv_errf(errstr, errstr_size, "health: out of memory");
        return RV_ERR_NOMEM;
    }
    pthread_mutex_init(&h->mu, NULL);
    h->starting = true;
    h->red_after = red_after;
    if (port != 0) {
        h->mhd = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
            NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)5, MHD_OPTION_END);
        if (h->mhd == NULL) {
            rv_errf(errstr, errstr_size, "health: cannot listen on %s:%d",
                    address, port);
            pthread_mutex_destroy(&h->mu);
            free(h);
            return RV_ERR_UNAVAILABLE;
        }
    }
    *out = h;
    return RV_OK;
}

void rv_health_ready(rv_health *h)
{
    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->starting = false;
    h->what[0] = '\0';
    pthread_mutex_unlock(&h->mu);
}

void rv_health_note_ok(rv_health *h)
{
    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    bool was_red = !h->starting && h->failures >= h->red_after;
    h->starting = false;
    h->failures = 0;
    pthread_mutex_unlock(&h->mu);
    if (was_red) {
        RV_LOG0(RV_LOG_INFO, "health_green");
    }
}

void rv_health_note_failure(rv_health *h, const char *what)
{
    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    snprintf(h->what, sizeof(h->what), "%.120s", what != NULL ? what : "");
    bool turns_red = !h->starting && h->failures + 1 == h->red_after;
    if (!h->starting) {
        h->failures++;
    }
    int failures = h->failures;
    pthread_mutex_unlock(&h->mu);
    if (turns_red) {
        RV_LOG(RV_LOG_ERROR, "health_red", RV_KV_STR("what", what),
               RV_KV_INT("failures", failures));
    }
}

void rv_health_stop(rv_health *h)
{
    if (h == NULL) {
        return;
    }
    if (h->mhd != NULL) {
        MHD_stop_daemon(h->mhd);
    }
    pthread_mutex_destroy(&h->mu);
    free(h);
}
