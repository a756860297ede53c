/* workers/revisitctl/audit_fmt.c: Markdown pieces of the audit report
 * (audit_fmt.h). */
#include "audit_fmt.h"

#include <string.h>

void audit_md_cell(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|' || *s == '\\') {
            fputc('\\', out);
            fputc(*s, out);
        } else if (*s == '\r' || *s == '\n') {
            fputc(' ', out);
        } else {
            fputc(*s, out);
        }
    }
}

void audit_md_fence(const char *text, char *out, size_t size)
{
    size_t longest = 0, run = 0;
    for (const char *c = text; *c != '\0'; c++) {
        run = *c == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    size_t n = longest + 1 < 3 ? 3 : longest + 1;
    if (size == 0) {
        return;
    }
    n = n < size - 1 ? n : size - 1;
    memset(out, '`', n);
    out[n] = '\0';
}

/* The hops in chain order, with their names. */
#define HOPS(l)                                                                \
    {                                                                          \
        {"grade", &(l)->grade}, {"outcome", &(l)->outcome},                    \
            {"assignment", &(l)->assignment}, {"task", &(l)->task},            \
            {"business event", &(l)->source},                                  \
    }

typedef struct named_hop {
    const char *name;
    const audit_hop *hop;
} named_hop;

bool audit_lineage_complete(const audit_lineage *l)
{
    const named_hop hops[] = HOPS(l);
    for (size_t i = 0; i < sizeof(hops) / sizeof(hops[0]); i++) {
        if (hops[i].hop->state != AUDIT_HOP_FOUND &&
            hops[i].hop->state != AUDIT_HOP_NONE) {
            return false;
        }
    }
    return true;
}

static void code(FILE *out, const char *id)
{
    fputc('`', out);
    audit_md_cell(out, id);
    fputc('`', out);
}

static void hop_cell(FILE *out, const audit_hop *h, const char *prefix)
{
    fputs(" ", out);
    switch (h->state) {
    case AUDIT_HOP_FOUND:
        if (prefix[0] != '\0') {
            audit_md_cell(out, prefix);
            fputc(' ', out);
        }
        code(out, h->id);
        fputs(h->caused ? " (c) |" : " |", out);
        return;
    case AUDIT_HOP_MISSING:
        if (h->id[0] != '\0') {
            code(out, h->id);
            fputc(' ', out);
        }
        fputs("missing |", out);
        return;
    case AUDIT_HOP_NONE:
        break;
    }
    fputs("— |", out);
}

void audit_lineage_row(FILE *out, const audit_lineage *l)
{
    fputs("| ", out);
    code(out, l->alert_id);
    if (l->escalates[0] != '\0') {
        fputs(" escalates ", out);
        code(out, l->escalates);
    }
    fputs(" | ", out);
    audit_md_cell(out, l->kind);
    fputs(" |", out);
    const named_hop hops[] = HOPS(l);
    size_t n = sizeof(hops) / sizeof(hops[0]);
    const char *broken = NULL;
    static const audit_hop none = {AUDIT_HOP_NONE, "", false};
    for (size_t i = 0; i < n; i++) {
        /* Past the break the record names nothing more. */
        const audit_hop *h = broken != NULL ? &none : hops[i].hop;
        hop_cell(out, h, i + 1 == n ? l->source_kind : "");
        if (broken == NULL && h->state == AUDIT_HOP_MISSING) {
            broken = hops[i].name;
        }
    }
    if (broken == NULL) {
        fputs(" complete |\n", out);
    } else {
        fprintf(out, " broken: %s missing |\n", broken);
    }
}
