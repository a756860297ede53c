/* tests/integration/it_common.h: what every integration test shares:
 * its settings from the environment, sleeping, and running revisitctl
 * with its output captured. Include after cmocka. */
#ifndef RV_IT_COMMON_H
#define RV_IT_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The value of setting @p name; a test that cannot reach its service
 * fails (exit 1, naming @p test and the setting). */
static inline const char *it_need(const char *test, const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr,
                "%s: %s is not set: run through ctest after "
                "deploy/local/stack.sh start, or deploy/local/test.sh\n",
                test, name);
        exit(1);
    }
    return v;
}

/* Sleeps @p ms milliseconds. */
static inline void it_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads file @p path into @p out (at most @p out_size - 1 bytes, then a
 * NUL) and removes it. */
static inline void it_read_file(const char *path, char *out, size_t out_size)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, out_size - 1, f);
    out[n] = '\0';
    fclose(f);
    unlink(path);
}

/* fork(), output flushed first; the child gets SIGTERM when the test
 * ends. Returns the child's pid (0 in the child). */
static inline pid_t it_fork(void)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    }
    return pid;
}

/* Runs <build_dir>/workers/revisitctl/revisitctl with @p args
 * (NULL-terminated, without the program name, 14 at most); its stdout
 * and stderr into @p out and @p err (@p out_size bytes each). Returns its
 * exit status, -1 if it did not exit. Kafka, Redis and PostgreSQL come
 * from the environment or from @p args. */
static inline int it_run_ctl(const char *build_dir, const char *const *args,
                             char *out, char *err, size_t out_size)
{
    char bin[1024];
    snprintf(bin, sizeof(bin), "%s/workers/revisitctl/revisitctl", build_dir);
    char out_path[] = "/tmp/it_ctl_out_XXXXXX";
    char err_path[] = "/tmp/it_ctl_err_XXXXXX";
    int out_fd = mkstemp(out_path);
    int err_fd = mkstemp(err_path);
    assert_true(out_fd >= 0 && err_fd >= 0);
    char *argv[16] = {bin};
    size_t n = 1;
    while (args[n - 1] != NULL) {
        assert_true(n < 15);
        argv[n] = (char *)args[n - 1];
        n++;
    }
    pid_t pid = it_fork();
    if (pid == 0) {
        if (dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0) {
            _exit(127);
        }
        execv(bin, argv);
        _exit(127);
    }
    close(out_fd);
    close(err_fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    it_read_file(out_path, out, out_size);
    it_read_file(err_path, err, out_size);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts worker @p name of @p build_dir with the settings @p env
 * (NULL-terminated name, value pairs; NULL: none) added to its
 * environment, its log in <build_dir>/<test>_<name>.log; it dies with
 * the test. Returns its pid. */
static inline pid_t it_spawn_worker_env(const char *build_dir, const char *test,
                                        const char *name,
                                        const char *const *env)
{
    char bin[1024], log[1024];
    snprintf(bin, sizeof(bin), "%s/workers/%s/revisit-%s", build_dir, name,
             name);
    snprintf(log, sizeof(log), "%s/%s_%s.log", build_dir, test, name);
    pid_t pid = it_fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        for (size_t i = 0; env != NULL && env[i] != NULL; i += 2) {
            setenv(env[i], env[i + 1], 1);
        }
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    return pid;
}

#endif /* RV_IT_COMMON_H */
