/* JWK Set parsing, loading from a file, reference counting and key selection. */
#include "jwks_set.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <nettu/plugin.h>

struct jwks_set {
    atomic_size_t refs;
    size_t nkeys, nskipped;
    size_t skip_index;    /* the index of the first skipped key */
    const char *skip_why; /* and why it was skipped; NULL when none */
    jwks_key keys[];      /* nkeys */
};

jwks_set *
jwks_set_ref(jwks_set *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void
jwks_set_unref(jwks_set *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->nkeys; i++)
        jwks_key_fini(&s->keys[i]);
    free(s);
}

size_t
jwks_set_count(const jwks_set *s)
{
    return s->nkeys;
}

size_t
jwks_set_skipped(const jwks_set *s, char *note, size_t notelen)
{
    if (notelen > 0)
        note[0] = '\0';
    if (s->skip_why != NULL)
        snprintf(note, notelen, "keys[%zu]: %s", s->skip_index, s->skip_why);
    return s->nskipped;
}

/* NT_EINVAL when a key before keys[n] has the kid of keys[n], with the message in err. */
static int
set_kid_unique(const jwks_set *s, size_t n, size_t index, char *err, size_t errlen)
{
    const char *kid = s->keys[n].kid;

    for (size_t i = 0; kid != NULL && i < n; i++) {
        if (s->keys[i].kid != NULL && strcmp(s->keys[i].kid, kid) == 0) {
            snprintf(err, errlen, "keys[%zu]: kid: used by another key already", index);
            return NT_EINVAL;
        }
    }
    return NT_OK;
}

/* Writes "keys[index]: why (kid "...")" into err; the kid (at most 64 bytes of it, printed
 * only when it is a string of visible ASCII) lets the operator find the key in the file. */
static void
set_key_error(const json_t *jwk, size_t index, const char *why, char *err, size_t errlen)
{
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    int shown = kid != NULL && kid[0] != '\0';

    for (const char *c = kid; shown && *c != '\0'; c++)
        shown = *c > 0x20 && *c < 0x7f && *c != '"';
    if (shown)
        snprintf(err, errlen, "keys[%zu]: %s (kid \"%.64s\")", index, why, kid);
    else
        snprintf(err, errlen, "keys[%zu]: %s", index, why);
}

/* Reads every JWK of the array `keys` into s (sized for all of them). */
static int
set_read_keys(jwks_set *s, const json_t *keys, char *err, size_t errlen)
{
    const char *why = NULL;
    const json_t *jwk;
    size_t i;
    int rc;

    json_array_foreach(keys, i, jwk)
    {
        rc = jwks_key_parse(jwk, &s->keys[s->nkeys], &why);
        if (rc == NT_ENOTFOUND) {
            if (s->nskipped++ == 0) {
                s->skip_index = i;
                s->skip_why = why;
            }
            continue;
        }
        if (rc != NT_OK) {
            set_key_error(jwk, i, why, err, errlen);
            return rc;
        }
        s->nkeys++;
        rc = set_kid_unique(s, s->nkeys - 1, i, err, errlen);
        if (rc != NT_OK)
            return rc;
    }
    if (s->nkeys == 0) {
        char note[160];
        jwks_set_skipped(s, note, sizeof(note));
        snprintf(err, errlen, "keys: no usable key (RSA for RS256 or EC P-256 for ES256)%s%s",
                 note[0] != '\0' ? "; skipped " : "", note);
        return NT_EINVAL;
    }
    return NT_OK;
}

int
jwks_set_parse(const char *text, size_t len, jwks_set **out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = NULL;
    const json_t *keys;
    jwks_set *s = NULL;
    int rc = NT_EINVAL;

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        snprintf(err, errlen, "not JSON: line %d: %s", jerr.line, jerr.text);
        goto out;
    }
    keys = json_object_get(doc, "keys");
    if (!json_is_object(doc) || !json_is_array(keys)) {
        snprintf(err, errlen, "keys: required, an array of JWKs in a JSON object");
        goto out;
    }
    rc = NT_ENOMEM;
    s = calloc(1, sizeof(*s) + json_array_size(keys) * sizeof(s->keys[0]));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    atomic_init(&s->refs, 1);
    rc = set_read_keys(s, keys, err, errlen);
    if (rc != NT_OK)
        goto out;
    *out = s;
    s = NULL;
out:
    jwks_set_unref(s);
    json_decref(doc);
    return rc;
}

int
jwks_set_load(const char *path, jwks_set **out, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = NT_EINVAL;

    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        goto out;
    }
    text = malloc(JWKS_FILE_MAX + 1);
    if (text == NULL) {
        rc = NT_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    len = fread(text, 1, JWKS_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read: %s", strerror(errno));
        goto out;
    }
    if (len > JWKS_FILE_MAX) {
        snprintf(err, errlen, "larger than %zu bytes", JWKS_FILE_MAX);
        goto out;
    }
    rc = jwks_set_parse(text, len, out, err, errlen);
out:
    free(text);
    if (f != NULL)
        fclose(f);
    return rc;
}

int
jwks_set_select(const jwks_set *s, jwks_kty kty, const char *kid, EVP_PKEY **key, const char **why)
{
    const jwks_key *found = NULL;
    size_t n = 0;

    *key = NULL;
    for (size_t i = 0; i < s->nkeys; i++) {
        const jwks_key *k = &s->keys[i];
        if (kid != NULL && k->kid != NULL && strcmp(k->kid, kid) == 0) {
            if (k->kty != kty) {
                *why = "token alg: does not match the type of the key named by kid";
                return NT_EUNAUTH;
            }
            *key = k->key;
            return NT_OK;
        }
        if (kid == NULL && k->kty == kty) {
            found = k;
            n++;
        }
    }
    if (kid != NULL) {
        *why = "token kid: no key with this id in the key set";
        return NT_EUNAUTH;
    }
    if (n != 1) {
        *why = n == 0 ? "token alg: the key set has no key for this algorithm"
                      : "token kid: required, the key set has several keys for this algorithm";
        return NT_EUNAUTH;
    }
    *key = found->key;
    return NT_OK;
}
