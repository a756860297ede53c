/* workers/revisitctl/main.c: the operator's command line. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: revisitctl COMMAND [ARGS]\n"
        "  import --csv PATH [--sha256 HEX] [--limit N] "
        "[--no-work-orders]\n"
        "        Superstore orders -> sales.events (one SaleEvent per "
        "order)\n"
        "  report [--summary] [--dsn DSN]\n"
        "        per branch and month, from PostgreSQL\n"
        "  report --agents [--month YYYY-MM] [--dsn DSN]\n"
        "        per agent and day: booked against capacity (policy)\n"
        "  report --alerts | --rules | --bands [--dsn DSN]\n"
        "        alerts per branch and kind; sampling decisions per "
        "rule;\n"
        "        agents' monthly satisfaction bands (G5)\n"
        "  report --cases [--now T] [--branch B] [--dsn DSN]\n"
        "        per case kind: open, answered, closed, overdue, "
        "escalated\n"
        "  case list [--status S] [--branch B] [--kind K] [--limit N] "
        "[--now T]\n"
        "        cases from PostgreSQL, repeated issues first (A3)\n"
        "  case show CASE_ID [--now T]\n"
        "        one case, its alerts and its events\n"
        "  case answer CASE_ID --by ACTOR --text TEXT [--at T]\n"
        "  case close CASE_ID --by ACTOR --opinion TEXT [--at T]\n"
        "        a self-check / answer, a final opinion -> "
        "compliance.cases\n"
        "        (revisitctl case --help: every option)\n"
        "  rebuild-state [--dsn DSN] [--redis-url URL] [--policy PATH]\n"
        "        restore the assigner's Redis state from PostgreSQL\n"
        "  sample-population --year Y [--policy PATH] [--rule R2] "
        "[--dsn DSN]\n"
        "                    [--redis-url URL] [--dry-run]\n"
        "        R2: a visit to a sample of last year's customers "
        "(--help)\n"
        "  wait-drained [--timeout-s N] [--once]\n"
        "        wait until no consumer group has lag (--once: print "
        "the lag now)\n"
        "  replay verify --from T --to T [--policy PATH]\n"
        "        recompute decisions, tasks, grades, alerts of the range\n"
        "        with the workers' code; compare with PostgreSQL (issue 7)\n"
        "  replay export --topic T --from T --to T --format ndjson|csv "
        "[--reveal]\n"
        "        one topic's messages of the range, PII masked (--help)\n"
        "  replay report --from T --to T [--verify FILE]\n"
        "        Markdown audit: counts, verify result, alert lineage\n"
        "  reveal-phone --task TASK_ID [--dsn DSN]\n"
        "        a task's phone number, for members of revisit_reveal "
        "(--help)\n"
        "  generate --count N [--seed S] [--rate PER_S | --credit-stdin] "
        "[--start DATE]\n"
        "        synthetic sales -> sales.events (generate --help)\n"
        "  bench-kafka | bench-pg | bench-retention\n"
        "        the machine's limits: one plain consumer; multi-row "
        "INSERT;\n"
        "        whether the broker dropped messages\n"
        "Kafka, Redis and PostgreSQL come from RV_KAFKA_BOOTSTRAP_SERVERS "
        "(and any RV_KAFKA_*), RV_REDIS_URL, RV_PG_DSN.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 64 : 0;
    }
    if (strcmp(argv[1], "import") == 0) {
        return rv_ctl_import(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "report") == 0) {
        return rv_ctl_report(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "case") == 0) {
        return rv_ctl_case(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "rebuild-state") == 0) {
        return rv_ctl_rebuild_state(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "sample-population") == 0) {
        return rv_ctl_sample_population(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "wait-drained") == 0) {
        return rv_ctl_wait_drained(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "replay") == 0) {
        return rv_ctl_replay(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "reveal-phone") == 0) {
        return rv_ctl_reveal_phone(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "generate") == 0) {
        return rv_ctl_generate(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "bench-kafka") == 0) {
        return rv_ctl_bench_kafka(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "bench-pg") == 0) {
        return rv_ctl_bench_pg(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "bench-retention") == 0) {
        return rv_ctl_bench_retention(argc - 1, argv + 1);
    }
    fprintf(stderr, "revisitctl: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 64;
}
