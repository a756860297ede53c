/* workers/revisitctl/ctl_args.c: options and numbers on revisitctl's
 * command line (ctl_args.h). */
#include "ctl_args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool ctl_arg_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

rv_err ctl_arg_value(int argc, char **argv, int *i, const char **value,
                     char *errstr, size_t errstr_size)
{
    if (*i + 1 >= argc) {
        rv_errf(errstr, errstr_size, "\"%s\" needs a value", argv[*i]);
        return RV_ERR_INVALID;
    }
    *i += 1;
    *value = argv[*i];
    return RV_OK;
}

rv_err ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    /* strtoull alone takes "-1" (as UINT64_MAX), " 1" and "+1". */
    if (s == NULL || s[0] < '0' || s[0] > '9') {
        return RV_ERR_INVALID;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return RV_ERR_INVALID;
    }
    *out = v;
    return RV_OK;
}

rv_err ctl_arg_u64(int argc, char **argv, int *i, uint64_t min, uint64_t max,
                   uint64_t *out, char *errstr, size_t errstr_size)
{
    int at = *i;
    const char *value = NULL;
    rv_err err = ctl_arg_value(argc, argv, &at, &value, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    if (ctl_parse_u64(value, min, max, out) != RV_OK) {
        rv_errf(errstr, errstr_size,
                "%s \"%s\" is not a whole number in %llu..%llu", argv[*i],
                value, (unsigned long long)min, (unsigned long long)max);
        return RV_ERR_INVALID;
    }
    *i = at;
    return RV_OK;
}
