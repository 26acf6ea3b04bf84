/* Unit tests of the account plugin's pure parts: secret-key generation (alphabet, length,
 * rejection sampling), SHA-256 hashing, the RSA public-key PEM check (form and strength:
 * 2048 to 8192 bits, e = 65537, a sound modulus) and the webhook URL check.
 */
#include "account.h"
#include "ntc_rsakey.h"
#include "weak_rsa.h"

#include <check.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* ---- fake random sources ---------------------------------------------------------------- */

static unsigned fake_next; /* the next byte fake_counting writes */
static int fake_calls;     /* calls made to a fake source */

/* Writes 0, 1, 2, ... 255, 0, ... across calls. */
static int
fake_counting(void *buf, size_t n)
{
    unsigned char *b = buf;

    fake_calls++;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(fake_next++ & 0xff);
    return NT_OK;
}

/* First call: only bytes that must be rejected (248..255); later calls: 61 ('9'). */
static int
fake_rejects_first(void *buf, size_t n)
{
    unsigned char *b = buf;

    for (size_t i = 0; i < n; i++)
        b[i] = fake_calls == 0 ? (unsigned char)(248 + i % 8) : 61;
    fake_calls++;
    return NT_OK;
}

static int
fake_failing(void *buf, size_t n)
{
    (void)buf;
    (void)n;
    return NT_ERR;
}

/* The real thing, for the statistical tests. */
static int
real_random(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? NT_OK : NT_ERR;
}

/* ---- keys ------------------------------------------------------------------------------- */

START_TEST(key_format)
{
    char key[ACCT_KEY_BUF];

    for (int round = 0; round < 200; round++) {
        memset(key, 'x', sizeof(key));
        ck_assert_int_eq(acct_key_new(real_random, key), NT_OK);
        ck_assert_uint_eq(strlen(key), 33);
        ck_assert_int_eq(strncmp(key, "sk_", 3), 0);
        ck_assert_uint_eq(strspn(key + 3, alphabet), 30);
    }
}
END_TEST

START_TEST(key_alphabet_mapping)
{
    char out[249];

    /* Bytes 0..247 map to alphabet[b % 62] in order; 248..255 are skipped. */
    fake_next = 0;
    fake_calls = 0;
    ck_assert_int_eq(acct_random_alnum(fake_counting, out, 248), NT_OK);
    for (int i = 0; i < 248; i++)
        ck_assert_int_eq(out[i], alphabet[i % 62]);
    ck_assert_int_eq(out[248], '\0');

    /* The next byte drawn after 247 must not be 248..255 (rejected) but 0 of the next lap. */
    fake_next = 247;
    ck_assert_int_eq(acct_random_alnum(fake_counting, out, 2), NT_OK);
    ck_assert_int_eq(out[0], alphabet[247 % 62]);
    ck_assert_int_eq(out[1], alphabet[0]);
}
END_TEST

START_TEST(key_rejection_sampling)
{
    char out[31];

    fake_calls = 0;
    ck_assert_int_eq(acct_random_alnum(fake_rejects_first, out, 30), NT_OK);
    ck_assert_int_ge(fake_calls, 2);
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(out[i], '9');
}
END_TEST

START_TEST(key_random_error)
{
    char key[ACCT_KEY_BUF];

    ck_assert_int_eq(acct_key_new(fake_failing, key), NT_ERR);
}
END_TEST

START_TEST(key_uses_whole_alphabet)
{
    int seen[256] = {0};
    char out[6201];

    ck_assert_int_eq(acct_random_alnum(real_random, out, 6200), NT_OK);
    for (int i = 0; i < 6200; i++)
        seen[(unsigned char)out[i]]++;
    /* Each symbol is expected 100 times; far below 40 or above 200 means bias or a bug. */
    for (int i = 0; i < 62; i++) {
        ck_assert_int_gt(seen[(unsigned char)alphabet[i]], 40);
        ck_assert_int_lt(seen[(unsigned char)alphabet[i]], 200);
    }
}
END_TEST

START_TEST(hash_known_values)
{
    char h[ACCT_HASH_BUF], h2[ACCT_HASH_BUF];

    ck_assert_int_eq(acct_hash_hex("abc", h), NT_OK);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(acct_hash_hex("", h), NT_OK);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_int_eq(acct_hash_hex(NULL, h), NT_ERR);

    ck_assert_int_eq(acct_hash_hex("sk_a", h), NT_OK);
    ck_assert_int_eq(acct_hash_hex("sk_a", h2), NT_OK);
    ck_assert_int_eq(acct_hash_equal(h, h2), 1);
    ck_assert_int_eq(acct_hash_hex("sk_b", h2), NT_OK);
    ck_assert_int_eq(acct_hash_equal(h, h2), 0);
    ck_assert_int_eq(acct_hash_equal(h, NULL), 0);
    ck_assert_int_eq(acct_hash_equal(NULL, h), 0);
    ck_assert_int_eq(acct_hash_equal("abc", "abc"), 0);
}
END_TEST

START_TEST(visible_ascii)
{
    ck_assert_int_eq(acct_visible_ascii("sk_ABC123!~"), 1);
    ck_assert_int_eq(acct_visible_ascii(""), 0);
    ck_assert_int_eq(acct_visible_ascii(NULL), 0);
    ck_assert_int_eq(acct_visible_ascii("a b"), 0);
    ck_assert_int_eq(acct_visible_ascii("a\tb"), 0);
    ck_assert_int_eq(acct_visible_ascii("a\x7f"), 0);
    ck_assert_int_eq(acct_visible_ascii("caf\xc3\xa9"), 0);
}
END_TEST

/* ---- PEM -------------------------------------------------------------------------------- */

static EVP_PKEY *rsa_key, *ec_key, *ed_key, *pss_key;

/* Generates the test keys once for the PEM test case. */
static void
pem_setup(void)
{
    EVP_PKEY_CTX *ctx = NULL;

    rsa_key = EVP_RSA_gen(2048);
    (void)weak_rsa_cases(&(size_t){0}); /* made once, before the tests fork */
    ec_key = EVP_EC_gen("P-256");
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_keygen(ctx, &ed_key), 1);
    EVP_PKEY_CTX_free(ctx);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_keygen(ctx, &pss_key), 1);
    EVP_PKEY_CTX_free(ctx);
    ck_assert_ptr_nonnull(rsa_key);
    ck_assert_ptr_nonnull(ec_key);
}

static void
pem_teardown(void)
{
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(ed_key);
    EVP_PKEY_free(pss_key);
}

/* Returns the malloc'd contents of a memory BIO, then frees the BIO. */
static char *
bio_text(BIO *bio)
{
    char *data = NULL, *copy;
    long n = BIO_get_mem_data(bio, &data);

    copy = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    BIO_free(bio);
    return copy;
}

/* The SubjectPublicKeyInfo PEM ("PUBLIC KEY") of k; malloc'd. */
static char *
pem_spki(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());

    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, k), 1);
    return bio_text(bio);
}

/* A PEM block called `name` around the DER (malloc'd text). */
static char *
pem_block(const char *name, const unsigned char *der, long len)
{
    BIO *bio = BIO_new(BIO_s_mem());

    ck_assert_int_gt(PEM_write_bio(bio, name, "", der, len), 0);
    return bio_text(bio);
}

/* The PKCS#1 RSAPublicKey PEM ("RSA PUBLIC KEY") of k; malloc'd. */
static char *
pem_pkcs1(EVP_PKEY *k, const char *name)
{
    unsigned char *der = NULL;
    int len = i2d_PublicKey(k, &der);
    char *text;

    ck_assert_int_gt(len, 0);
    text = pem_block(name, der, len);
    OPENSSL_free(der);
    return text;
}

/* The SPKI DER of k wrapped in a PEM block called `name`; malloc'd. */
static char *
pem_spki_named(EVP_PKEY *k, const char *name)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(k, &der);
    char *text;

    ck_assert_int_gt(len, 0);
    text = pem_block(name, der, len);
    OPENSSL_free(der);
    return text;
}

static const char *last_why; /* the message of the last check() */

static int
check(const char *pem)
{
    last_why = NULL;
    return acct_pem_rsa_public(pem, strlen(pem), &last_why);
}

START_TEST(pem_accepts_rsa_public)
{
    char *spki = pem_spki(rsa_key), *pkcs1 = pem_pkcs1(rsa_key, "RSA PUBLIC KEY");
    char buf[4096];

    ck_assert_int_eq(check(spki), NT_OK);
    ck_assert_int_eq(check(pkcs1), NT_OK);
    ck_assert_ptr_nonnull(strstr(pkcs1, "-----BEGIN RSA PUBLIC KEY-----"));

    /* White space around the block is fine; so are CRLF line ends. */
    snprintf(buf, sizeof(buf), "\n  %s\n\n", spki);
    ck_assert_int_eq(check(buf), NT_OK);
    {
        char *w = buf;
        for (const char *r = spki; *r != '\0'; r++) {
            if (*r == '\n')
                *w++ = '\r';
            *w++ = *r;
        }
        *w = '\0';
        ck_assert_int_eq(check(buf), NT_OK);
    }
    /* Without the final newline. */
    snprintf(buf, sizeof(buf), "%s", spki);
    buf[strlen(buf) - 1] = '\0';
    ck_assert_int_eq(check(buf), NT_OK);
    free(spki);
    free(pkcs1);
}
END_TEST

START_TEST(pem_refuses_other_keys)
{
    char *ec = pem_spki(ec_key), *ed = pem_spki(ed_key), *pss = pem_spki(pss_key);
    char *priv, *priv_trad, *ec_priv;
    BIO *bio;

    bio = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, rsa_key, NULL, NULL, 0, NULL, NULL), 1);
    priv = bio_text(bio);
    bio = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PrivateKey_traditional(bio, rsa_key, NULL, NULL, 0, NULL, NULL),
                     1);
    priv_trad = bio_text(bio);
    bio = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, ec_key, NULL, NULL, 0, NULL, NULL), 1);
    ec_priv = bio_text(bio);

    ck_assert_int_eq(check(ec), NT_EINVAL);
    ck_assert_int_eq(check(ed), NT_EINVAL);
    ck_assert_int_eq(check(pss), NT_EINVAL);
    ck_assert_int_eq(check(priv), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(priv_trad, "RSA PRIVATE KEY"));
    ck_assert_int_eq(check(priv_trad), NT_EINVAL);
    ck_assert_int_eq(check(ec_priv), NT_EINVAL);
    free(ec);
    free(ed);
    free(pss);
    free(priv);
    free(priv_trad);
    free(ec_priv);
}
END_TEST

START_TEST(pem_refuses_junk)
{
    char *spki = pem_spki(rsa_key), *pkcs1 = pem_pkcs1(rsa_key, "RSA PUBLIC KEY");
    char *wrong1 = pem_pkcs1(rsa_key, "PUBLIC KEY");          /* PKCS#1 DER, SPKI label */
    char *wrong2 = pem_spki_named(rsa_key, "RSA PUBLIC KEY"); /* SPKI DER, PKCS#1 label */
    char *cert = pem_spki_named(rsa_key, "CERTIFICATE");
    char buf[8192];
    size_t n;

    ck_assert_int_eq(acct_pem_rsa_public("", 0, &last_why), NT_EINVAL);
    ck_assert_str_eq(last_why, ACCT_PEM_FORM);
    ck_assert_int_eq(acct_pem_rsa_public(NULL, 0, &last_why), NT_EINVAL);
    ck_assert_int_eq(check("hello"), NT_EINVAL);
    ck_assert_int_eq(check("   \n"), NT_EINVAL);
    ck_assert_int_eq(check("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
                     NT_EINVAL);
    ck_assert_int_eq(check("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"), NT_EINVAL);
    ck_assert_int_eq(check("-----BEGIN PUBLIC KEY-----\nnot base64 at all!\n"
                           "-----END PUBLIC KEY-----\n"),
                     NT_EINVAL);
    ck_assert_int_eq(check(wrong1), NT_EINVAL);
    ck_assert_int_eq(check(wrong2), NT_EINVAL);
    ck_assert_int_eq(check(cert), NT_EINVAL);

    /* Text before the block, or a second block after it. */
    snprintf(buf, sizeof(buf), "my key:\n%s", spki);
    ck_assert_int_eq(check(buf), NT_EINVAL);
    snprintf(buf, sizeof(buf), "%s%s", spki, pkcs1);
    ck_assert_int_eq(check(buf), NT_EINVAL);
    snprintf(buf, sizeof(buf), "%strailing words\n", spki);
    ck_assert_int_eq(check(buf), NT_EINVAL);

    /* The block truncated, or with a mismatched end line. */
    snprintf(buf, sizeof(buf), "%s", spki);
    buf[strlen(buf) / 2] = '\0';
    ck_assert_int_eq(check(buf), NT_EINVAL);
    snprintf(buf, sizeof(buf), "%s", spki);
    memcpy(strstr(buf, "-----END PUBLIC KEY"), "-----END PUBLIC KEX", 19);
    ck_assert_int_eq(check(buf), NT_EINVAL);

    /* A NUL inside the string (JSON "\u0000"). */
    n = (size_t)snprintf(buf, sizeof(buf), "%s", spki);
    buf[n] = '\0';
    buf[n + 1] = 'x';
    ck_assert_int_eq(acct_pem_rsa_public(buf, n + 2, &last_why), NT_EINVAL);

    /* An encryption header on the block. */
    snprintf(buf, sizeof(buf), "%s", spki);
    {
        char *body = strchr(buf, '\n') + 1;
        char tail[8192];
        snprintf(tail, sizeof(tail), "%s", body);
        snprintf(body, sizeof(buf) - (size_t)(body - buf),
                 "Proc-Type: 4,ENCRYPTED\n"
                 "DEK-Info: AES-128-CBC,"
                 "00000000000000000000000000000000\n\n%s",
                 tail);
    }
    ck_assert_int_eq(check(buf), NT_EINVAL);
    free(spki);
    free(pkcs1);
    free(wrong1);
    free(wrong2);
    free(cert);
}
END_TEST

/* Weak RSA keys in a well-formed PEM block: refused, with the rule broken as the message. */
START_TEST(pem_refuses_weak_keys)
{
    size_t count = 0;
    const weak_rsa *w = weak_rsa_cases(&count);
    char *pem = weak_rsa_pem(w[_i].n, w[_i].e);

    ck_assert_uint_gt(count, (size_t)_i);
    ck_assert_msg(check(pem) == NT_EINVAL, "%s accepted", w[_i].name);
    ck_assert_ptr_nonnull(last_why);
    ck_assert_msg(strstr(last_why, w[_i].why) != NULL, "%s: message '%s' lacks '%s'", w[_i].name,
                  last_why, w[_i].why);
    free(pem);
}
END_TEST

/* The bounds: 2048 bits (a real key) and 8192 bits are accepted with e = 65537. */
START_TEST(pem_accepts_key_size_bounds)
{
    const BIGNUM *e = NULL, *n = weak_rsa_strong_8192(&e);
    char *pem = weak_rsa_pem(n, e), *spki = pem_spki(rsa_key);

    ck_assert_int_eq(EVP_PKEY_get_bits(rsa_key), 2048);
    ck_assert_int_eq(check(spki), NT_OK);
    ck_assert_ptr_null(last_why);
    ck_assert_int_eq(check(pem), NT_OK);
    free(pem);
    free(spki);
}
END_TEST

START_TEST(pem_unescape)
{
    char *s = acct_pem_unescape("-----BEGIN\\nA\\nB\\\\x\\");

    ck_assert_str_eq(s, "-----BEGIN\nA\nB\\\\x\\");
    free(s);
    s = acct_pem_unescape("");
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(pem_unescaped_key_accepted)
{
    char *spki = pem_spki(rsa_key), *escaped = malloc(strlen(spki) * 2 + 1), *w = escaped, *back;

    for (const char *r = spki; *r != '\0'; r++) {
        if (*r == '\n') {
            *w++ = '\\';
            *w++ = 'n';
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    ck_assert_int_eq(check(escaped), NT_EINVAL);
    back = acct_pem_unescape(escaped);
    ck_assert_str_eq(back, spki);
    ck_assert_int_eq(check(back), NT_OK);
    free(spki);
    free(escaped);
    free(back);
}
END_TEST

/* ---- webhook URLs ----------------------------------------------------------------------- */

START_TEST(url_valid)
{
    static const char *const good[] = {
        "http://example.com",
        "https://example.com/hook",
        "HTTPS://Example.COM:8443/a/b?c=d#e",
        "http://127.0.0.1:5000/webhook",
        "http://localhost",
        "http://[::1]:8080/",
        "http://[2001:db8::1]",
        "https://host:/path",
        "http://host?query",
        "http://host#frag",
        "https://my-host_1.example.org/%20x",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(acct_url_valid(good[i]), "refused %s", good[i]);
}
END_TEST

START_TEST(url_invalid)
{
    static const char *const bad[] = {
        "",
        "example.com",
        "/relative/path",
        "ftp://example.com",
        "mailto:a@b.c",
        "http:/example.com",
        "http:example.com",
        "http://",
        "https:///path",
        "http://:80/",
        "http://user@/x",
        "http://user:pass@host.example/x", /* no userinfo: the key goes in a header */
        "http://user@host.example/x",
        "http://host:99999/",
        "http://host:80x/",
        "http://ho st/",
        "http://host/pa th",
        " http://host/",
        "http://host/\n",
        "http://[::1/",
        "http://[]/",
        "http://[::1]x/",
        "http://h\xc3\xa9.example/",
        "javascript://alert(1)",
        "http://a<b/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!acct_url_valid(bad[i]), "accepted %s", bad[i]);
    ck_assert_int_eq(acct_url_valid(NULL), 0);
}
END_TEST

static Suite *
account_keys_suite(void)
{
    Suite *s = suite_create("account_keys");
    TCase *keys = tcase_create("keys");
    TCase *pem = tcase_create("pem");
    TCase *url = tcase_create("url");

    tcase_add_test(keys, key_format);
    tcase_add_test(keys, key_alphabet_mapping);
    tcase_add_test(keys, key_rejection_sampling);
    tcase_add_test(keys, key_random_error);
    tcase_add_test(keys, key_uses_whole_alphabet);
    tcase_add_test(keys, hash_known_values);
    tcase_add_test(keys, visible_ascii);
    suite_add_tcase(s, keys);

    tcase_add_unchecked_fixture(pem, pem_setup, pem_teardown);
    tcase_add_test(pem, pem_accepts_rsa_public);
    tcase_add_test(pem, pem_refuses_other_keys);
    tcase_add_test(pem, pem_refuses_junk);
    tcase_add_loop_test(pem, pem_refuses_weak_keys, 0, WEAK_RSA_COUNT);
    tcase_add_test(pem, pem_accepts_key_size_bounds);
    tcase_add_test(pem, pem_unescape);
    tcase_add_test(pem, pem_unescaped_key_accepted);
    suite_add_tcase(s, pem);

    tcase_add_test(url, url_valid);
    tcase_add_test(url, url_invalid);
    suite_add_tcase(s, url);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(account_keys_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
