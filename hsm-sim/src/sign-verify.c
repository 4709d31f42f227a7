/* C_Sign* / C_Verify* for SM2-with-SM3 (input M, Z computed here) and raw SM2 (input e).
 * The key is resolved once at *Init under the global lock; the EC math then
 * runs holding only the session's own mutex, so sessions sign in parallel. */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

static CK_RV parse_id(const CK_MECHANISM *m, const unsigned char **id, size_t *idlen) {
  if (m->mechanism == CKM_SM2_RAW) {
    if (m->ulParameterLen) return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
  }
  if (m->mechanism != CKM_SM2_SM3) return CKR_MECHANISM_INVALID;
  if (m->ulParameterLen == 0) {
    *id = (const unsigned char *)DEFAULT_ID;
    *idlen = 16;
    return CKR_OK;
  }
  if (!m->pParameter || m->ulParameterLen >= 8192) return CKR_MECHANISM_PARAM_INVALID;
  *id = m->pParameter;
  *idlen = m->ulParameterLen;
  return CKR_OK;
}

static CK_RV op_init(session_t *s, op_t *op, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hKey, int signing) {
  if (!m) return CKR_ARGUMENTS_BAD;
  if (op->active) return CKR_OPERATION_ACTIVE;
  const unsigned char *id = NULL;
  size_t idlen = 0;
  CK_RV rv = parse_id(m, &id, &idlen);
  if (rv != CKR_OK) return rv;
  unsigned char pub[SM2_POINT_LEN];
  EVP_PKEY *pk = NULL;
  object_t *o;
  LOCK();
  rv = obj_lookup(s, hKey, CKR_KEY_HANDLE_INVALID, &o);
  if (rv == CKR_OK) {
    if (signing) rv = key_check(o, CKO_PRIVATE_KEY, CKK_SM2, CKA_SIGN);
    else if (o->cls == CKO_PRIVATE_KEY) rv = key_check(o, CKO_PRIVATE_KEY, CKK_SM2, CK_UNAVAILABLE_INFORMATION);
    else rv = key_check(o, CKO_PUBLIC_KEY, CKK_SM2, CKA_VERIFY);
  }
  if (rv == CKR_OK) {
    attr_t *pt = attrs_find(&o->attrs, CKA_EC_POINT);
    pk = obj_pkey(o);
    if (!pk || !pt || !ec_point_decode(pt->val, pt->len, pub)) rv = CKR_KEY_TYPE_INCONSISTENT;
    else EVP_PKEY_up_ref(pk);
  }
  UNLOCK();
  if (rv != CKR_OK) return rv;
  op->pkey = pk;
  op->mech = m->mechanism;
  if (m->mechanism == CKM_SM2_SM3) {
    unsigned char z[SM3_LEN];
    rv = sm2_z(pub, id, idlen, z);
    if (rv == CKR_OK && !(op->md = EVP_MD_CTX_new())) rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK && (EVP_DigestInit_ex(op->md, sm3_md(), NULL) != 1 || EVP_DigestUpdate(op->md, z, SM3_LEN) != 1))
      rv = CKR_FUNCTION_FAILED;
  }
  if (rv != CKR_OK) {
    op_reset(op);
    return rv;
  }
  op->active = 1;
  return CKR_OK;
}

static CK_RV op_update(op_t *op, const unsigned char *p, size_t n) {
  if (op->mech == CKM_SM2_SM3) return (n == 0 || EVP_DigestUpdate(op->md, p, n) == 1) ? CKR_OK : CKR_FUNCTION_FAILED;
  /* raw SM2 input is e itself: collect at most 32 bytes */
  if (op->blen + n > SM3_LEN) return CKR_DATA_LEN_RANGE;
  if (!op->buf && !(op->buf = malloc(SM3_LEN))) return CKR_HOST_MEMORY;
  memcpy(op->buf + op->blen, p, n);
  op->blen += n;
  return CKR_OK;
}

static CK_RV op_final_e(op_t *op) {
  if (op->have_e) return CKR_OK;
  if (op->mech == CKM_SM2_SM3) {
    unsigned int l = 0;
    if (EVP_DigestFinal_ex(op->md, op->e, &l) != 1) return CKR_FUNCTION_FAILED;
  } else {
    if (op->blen != SM3_LEN) return CKR_DATA_LEN_RANGE;
    memcpy(op->e, op->buf, SM3_LEN);
  }
  op->have_e = 1;
  return CKR_OK;
}

static int keeps_op(CK_RV rv) { return rv == CKR_BUFFER_TOO_SMALL; }

/* Length query and short buffers leave the operation active (two-call convention). */
static CK_RV sign_finish(session_t *s, CK_BYTE_PTR sig, CK_ULONG_PTR siglen) {
  op_t *op = &s->sign;
  if (!sig) {
    *siglen = SM2_SIG_MAX;
    return CKR_OK;
  }
  CK_RV rv = op_final_e(op);
  unsigned char out[SM2_SIG_MAX];
  size_t len = sizeof out;
  if (rv == CKR_OK) rv = sm2_sign_e(s, op->pkey, op->e, out, &len);
  if (rv == CKR_OK && *siglen < len) rv = CKR_BUFFER_TOO_SMALL;
  if (rv == CKR_OK) memcpy(sig, out, len);
  if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) *siglen = len;
  if (!keeps_op(rv)) op_reset(op);
  return rv;
}

static op_t *sign_slot(session_t *s) { return &s->sign; }
static op_t *verify_slot(session_t *s) { return &s->verify; }

/* Sign and verify start and take data alike; only the session's operation slot differs. */
static CK_RV init_in(CK_SESSION_HANDLE hSession, op_t *(*slot)(session_t *), CK_MECHANISM_PTR pMechanism,
                     CK_OBJECT_HANDLE hKey, int signing) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  rv = op_init(s, slot(s), pMechanism, hKey, signing);
  sess_release(s);
  return rv;
}

static CK_RV update_in(CK_SESSION_HANDLE hSession, op_t *(*slot)(session_t *), CK_BYTE_PTR pPart,
                       CK_ULONG ulPartLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  op_t *op = slot(s);
  if (!op->active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pPart && ulPartLen) rv = CKR_ARGUMENTS_BAD;
  else rv = op_update(op, pPart, ulPartLen);
  if (rv == CKR_OK) op->updated = 1;
  else if (rv != CKR_OPERATION_NOT_INITIALIZED) op_reset(op);
  sess_release(s);
  return rv;
}

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey) {
  return init_in(hSession, sign_slot, pMechanism, hKey, 1);
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
             CK_ULONG_PTR pulSignatureLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  op_t *op = &s->sign;
  if (!op->active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pulSignatureLen || (!pData && ulDataLen)) rv = CKR_ARGUMENTS_BAD;
  else if (op->updated) rv = CKR_OPERATION_ACTIVE;
  if (rv == CKR_OK && pSignature && !op->have_e) {
    if (op->mech == CKM_SM2_RAW && ulDataLen != SM3_LEN) rv = CKR_DATA_LEN_RANGE;
    else rv = op_update(op, pData, ulDataLen);
  }
  if (rv == CKR_OK) rv = sign_finish(s, pSignature, pulSignatureLen);
  else if (rv != CKR_OPERATION_NOT_INITIALIZED && rv != CKR_OPERATION_ACTIVE) op_reset(op);
  sess_release(s);
  return rv;
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen) {
  return update_in(hSession, sign_slot, pPart, ulPartLen);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!s->sign.active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pulSignatureLen) {
    rv = CKR_ARGUMENTS_BAD;
    op_reset(&s->sign);
  } else
    rv = sign_finish(s, pSignature, pulSignatureLen);
  sess_release(s);
  return rv;
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey) {
  return init_in(hSession, verify_slot, pMechanism, hKey, 0);
}

static CK_RV verify_finish(op_t *op, const unsigned char *sig, size_t siglen) {
  CK_RV rv = op_final_e(op);
  if (rv == CKR_OK) rv = sm2_verify_e(op->pkey, op->e, sig, siglen);
  op_reset(op);
  return rv;
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
               CK_ULONG ulSignatureLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  op_t *op = &s->verify;
  if (!op->active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pSignature || (!pData && ulDataLen)) rv = CKR_ARGUMENTS_BAD;
  else if (op->updated) rv = CKR_OPERATION_ACTIVE;
  else if (op->mech == CKM_SM2_RAW && ulDataLen != SM3_LEN) rv = CKR_DATA_LEN_RANGE;
  else rv = op_update(op, pData, ulDataLen);
  if (rv == CKR_OK) rv = verify_finish(op, pSignature, ulSignatureLen);
  else if (rv != CKR_OPERATION_NOT_INITIALIZED && rv != CKR_OPERATION_ACTIVE) op_reset(op);
  sess_release(s);
  return rv;
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen) {
  return update_in(hSession, verify_slot, pPart, ulPartLen);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  op_t *op = &s->verify;
  if (!op->active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pSignature) {
    rv = CKR_ARGUMENTS_BAD;
    op_reset(op);
  } else
    rv = verify_finish(op, pSignature, ulSignatureLen);
  sess_release(s);
  return rv;
}
