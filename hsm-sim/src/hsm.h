/* Internal interfaces shared by the hsm-sim source files. */
#ifndef HSM_SIM_HSM_H
#define HSM_SIM_HSM_H

/* Only the C_* entry points leave the shared object (-fvisibility=hidden). */
#define CK_SPEC __attribute__((visibility("default")))
#include "pkcs11.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Vendor numbers follow Sansec's table (see shared GM-NOTES). */
#define CKK_SM2 0x80000004UL
#define CKK_SM4 0x80000106UL
#define CKM_SM2_KEY_PAIR_GEN 0x80008001UL
#define CKM_SM2_SM3 0x80008100UL
#define CKM_SM2_RAW 0x80008104UL
#define CKM_SM2_ENC 0x80008200UL
#define CKM_SM3 0x80009001UL
#define CKM_SM4_KEY_GEN 0x80000107UL
#define CKM_SM4_ECB 0x80000108UL
#define CKM_SM4_CBC 0x80000109UL

#define SM2_POINT_LEN 65
#define SM2_SCALAR_LEN 32
#define SM2_SIG_MAX 72
#define SM3_LEN 32
#define SM4_KEY_LEN 16
#define SM4_BLOCK 16
#define TOKEN_KEY_LEN 32
#define SALT_LEN 16
#define SEAL_OVERHEAD 28 /* 12-byte nonce + 16-byte GCM tag */
#define MIN_PIN 4
#define MAX_PIN 64
/* Failed logins in a row after which a PIN is locked (CKR_PIN_LOCKED); the
 * count survives restarts, so trying PINs across processes gains nothing. */
#define PIN_TRIES 10
#define DEFAULT_ID "1234567812345678"

extern const unsigned char SM2_EC_PARAMS[10];

/* ---- handles.c ---- */
typedef struct {
  void **ptr;
  uint16_t *gen;
  uint32_t *queue; /* ring of freed indices */
  size_t qhead, qlen;
  size_t span; /* indices ever used: iterate [0, span) */
  size_t cap;
} htab_t;

CK_ULONG ht_add(htab_t *t, void *p);
void *ht_get(const htab_t *t, CK_ULONG h);
void ht_del(htab_t *t, CK_ULONG h);
void ht_clear(htab_t *t);

/* ---- attributes.c ---- */
typedef struct {
  CK_ATTRIBUTE_TYPE type;
  CK_ULONG len;
  unsigned char *val;
} attr_t;

typedef struct {
  attr_t *v;
  size_t n, cap;
} attrs_t;

void attrs_free(attrs_t *a);
attr_t *attrs_find(const attrs_t *a, CK_ATTRIBUTE_TYPE t);
CK_RV attrs_set(attrs_t *a, CK_ATTRIBUTE_TYPE t, const void *v, CK_ULONG len);
CK_RV attrs_set_bool(attrs_t *a, CK_ATTRIBUTE_TYPE t, int b);
CK_RV attrs_set_ulong(attrs_t *a, CK_ATTRIBUTE_TYPE t, CK_ULONG v);
void attrs_remove(attrs_t *a, CK_ATTRIBUTE_TYPE t);
int attrs_bool(const attrs_t *a, CK_ATTRIBUTE_TYPE t, int dflt);
int attrs_ulong(const attrs_t *a, CK_ATTRIBUTE_TYPE t, CK_ULONG *out);
CK_RV attrs_encode(const attrs_t *a, int (*keep)(CK_ATTRIBUTE_TYPE, void *), void *arg, unsigned char **out,
                   size_t *outlen);
CK_RV attrs_decode(attrs_t *a, const unsigned char *buf, size_t len);
int attr_is_bool(CK_ATTRIBUTE_TYPE t);
int attr_is_ulong(CK_ATTRIBUTE_TYPE t);
const CK_ATTRIBUTE *tmpl_find(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
CK_RV tmpl_check_shapes(const CK_ATTRIBUTE *t, CK_ULONG n);
int tmpl_bool(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, int dflt);
int tmpl_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out);

/* ---- seal.c: at-rest encryption and small helpers ---- */
/* How a PIN becomes the key that wraps the token key: scrypt for every PIN set
 * now, PBKDF2 only for a PIN set before scrypt (rewrapped at its next login). */
typedef struct {
  int scrypt;
  uint64_t n;
  uint32_t r, p;
  unsigned iter; /* PBKDF2 */
} kdf_t;

kdf_t kdf_default(void);
int kdf_parse(const char *text, kdf_t *out);
void kdf_format(const kdf_t *k, char *out, size_t n);
CK_RV seal_pin_key(const unsigned char *pin, size_t pinlen, const unsigned char salt[SALT_LEN], const kdf_t *kdf,
                   unsigned char out[TOKEN_KEY_LEN]);
CK_RV seal_encrypt(const unsigned char key[TOKEN_KEY_LEN], const unsigned char *aad, size_t aadlen,
                   const unsigned char *in, size_t inlen, unsigned char *out);
CK_RV seal_decrypt(const unsigned char key[TOKEN_KEY_LEN], const unsigned char *aad, size_t aadlen,
                   const unsigned char *in, size_t inlen, unsigned char *out);
void hex_encode(const unsigned char *in, size_t len, char *out);
int hex_decode(const char *in, unsigned char *out, size_t max, size_t *outlen);
CK_RV random_bytes(unsigned char *out, size_t len);
void wipe(void *p, size_t len);

/* ---- token-store.c ---- */
typedef struct slot {
  CK_SLOT_ID id;
  char *dir;
  int initialized;
  /* token.meta is corrupt or unreadable, or gone while objects remain: the token is
   * present but not recognised, and nothing may change it (not even C_InitToken) */
  int unreadable;
  unsigned char token_id[16];
  char label[32];
  kdf_t so_kdf, user_kdf;
  unsigned char so_salt[SALT_LEN], so_wrap[TOKEN_KEY_LEN + SEAL_OVERHEAD];
  int user_set;
  unsigned char user_salt[SALT_LEN], user_wrap[TOKEN_KEY_LEN + SEAL_OVERHEAD];
  unsigned so_fails, user_fails; /* failed logins in a row, kept in token.meta */
  unsigned long long gen;
  int gen_known;
  /* process-wide login state (PKCS#11: per application per token) */
  CK_USER_TYPE login; /* CK_UNAVAILABLE_INFORMATION when nobody is logged in */
  int have_key;
  unsigned char tkey[TOKEN_KEY_LEN];
} slot_t;

struct object;
CK_RV store_sync(slot_t *s);
CK_RV store_init_token(slot_t *s, const unsigned char *pin, size_t pinlen, const unsigned char label[32]);
CK_RV store_check_pin(slot_t *s, CK_USER_TYPE who, const unsigned char *pin, size_t pinlen,
                      unsigned char tkey[TOKEN_KEY_LEN]);
CK_RV store_login_pin(slot_t *s, CK_USER_TYPE who, const unsigned char *pin, size_t pinlen,
                      unsigned char tkey[TOKEN_KEY_LEN]);
CK_FLAGS store_pin_flags(const slot_t *s);
CK_RV store_set_pin(slot_t *s, CK_USER_TYPE who, const unsigned char *pin, size_t pinlen,
                    const unsigned char tkey[TOKEN_KEY_LEN]);
CK_RV store_write_object(slot_t *s, struct object *o);
CK_RV store_delete_object(slot_t *s, struct object *o);
void store_unseal_all(slot_t *s);
void store_seal_all(slot_t *s);

/* ---- objects.c ---- */
typedef struct object {
  CK_OBJECT_HANDLE handle;
  CK_SLOT_ID slot;
  CK_SESSION_HANDLE owner; /* creating session for session objects, 0 for token objects */
  int token, priv;
  int sealed; /* encrypted part of a token object not loaded (no token key) */
  CK_OBJECT_CLASS cls;
  CK_KEY_TYPE ktype;
  char fid[33];
  ino_t ino;
  long long mtime_ns;
  int mark; /* rescan bookkeeping */
  attrs_t attrs;
  EVP_PKEY *pkey; /* parsed SM2 key, built on first use */
} object_t;

object_t *obj_new(void);
void obj_free(object_t *o);
CK_RV obj_register(object_t *o);
void obj_unregister(object_t *o);
object_t *obj_get(CK_OBJECT_HANDLE h);
size_t obj_span(void);
object_t *obj_at(size_t i);
void obj_sync_fields(object_t *o);
int obj_attr_sealed(const object_t *o, CK_ATTRIBUTE_TYPE t);
int obj_attr_sensitive(const object_t *o, CK_ATTRIBUTE_TYPE t);
EVP_PKEY *obj_pkey(object_t *o);
void obj_drop_secrets(object_t *o);

/* ---- session.c ---- */
typedef struct op {
  int active;
  CK_MECHANISM_TYPE mech;
  EVP_PKEY *pkey;
  EVP_MD_CTX *md;
  EVP_CIPHER_CTX *cctx;
  unsigned char key[SM4_KEY_LEN];
  unsigned char iv[SM4_BLOCK];
  int updated;  /* multi-part path taken: single-part call now invalid */
  int have_e;   /* digest already final; a retry after BUFFER_TOO_SMALL re-signs it */
  unsigned char e[SM3_LEN];
  unsigned char *buf;
  size_t blen;
} op_t;

typedef struct session {
  CK_SESSION_HANDLE handle;
  CK_SLOT_ID slot;
  CK_FLAGS flags;
  pthread_mutex_t mu;
  int refs, closed;
  op_t sign, verify, enc, dec, dig;
  int finding;
  CK_OBJECT_HANDLE *found;
  size_t nfound, pos;
  /* reused between signatures with the same key: saves a provider fetch */
  EVP_PKEY_CTX *sign_ctx;
  EVP_PKEY *sign_ctx_key;
} session_t;

void op_reset(op_t *op);
CK_RV sess_acquire(CK_SESSION_HANDLE h, session_t **out);
void sess_release(session_t *s);
slot_t *sess_slot(const session_t *s);
int sess_rw(const session_t *s);
int slot_user(const slot_t *s);
size_t sess_span(void);
session_t *sess_at(size_t i);
void sess_close_all(void);
int obj_visible(const object_t *o, const session_t *s);
CK_RV obj_lookup(session_t *s, CK_OBJECT_HANDLE h, CK_RV invalid, object_t **out);

/* ---- module.c ---- */
extern pthread_mutex_t g_mu;
extern int g_ready;
extern slot_t *g_slots;
extern CK_ULONG g_nslots;
slot_t *slot_get(CK_SLOT_ID id);
void pad_copy(unsigned char *dst, size_t dlen, const char *src);

/* ---- object-policy.c ---- */
enum origin { ORIGIN_CREATE, ORIGIN_GENERATE, ORIGIN_UNWRAP };
CK_RV obj_build(session_t *s, const CK_ATTRIBUTE *t, CK_ULONG n, enum origin how, const attrs_t *module_attrs,
                object_t **out);
CK_RV obj_commit(session_t *s, object_t *o);

/* ---- sm2-mech.c ---- */
CK_RV sm2_generate(unsigned char priv[SM2_SCALAR_LEN], unsigned char pub[SM2_POINT_LEN]);
CK_RV sm2_point_from_scalar(const unsigned char priv[SM2_SCALAR_LEN], unsigned char pub[SM2_POINT_LEN]);
int sm2_point_valid(const unsigned char pub[SM2_POINT_LEN]);
EVP_PKEY *sm2_pkey(const unsigned char *priv, const unsigned char pub[SM2_POINT_LEN]);
CK_RV sm2_pub_from_pkey(EVP_PKEY *pk, unsigned char pub[SM2_POINT_LEN]);
CK_RV sm2_z(const unsigned char pub[SM2_POINT_LEN], const unsigned char *id, size_t idlen, unsigned char z[SM3_LEN]);
CK_RV sm2_sign_e(session_t *s, EVP_PKEY *pk, const unsigned char e[SM3_LEN], unsigned char *sig, size_t *siglen);
CK_RV sm2_verify_e(EVP_PKEY *pk, const unsigned char e[SM3_LEN], const unsigned char *sig, size_t siglen);
CK_RV sm2_encrypt(EVP_PKEY *pk, const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen);
CK_RV sm2_decrypt(EVP_PKEY *pk, const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen);
size_t sm2_cipher_max(size_t plainlen);
int ec_point_decode(const unsigned char *in, size_t len, unsigned char pub[SM2_POINT_LEN]);
void ec_point_encode(const unsigned char pub[SM2_POINT_LEN], unsigned char out[SM2_POINT_LEN + 2]);

/* ---- algorithms.c ---- */
const EVP_MD *sm3_md(void);
const EVP_CIPHER *sm4_cipher(CK_MECHANISM_TYPE mech);
CK_RV crypto_init(void);
void crypto_fini(void);

/* ---- sm4-mech.c ---- */
CK_RV sm4_ctx(int enc, CK_MECHANISM_TYPE mech, const unsigned char key[SM4_KEY_LEN],
              const unsigned char iv[SM4_BLOCK], EVP_CIPHER_CTX **out);
CK_RV sm4_oneshot(int enc, CK_MECHANISM_TYPE mech, const unsigned char key[SM4_KEY_LEN],
                  const unsigned char iv[SM4_BLOCK], const unsigned char *in, size_t len, unsigned char *out);
CK_RV sm4_mech_iv(const CK_MECHANISM *m, unsigned char iv[SM4_BLOCK]);

/* ---- mechanisms.c ---- */
typedef struct {
  CK_MECHANISM_TYPE type;
  CK_MECHANISM_INFO info;
} mech_t;
const mech_t *mech_find(CK_MECHANISM_TYPE t);

/* ---- key material accessors (keys.c) ---- */
CK_RV key_sm4_value(object_t *o, unsigned char key[SM4_KEY_LEN]);
CK_RV key_check(object_t *o, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, CK_ATTRIBUTE_TYPE usage);

/* Output helper for the two-call length convention. */
CK_RV out_len_check(unsigned char *out, CK_ULONG_PTR outlen, size_t need);

#define LOCK() pthread_mutex_lock(&g_mu)
#define UNLOCK() pthread_mutex_unlock(&g_mu)

#endif
