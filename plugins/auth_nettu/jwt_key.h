/* Parsing an account's stored PEM public key into an OpenSSL key; pure. */
#ifndef AUTH_JWT_KEY_H
#define AUTH_JWT_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

/* Parses the first PEM block of `pem` (`len` bytes, need not be NUL-terminated): a
 * "PUBLIC KEY" block (SubjectPublicKeyInfo) or an "RSA PUBLIC KEY" block (PKCS#1) holding
 * an RSA key that passes ntc_rsa_key_check(NTC_RSA_QUICK) (2048 to 8192 bits, exponent
 * 65537, a sound modulus; the primality test is left to the upload, which ran it). Anything
 * else (no PEM, a frame around junk, trailing bytes inside the block, an EC or Ed25519 key,
 * RSA-PSS, a private key, an encrypted block, a weak RSA key) is refused with NT_EINVAL and
 * *why set to a static message without key material. On NT_OK *out is a new key the caller
 * frees with EVP_PKEY_free(). NT_ENOMEM when out of memory. Thread-safe; the thread's
 * OpenSSL error queue is left empty. */
int jwt_key_parse(const char *pem, size_t len, EVP_PKEY **out, const char **why);

#endif /* AUTH_JWT_KEY_H */
