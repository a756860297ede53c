/* workers/revisitctl/replay_diff.c: row-by-row comparison of a replay
 * with the record (replay_diff.h). */
#include "replay_diff.h"

#include <stdlib.h>
#include <string.h>

rv_err replay_rows_add(replay_rows *l, const char *id, const char *fp)
{
    if (l->count == l->cap) {
        size_t cap = l->cap == 0 ? 256 : l->cap * 2;
        replay_row *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            return RV_ERR_NOMEM;
        }
        l->items = items;
        l->cap = cap;
    }
    char *i = strdup(id), *f = strdup(fp);
    if (i == NULL || f == NULL) {
        free(i);
        free(f);
        return RV_ERR_NOMEM;
    }
    l->items[l->count] = (replay_row){i, f, l->count};
    l->count++;
    return RV_OK;
}

void replay_rows_fini(replay_rows *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].id);
        free(l->items[i].fp);
    }
    free(l->items);
    *l = (replay_rows){0};
}

static int row_cmp(const void *a, const void *b)
{
    const replay_row *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    /* Equal IDs in the order they were added: the first added wins.
     * qsort is not stable, and the elements' addresses change as it
     * sorts, so they cannot stand for that order. */
    return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void sort_rows(replay_rows *l)
{
    if (l->count > 1) {
        qsort(l->items, l->count, sizeof(*l->items), row_cmp);
    }
}

/* Index of the next row after @p i with another ID. */
static size_t next_id(const replay_rows *l, size_t i)
{
    size_t j = i + 1;
    while (j < l->count && strcmp(l->items[j].id, l->items[i].id) == 0) {
        j++;
    }
    return j;
}

replay_counts replay_diff(replay_rows *replayed, replay_rows *recorded,
                          const char *what, FILE *out)
{
    sort_rows(replayed);
    sort_rows(recorded);
    replay_counts c = {0};
    /* Two passes: counts first (the header line), then the lines. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && out != NULL) {
            fprintf(out,
                    "%s: matched=%zu missing=%zu extra=%zu differing=%zu\n",
                    what, c.matched, c.missing, c.extra, c.differing);
        }
        if (pass == 1 && out == NULL) {
            break;
        }
        size_t i = 0, j = 0;
        while (i < replayed->count || j < recorded->count) {
            const replay_row *a =
                i < replayed->count ? &replayed->items[i] : NULL;
            const replay_row *b =
                j < recorded->count ? &recorded->items[j] : NULL;
            int cmp = a == NULL ? 1 : b == NULL ? -1 : strcmp(a->id, b->id);
            FILE *w = pass == 1 ? out : NULL;
            if (cmp < 0) {
                c.missing += pass == 0;
                if (w != NULL) {
                    fprintf(w, "  missing %s %s\n", a->id, a->fp);
                }
                i = next_id(replayed, i);
            } else if (cmp > 0) {
                c.extra += pass == 0;
                if (w != NULL) {
                    fprintf(w, "  extra %s %s\n", b->id, b->fp);
                }
                j = next_id(recorded, j);
            } else {
                bool same = strcmp(a->fp, b->fp) == 0;
                c.matched += pass == 0 && same;
                c.differing += pass == 0 && !same;
                if (w != NULL && !same) {
                    fprintf(w, "  differing %s replay=%s record=%s\n", a->id,
                            a->fp, b->fp);
                }
                i = next_id(replayed, i);
                j = next_id(recorded, j);
            }
        }
    }
    return c;
}
