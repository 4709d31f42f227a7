/* SM2 primitives on OpenSSL 3: key generation and import, Z, sign/verify of e, encrypt/decrypt. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <string.h>

#include "hsm.h"

/* Curve constants a, b, xG, yG as they enter Z (GM/T 0003.2). */
static const unsigned char SM2_ABG[128] = {
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC,
    0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09, 0xA7,
    0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94, 0x0E, 0x93,
    0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04, 0x46, 0x6A, 0x39, 0xC9, 0x94,
    0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66, 0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C, 0x74, 0xC7,
    0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE, 0xE3, 0x6B, 0x69, 0x21, 0x53,
    0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39, 0xF0, 0xA0,
};

CK_RV sm2_generate(unsigned char priv[SM2_SCALAR_LEN], unsigned char pub[SM2_POINT_LEN]) {
  CK_RV rv = CKR_FUNCTION_FAILED;
  EVP_PKEY *pk = NULL;
  BIGNUM *d = NULL;
  size_t len = 0;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
  if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_generate(c, &pk) != 1) goto done;
  if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) goto done;
  if (BN_bn2binpad(d, priv, SM2_SCALAR_LEN) != SM2_SCALAR_LEN) goto done;
  if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, SM2_POINT_LEN, &len) != 1 ||
      len != SM2_POINT_LEN || pub[0] != 0x04)
    goto done;
  rv = CKR_OK;
done:
  BN_clear_free(d);
  EVP_PKEY_free(pk);
  EVP_PKEY_CTX_free(c);
  return rv;
}

/* Also the range check for imported scalars: SM2 wants 1 <= d <= n-2. */
CK_RV sm2_point_from_scalar(const unsigned char priv[SM2_SCALAR_LEN], unsigned char pub[SM2_POINT_LEN]) {
  CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
  EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
  BN_CTX *bc = BN_CTX_new();
  BIGNUM *d = BN_bin2bn(priv, SM2_SCALAR_LEN, NULL);
  BIGNUM *lim = BN_new();
  EC_POINT *p = g ? EC_POINT_new(g) : NULL;
  if (!g || !bc || !d || !lim || !p) {
    rv = CKR_HOST_MEMORY;
    goto done;
  }
  BN_set_flags(d, BN_FLG_CONSTTIME);
  if (!BN_copy(lim, EC_GROUP_get0_order(g)) || !BN_sub_word(lim, 1)) goto done;
  if (BN_is_zero(d) || BN_cmp(d, lim) >= 0) goto done;
  if (EC_POINT_mul(g, p, d, NULL, NULL, bc) != 1) goto done;
  if (EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pub, SM2_POINT_LEN, bc) != SM2_POINT_LEN) goto done;
  rv = CKR_OK;
done:
  EC_POINT_free(p);
  BN_free(lim);
  BN_clear_free(d);
  BN_CTX_free(bc);
  EC_GROUP_free(g);
  return rv;
}

/* Making the group costs more than the check itself, and every imported public key is checked:
 * one group, made once and only read from then on, which OpenSSL allows from any thread. */
static EC_GROUP *point_check_group;
static pthread_once_t point_check_once = PTHREAD_ONCE_INIT;
static void point_check_group_init(void) { point_check_group = EC_GROUP_new_by_curve_name(NID_sm2); }
/* Runs only when the module is unmapped, so a loaded module never sees the group freed. */
__attribute__((destructor)) static void point_check_group_free(void) { EC_GROUP_free(point_check_group); }

int sm2_point_valid(const unsigned char pub[SM2_POINT_LEN]) {
  if (pub[0] != 0x04) return 0;
  pthread_once(&point_check_once, point_check_group_init);
  const EC_GROUP *g = point_check_group;
  EC_POINT *p = g ? EC_POINT_new(g) : NULL;
  int ok = p && EC_POINT_oct2point(g, p, pub, SM2_POINT_LEN, NULL) == 1 && EC_POINT_is_on_curve(g, p, NULL) == 1 &&
           !EC_POINT_is_at_infinity(g, p);
  EC_POINT_free(p);
  return ok;
}

EVP_PKEY *sm2_pkey(const unsigned char *priv, const unsigned char pub[SM2_POINT_LEN]) {
  EVP_PKEY *pk = NULL;
  OSSL_PARAM *params = NULL;
  BIGNUM *d = NULL;
  OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
  if (!b || !c) goto done;
  if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0)) goto done;
  if (!OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, SM2_POINT_LEN)) goto done;
  if (priv) {
    d = BN_secure_new();
    if (!d || !BN_bin2bn(priv, SM2_SCALAR_LEN, d)) goto done;
    if (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d)) goto done;
  }
  params = OSSL_PARAM_BLD_to_param(b);
  if (!params || EVP_PKEY_fromdata_init(c) != 1) goto done;
  if (EVP_PKEY_fromdata(c, &pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) pk = NULL;
done:
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(b);
  BN_clear_free(d);
  EVP_PKEY_CTX_free(c);
  return pk;
}

CK_RV sm2_pub_from_pkey(EVP_PKEY *pk, unsigned char pub[SM2_POINT_LEN]) {
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, SM2_POINT_LEN, &len) != 1 ||
      len != SM2_POINT_LEN)
    return CKR_FUNCTION_FAILED;
  return CKR_OK;
}

CK_RV sm2_z(const unsigned char pub[SM2_POINT_LEN], const unsigned char *id, size_t idlen, unsigned char z[SM3_LEN]) {
  if (idlen >= 8192) return CKR_MECHANISM_PARAM_INVALID; /* ENTL is a 16-bit bit count */
  unsigned char entl[2] = {(unsigned char)((idlen * 8) >> 8), (unsigned char)(idlen * 8)};
  EVP_MD_CTX *m = EVP_MD_CTX_new();
  unsigned int zl = 0;
  int ok = m && EVP_DigestInit_ex(m, sm3_md(), NULL) == 1 && EVP_DigestUpdate(m, entl, 2) == 1 &&
           (idlen == 0 || EVP_DigestUpdate(m, id, idlen) == 1) && EVP_DigestUpdate(m, SM2_ABG, 128) == 1 &&
           EVP_DigestUpdate(m, pub + 1, 64) == 1 && EVP_DigestFinal_ex(m, z, &zl) == 1;
  EVP_MD_CTX_free(m);
  return ok ? CKR_OK : CKR_FUNCTION_FAILED;
}

/* The session keeps one signing context per key: EVP_PKEY_CTX creation does a
 * provider fetch that costs a measurable share of a signature. */
CK_RV sm2_sign_e(session_t *s, EVP_PKEY *pk, const unsigned char e[SM3_LEN], unsigned char *sig, size_t *siglen) {
  if (s->sign_ctx_key != pk) {
    EVP_PKEY_CTX_free(s->sign_ctx);
    EVP_PKEY_free(s->sign_ctx_key);
    s->sign_ctx = NULL;
    s->sign_ctx_key = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!c) return CKR_HOST_MEMORY;
    if (EVP_PKEY_sign_init(c) != 1) {
      EVP_PKEY_CTX_free(c);
      return CKR_FUNCTION_FAILED;
    }
    EVP_PKEY_up_ref(pk);
    s->sign_ctx = c;
    s->sign_ctx_key = pk;
  }
  size_t len = SM2_SIG_MAX;
  unsigned char tmp[SM2_SIG_MAX + 16];
  if (EVP_PKEY_sign(s->sign_ctx, tmp, &len, e, SM3_LEN) != 1 || len > *siglen) {
    EVP_PKEY_CTX_free(s->sign_ctx);
    EVP_PKEY_free(s->sign_ctx_key);
    s->sign_ctx = NULL;
    s->sign_ctx_key = NULL;
    return CKR_FUNCTION_FAILED;
  }
  memcpy(sig, tmp, len);
  *siglen = len;
  return CKR_OK;
}

/* Accepts DER SEQUENCE{r,s} and, as a courtesy, raw 64-byte r||s. */
CK_RV sm2_verify_e(EVP_PKEY *pk, const unsigned char e[SM3_LEN], const unsigned char *sig, size_t siglen) {
  unsigned char der[SM2_SIG_MAX + 8];
  if (siglen == 64) {
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *p = der;
    int n = -1;
    if (es && r && sv && ECDSA_SIG_set0(es, r, sv) == 1) {
      r = sv = NULL;
      n = i2d_ECDSA_SIG(es, &p);
    }
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(es);
    if (n <= 0) return CKR_SIGNATURE_INVALID;
    sig = der;
    siglen = (size_t)n;
  }
  if (siglen > SM2_SIG_MAX || siglen < 8) return CKR_SIGNATURE_LEN_RANGE;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
  if (!c) return CKR_HOST_MEMORY;
  CK_RV rv = CKR_SIGNATURE_INVALID;
  if (EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, sig, siglen, e, SM3_LEN) == 1) rv = CKR_OK;
  EVP_PKEY_CTX_free(c);
  return rv;
}

size_t sm2_cipher_max(size_t plainlen) { return plainlen + 128; }

/* GM/T 0009 DER output; OpenSSL's SM2 encryption produces exactly that. */
CK_RV sm2_encrypt(EVP_PKEY *pk, const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen) {
  if (inlen == 0) return CKR_DATA_LEN_RANGE;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
  if (!c) return CKR_HOST_MEMORY;
  CK_RV rv = CKR_FUNCTION_FAILED;
  if (EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_encrypt(c, out, outlen, in, inlen) == 1) rv = CKR_OK;
  EVP_PKEY_CTX_free(c);
  return rv;
}

CK_RV sm2_decrypt(EVP_PKEY *pk, const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
  if (!c) return CKR_HOST_MEMORY;
  CK_RV rv = CKR_ENCRYPTED_DATA_INVALID;
  if (EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_decrypt(c, out, outlen, in, inlen) == 1) rv = CKR_OK;
  EVP_PKEY_CTX_free(c);
  return rv;
}

int ec_point_decode(const unsigned char *in, size_t len, unsigned char pub[SM2_POINT_LEN]) {
  if (len == SM2_POINT_LEN + 2 && in[0] == 0x04 && in[1] == SM2_POINT_LEN) in += 2;
  else if (len == SM2_POINT_LEN + 3 && in[0] == 0x04 && in[1] == 0x81 && in[2] == SM2_POINT_LEN) in += 3;
  else if (len != SM2_POINT_LEN) return 0;
  if (in[0] != 0x04) return 0;
  memcpy(pub, in, SM2_POINT_LEN);
  return 1;
}

void ec_point_encode(const unsigned char pub[SM2_POINT_LEN], unsigned char out[SM2_POINT_LEN + 2]) {
  out[0] = 0x04;
  out[1] = SM2_POINT_LEN;
  memcpy(out + 2, pub, SM2_POINT_LEN);
}
