/* workers/revisitctl/ctl_env.c: settings every revisitctl command reads
 * the same way (ctl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int rv_ctl_check_reveal(rv_pg *pg, const char *what)
{
    static const char sql[] =
        "SELECT current_user, coalesce((SELECT pg_has_role(current_user, "
        "oid, 'member') FROM pg_roles WHERE rolname = 'revisit_reveal'), "
        "false)";
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    if (rv_pg_exec(pg, sql, 0, NULL, &res, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "%s: role check: %s\n", what, errstr);
        return 69;
    }
    int code = 0;
    if (rv_pg_result_rows(res) != 1 ||
        strcmp(rv_pg_result_value(res, 0, 1), "t") != 0) {
        const char *user =
            rv_pg_result_rows(res) == 1 ? rv_pg_result_value(res, 0, 0) : "?";
        fprintf(stderr,
                "%s refused: PostgreSQL user \"%s\" is not a member of "
                "role revisit_reveal; ask a database administrator for "
                "GRANT revisit_reveal TO \"%s\"\n",
                what, user, user);
        code = RV_CTL_EX_NOPERM;
    }
    rv_pg_result_free(res);
    return code;
}
