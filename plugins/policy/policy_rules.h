/* The allow/reject permission policy of end-user tokens: validation and
 * evaluation as pure functions over jansson values, so tests call them without a host.
 */
#ifndef POLICY_RULES_H
#define POLICY_RULES_H

#include <jansson.h>
#include <nettu/plugin.h>

/* 1 when `s` is one of the permission strings (README, End-user tokens; "*" included), else 0. */
int policy_perm_known(const char *s);

/* NT_OK when `policy` is well formed: NULL or JSON null (the default policy), or an object
 * whose "allow" and "reject" are each absent, null, or an array of known permission strings.
 * NT_EINVAL otherwise. policy is borrowed. Thread-safe. */
int policy_rules_validate(const json_t *policy);

/* NT_OK when `policy` grants every permission of the NULL-terminated `required` (NULL = none)
 * (allowed, not rejected; README), NT_EUNAUTH when it does not. An empty `required` is granted
 * whatever the policy; a malformed policy grants nothing else. Borrowed; thread-safe. */
int policy_rules_check(const json_t *policy, const char *const *required);

#endif /* POLICY_RULES_H */
