/* workers/revisitctl/ctl_env.c: settings every revisitctl command reads
 * the same way (ctl.h). */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

const char *rv_ctl_dsn(const char *what, const char *dsn)
{
    if (dsn == NULL) {
        dsn = getenv("RV_PG_DSN");
    }
    if (dsn == NULL || dsn[0] == '\0') {
        fprintf(stderr,
                "revisitctl %s: no database: set RV_PG_DSN or pass --dsn\n",
                what);
        return NULL;
    }
    return dsn;
}
