/* common/policy_where.h: where in a policy file a field is (private to
 * common/policy.c), so an error names the line as well as the field. */
#ifndef RV_POLICY_WHERE_H
#define RV_POLICY_WHERE_H

/**
 * The line (1-based) of field @p field_path in YAML file @p file, 0 if it
 * cannot be found or the file cannot be read. The path is segments
 * separated by '.', each a mapping key with optional selectors in
 * brackets: a number is a sequence index, anything else the element
 * whose "id" is that text, e.g. "rules[R1].tiers[1].rate". As far as the
 * path resolves, the deepest found node's line counts.
 */
int policy_line_of(const char *file, const char *field_path);

#endif /* RV_POLICY_WHERE_H */
