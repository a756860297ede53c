/* workers/revisitctl/ctl_args.h: what every subcommand's argument loop
 * shares: an option's value and a number in a range, each refused with
 * one sentence that names the option and the value. I/O-free: the caller
 * prints the sentence ("<command>: <sentence>") and exits 64. */
#ifndef RV_CTL_ARGS_H
#define RV_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"

/** Exit status of a command line revisitctl refuses (sysexits
 *  EX_USAGE). */
#define CTL_EX_USAGE 64

/** Whether @p arg (NUL-terminated, borrowed) asks for a command's usage:
 *  "--help" or "-h". */
bool ctl_arg_is_help(const char *arg);

/**
 * The value of the option at argv[*@p i]: the argument after it, whatever
 * it looks like (`--text --help` is a text).
 * @param i      index of the option in @p argv (@p argc entries); on
 *               RV_OK moved onto the value; untouched on error
 * @param value  on RV_OK argv[*i + 1], borrowed from @p argv; untouched
 *               on error
 * @returns RV_OK, RV_ERR_INVALID (the option is the last argument;
 *          @p errstr: "\"--now\" needs a value")
 */
RV_MUSTCHECK rv_err ctl_arg_value(int argc, char **argv, int *i,
                                  const char **value, char *errstr,
                                  size_t errstr_size);

/**
 * @p s as a decimal number in @p min..@p max: digits only, no sign, no
 * space, no base prefix ("-1", "+1", " 1", "1e3" and a number past
 * UINT64_MAX are refused, not wrapped or read in part).
 * @param s    NUL-terminated, borrowed; NULL is invalid
 * @param out  on RV_OK the number; untouched on error
 * @returns RV_OK, RV_ERR_INVALID
 */
RV_MUSTCHECK rv_err ctl_parse_u64(const char *s, uint64_t min, uint64_t max,
                                  uint64_t *out);

/**
 * ctl_arg_value, then its value as ctl_parse_u64 in @p min..@p max.
 * @param i    as ctl_arg_value; moved onto the value only on RV_OK
 * @param out  on RV_OK the number; untouched on error
 * @returns RV_OK, RV_ERR_INVALID (no value: as ctl_arg_value; a bad one:
 *          @p errstr "--limit \"-1\" is not a whole number in
 *          1..1000000")
 */
RV_MUSTCHECK rv_err ctl_arg_u64(int argc, char **argv, int *i, uint64_t min,
                                uint64_t max, uint64_t *out, char *errstr,
                                size_t errstr_size);

#endif /* RV_CTL_ARGS_H */
