/* include/rv/health.h: a worker's health, for a supervisor's probe
 * (issue 6, failure class 6: repeated failure turns the health red).
 *
 * The runner notes every batch or tick that failed and every batch that
 * went through; after `red_after` failures in a row without a success the
 * worker is red, until the next success. Start-up is red until the
 * clients are open (a worker waiting for Redis is not ready). With a port
 * the state is served over HTTP (libmicrohttpd, its own thread):
 *
 *   GET /healthz  200 "ok\n"  or  503 "red: <what> (<n> failures in a row)\n"
 *
 * Thread-safe: the runner writes, the server thread reads. */
#ifndef RV_HEALTH_H
#define RV_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/cfg.h"
#include "rv/compiler.h"
#include "rv/err.h"

typedef struct rv_health rv_health;

/**
 * Create the health state, red ("starting") until the first
 * rv_health_note_ok or rv_health_ready, and serve it on @p address:@p port
 * unless @p port is 0.
 * @param address  IPv4 address to listen on, e.g. "127.0.0.1" (borrowed)
 * @param red_after  failures in a row that turn it red, >= 1
 * @param out      on RV_OK the state, freed with rv_health_stop()
 * @returns RV_OK, RV_ERR_INVALID (bad address or red_after),
 *          RV_ERR_UNAVAILABLE (the port cannot be bound; errstr says why),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_health_start(const char *address, int port,
                                    int red_after, rv_health **out,
                                    char *errstr, size_t errstr_size);

/**
 * Check the probe's listen address as rv_health_start() reads it, without
 * binding: @p address (config health.address) an IPv4 address in dotted
 * decimal form, @p port (health.port) in [0, 65535], 0 meaning no probe.
 * Each problem goes to @p report (key "health.address" or "health.port").
 * Whether the port is free is not checked: the running worker may hold it.
 * @param address  NUL-terminated, borrowed; NULL is a problem
 * @param report   called once a problem, with @p report_arg
 * @returns RV_OK, RV_ERR_INVALID (one or more problems reported)
 * Threads: any.
 */
RV_MUSTCHECK rv_err rv_health_check_address(const char *address, int64_t port,
                                            rv_cfg_report_fn report,
                                            void *report_arg);

/** Start-up is over: no longer red for "starting". NULL is a no-op. */
void rv_health_ready(rv_health *h);

/** A batch or tick went through: the failure run ends. NULL: no-op. */
void rv_health_note_ok(rv_health *h);

/** One more failure in a row; @p what says of what (copied, cut to 120
 *  bytes), e.g. "handle: unavailable". NULL is a no-op. */
void rv_health_note_failure(rv_health *h, const char *what);

/**
 * Whether @p h is red; if so, and @p why is not NULL, the reason as the
 * probe prints it (without "red: " and the newline).
 */
bool rv_health_is_red(rv_health *h, char *why, size_t why_size);

/** Stop the server and free @p h. NULL is a no-op. */
void rv_health_stop(rv_health *h);

#endif /* RV_HEALTH_H */
