/* At-rest protection: PIN-derived wrapping keys and AES-256-GCM sealing. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

void wipe(void *p, size_t len) {
  if (p && len) OPENSSL_cleanse(p, len);
}

CK_RV random_bytes(unsigned char *out, size_t len) {
  if (len > 0x7fffffff) return CKR_ARGUMENTS_BAD;
  return RAND_bytes(out, (int)len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

/* scrypt N = 2^15, r = 8: 32 MiB and tens of milliseconds per guess, where
 * PBKDF2 cost a GPU next to nothing. */
#define SCRYPT_N (1ULL << 15)
#define SCRYPT_R 8U
#define SCRYPT_P 1U
#define SCRYPT_MAXMEM (256ULL << 20)

/* HSMSIM_SCRYPT_LOG2N (10-20) sets N for PINs set from now on; each PIN keeps
 * the parameters it was set with. Lower only for tests that log in often under
 * valgrind. */
kdf_t kdf_default(void) {
  kdf_t k = {1, SCRYPT_N, SCRYPT_R, SCRYPT_P, 0};
  const char *e = getenv("HSMSIM_SCRYPT_LOG2N");
  char *end;
  long v = e ? strtol(e, &end, 10) : 0;
  if (e && *e && !*end && v >= 10 && v <= 20) k.n = 1ULL << v;
  return k;
}

/* "scrypt:N:r:p" or "pbkdf2:iterations"; bounds keep a doctored token.meta
 * from making a login take forever or exhaust memory. */
int kdf_parse(const char *text, kdf_t *out) {
  kdf_t k = {0};
  unsigned long long n;
  unsigned r, p, it;
  char end;
  if (sscanf(text, "scrypt:%llu:%u:%u%c", &n, &r, &p, &end) == 3) {
    if (n < 1024 || n > (1ULL << 20) || (n & (n - 1)) || r < 1 || r > 32 || p < 1 || p > 16) return 0;
    if (128ULL * n * r + 128ULL * r * p > SCRYPT_MAXMEM) return 0;
    k.scrypt = 1, k.n = n, k.r = r, k.p = p;
  } else if (sscanf(text, "pbkdf2:%u%c", &it, &end) == 1) {
    if (it < 1000 || it >= 100000000) return 0;
    k.iter = it;
  } else {
    return 0;
  }
  *out = k;
  return 1;
}

void kdf_format(const kdf_t *k, char *out, size_t n) {
  if (k->scrypt) snprintf(out, n, "scrypt:%llu:%u:%u", (unsigned long long)k->n, k->r, k->p);
  else snprintf(out, n, "pbkdf2:%u", k->iter);
}

CK_RV seal_pin_key(const unsigned char *pin, size_t pinlen, const unsigned char salt[SALT_LEN], const kdf_t *kdf,
                   unsigned char out[TOKEN_KEY_LEN]) {
  int ok = kdf->scrypt ? EVP_PBE_scrypt((const char *)pin, pinlen, salt, SALT_LEN, kdf->n, kdf->r, kdf->p,
                                        SCRYPT_MAXMEM, out, TOKEN_KEY_LEN)
                       : PKCS5_PBKDF2_HMAC((const char *)pin, (int)pinlen, salt, SALT_LEN, (int)kdf->iter,
                                           EVP_sha256(), TOKEN_KEY_LEN, out);
  return ok == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

/* out = nonce(12) || ciphertext || tag(16) */
CK_RV seal_encrypt(const unsigned char key[TOKEN_KEY_LEN], const unsigned char *aad, size_t aadlen,
                   const unsigned char *in, size_t inlen, unsigned char *out) {
  CK_RV rv = CKR_FUNCTION_FAILED;
  int l = 0;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c) return CKR_HOST_MEMORY;
  if (random_bytes(out, 12) != CKR_OK) goto done;
  if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out) != 1) goto done;
  if (aadlen && EVP_EncryptUpdate(c, NULL, &l, aad, (int)aadlen) != 1) goto done;
  if (inlen && EVP_EncryptUpdate(c, out + 12, &l, in, (int)inlen) != 1) goto done;
  if (EVP_EncryptFinal_ex(c, out + 12 + inlen, &l) != 1) goto done;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + inlen) != 1) goto done;
  rv = CKR_OK;
done:
  EVP_CIPHER_CTX_free(c);
  return rv;
}

CK_RV seal_decrypt(const unsigned char key[TOKEN_KEY_LEN], const unsigned char *aad, size_t aadlen,
                   const unsigned char *in, size_t inlen, unsigned char *out) {
  CK_RV rv = CKR_ENCRYPTED_DATA_INVALID;
  int l = 0;
  if (inlen < SEAL_OVERHEAD) return rv;
  size_t ctlen = inlen - SEAL_OVERHEAD;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c) return CKR_HOST_MEMORY;
  if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) != 1) goto done;
  if (aadlen && EVP_DecryptUpdate(c, NULL, &l, aad, (int)aadlen) != 1) goto done;
  if (ctlen && EVP_DecryptUpdate(c, out, &l, in + 12, (int)ctlen) != 1) goto done;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 12 + ctlen)) != 1) goto done;
  if (EVP_DecryptFinal_ex(c, out + ctlen, &l) != 1) {
    wipe(out, ctlen);
    goto done;
  }
  rv = CKR_OK;
done:
  EVP_CIPHER_CTX_free(c);
  return rv;
}

void hex_encode(const unsigned char *in, size_t len, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = d[in[i] >> 4];
    out[2 * i + 1] = d[in[i] & 15];
  }
  out[2 * len] = 0;
}

static int nib(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int hex_decode(const char *in, unsigned char *out, size_t max, size_t *outlen) {
  size_t n = strlen(in);
  if (n % 2 || n / 2 > max) return 0;
  for (size_t i = 0; i < n / 2; i++) {
    int h = nib(in[2 * i]), l = nib(in[2 * i + 1]);
    if (h < 0 || l < 0) return 0;
    out[i] = (unsigned char)(h << 4 | l);
  }
  *outlen = n / 2;
  return 1;
}
