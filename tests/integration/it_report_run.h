/* tests/integration/it_report_run.h: run `revisitctl report` in-process
 * with its stdout captured, for the report tests. Include after cmocka. */
#ifndef RV_IT_REPORT_RUN_H
#define RV_IT_REPORT_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* Run rv_ctl_report with the @p argc arguments in @p args (copied: argv
 * is writable), stdout captured into @p out (@p out_size bytes). */
static int run_report(int argc, const char *const *args, char *out,
                      size_t out_size)
{
    char *argv[8] = {0};
    assert_true(argc < 8);
    for (int i = 0; i < argc; i++) {
        argv[i] = strdup(args[i]);
        assert_non_null(argv[i]);
    }
    char path[] = "/tmp/it_report_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    int code = rv_ctl_report(argc, argv);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    ssize_t n = pread(fd, out, out_size - 1, 0);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
    for (int i = 0; i < argc; i++) {
        free(argv[i]);
    }
    return code;
}

#endif /* RV_IT_REPORT_RUN_H */
