/* C_Encrypt* / C_Decrypt*: SM2 (GM/T 0009 DER ciphertext) and SM4-ECB/CBC without padding. */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

static CK_RV crypt_init(session_t *s, op_t *op, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hKey, int enc) {
  if (!m) return CKR_ARGUMENTS_BAD;
  if (op->active) return CKR_OPERATION_ACTIVE;
  CK_MECHANISM_TYPE t = m->mechanism;
  if (t != CKM_SM2_ENC && t != CKM_SM4_ECB && t != CKM_SM4_CBC) return CKR_MECHANISM_INVALID;
  CK_RV rv = CKR_OK;
  if (t == CKM_SM2_ENC) {
    if (m->ulParameterLen) return CKR_MECHANISM_PARAM_INVALID;
  } else {
    rv = sm4_mech_iv(m, op->iv);
    if (rv != CKR_OK) return rv;
  }
  object_t *o;
  EVP_PKEY *pk = NULL;
  LOCK();
  rv = obj_lookup(s, hKey, CKR_KEY_HANDLE_INVALID, &o);
  if (rv == CKR_OK) {
    if (t == CKM_SM2_ENC)
      rv = enc ? key_check(o, CKO_PUBLIC_KEY, CKK_SM2, CKA_ENCRYPT) : key_check(o, CKO_PRIVATE_KEY, CKK_SM2, CKA_DECRYPT);
    else
      rv = key_check(o, CKO_SECRET_KEY, CKK_SM4, enc ? CKA_ENCRYPT : CKA_DECRYPT);
  }
  if (rv == CKR_OK && t == CKM_SM2_ENC) {
    pk = obj_pkey(o);
    if (!pk) rv = CKR_KEY_TYPE_INCONSISTENT;
    else EVP_PKEY_up_ref(pk);
  }
  if (rv == CKR_OK && t != CKM_SM2_ENC) rv = key_sm4_value(o, op->key);
  UNLOCK();
  if (rv == CKR_OK && t != CKM_SM2_ENC) rv = sm4_ctx(enc, t, op->key, op->iv, &op->cctx);
  if (rv != CKR_OK) {
    EVP_PKEY_free(pk);
    op_reset(op);
    return rv;
  }
  op->pkey = pk;
  op->mech = t;
  op->active = 1;
  return CKR_OK;
}

/* Single-part. SM2 output is randomised, so a result that did not fit is kept
 * and handed out on the retry instead of encrypting again. */
static CK_RV crypt_once(op_t *op, int enc, const unsigned char *in, size_t inlen, unsigned char *out,
                        CK_ULONG_PTR outlen) {
  CK_RV rv;
  if (op->mech != CKM_SM2_ENC) {
    if (inlen % SM4_BLOCK) rv = enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    else rv = out_len_check(out, outlen, inlen);
    if (rv != CKR_OK || !out) return rv;
    rv = sm4_oneshot(enc, op->mech, op->key, op->iv, in, inlen, out);
    if (rv == CKR_OK) *outlen = inlen;
    return rv;
  }
  if (!op->buf) {
    size_t need = 0;
    rv = enc ? sm2_encrypt(op->pkey, in, inlen, NULL, &need) : sm2_decrypt(op->pkey, in, inlen, NULL, &need);
    if (rv != CKR_OK) return rv;
    if (!out) {
      *outlen = need;
      return CKR_OK;
    }
    if (!(op->buf = malloc(need ? need : 1))) return CKR_HOST_MEMORY;
    op->blen = need;
    rv = enc ? sm2_encrypt(op->pkey, in, inlen, op->buf, &op->blen) : sm2_decrypt(op->pkey, in, inlen, op->buf, &op->blen);
    if (rv != CKR_OK) return rv;
  }
  rv = out_len_check(out, outlen, op->blen);
  if (rv != CKR_OK || !out) return rv;
  memcpy(out, op->buf, op->blen);
  *outlen = op->blen;
  return CKR_OK;
}

static CK_RV do_once(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR in, CK_ULONG inlen, CK_BYTE_PTR out, CK_ULONG_PTR outlen) {
  session_t *s;
  CK_RV rv = sess_acquire(h, &s);
  if (rv != CKR_OK) return rv;
  op_t *op = enc ? &s->enc : &s->dec;
  if (!op->active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!outlen || (!in && inlen)) rv = CKR_ARGUMENTS_BAD;
  else if (op->updated) rv = CKR_OPERATION_ACTIVE;
  else {
    rv = crypt_once(op, enc, in, inlen, out, outlen);
    if ((rv == CKR_OK && !out) || rv == CKR_BUFFER_TOO_SMALL) {
      sess_release(s);
      return rv;
    }
  }
  if (rv != CKR_OPERATION_NOT_INITIALIZED && rv != CKR_OPERATION_ACTIVE) op_reset(op);
  sess_release(s);
  return rv;
}

static CK_RV do_update(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR in, CK_ULONG inlen, CK_BYTE_PTR out,
                       CK_ULONG_PTR outlen) {
  session_t *s;
  CK_RV rv = sess_acquire(h, &s);
  if (rv != CKR_OK) return rv;
  op_t *op = enc ? &s->enc : &s->dec;
  if (!op->active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!outlen || (!in && inlen)) rv = CKR_ARGUMENTS_BAD;
  else if (op->mech == CKM_SM2_ENC) rv = CKR_FUNCTION_NOT_SUPPORTED;
  else if (inlen > 0x7fffff00) rv = CKR_DATA_LEN_RANGE;
  else {
    /* op->blen counts bytes EVP is holding back for the next block */
    size_t need = ((op->blen + inlen) / SM4_BLOCK) * SM4_BLOCK;
    rv = out_len_check(out, outlen, need);
    if (rv != CKR_OK || !out) {
      sess_release(s);
      return rv;
    }
    int l = 0;
    if (inlen && EVP_CipherUpdate(op->cctx, out, &l, in, (int)inlen) != 1) rv = CKR_FUNCTION_FAILED;
    else {
      *outlen = (CK_ULONG)l;
      op->blen = (op->blen + inlen) % SM4_BLOCK;
      op->updated = 1;
    }
  }
  if (rv != CKR_OK && rv != CKR_OPERATION_NOT_INITIALIZED && rv != CKR_FUNCTION_NOT_SUPPORTED) op_reset(op);
  sess_release(s);
  return rv;
}

static CK_RV do_final(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR out, CK_ULONG_PTR outlen) {
  session_t *s;
  CK_RV rv = sess_acquire(h, &s);
  if (rv != CKR_OK) return rv;
  op_t *op = enc ? &s->enc : &s->dec;
  if (!op->active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!outlen) rv = CKR_ARGUMENTS_BAD;
  else if (op->mech == CKM_SM2_ENC) rv = CKR_FUNCTION_NOT_SUPPORTED;
  else if (op->blen) rv = enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
  else if (!out) {
    *outlen = 0;
    sess_release(s);
    return CKR_OK;
  } else
    *outlen = 0;
  if (rv != CKR_OPERATION_NOT_INITIALIZED) op_reset(op);
  sess_release(s);
  return rv;
}

/* Encrypt and decrypt start alike; only the session's operation slot differs. */
static CK_RV init_in(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey, int encrypting) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  rv = crypt_init(s, encrypting ? &s->enc : &s->dec, pMechanism, hKey, encrypting);
  sess_release(s);
  return rv;
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey) {
  return init_in(hSession, pMechanism, hKey, 1);
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pEncryptedData,
                CK_ULONG_PTR pulEncryptedDataLen) {
  return do_once(hSession, 1, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen);
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                      CK_ULONG_PTR pulEncryptedPartLen) {
  return do_update(hSession, 1, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen);
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart, CK_ULONG_PTR pulLastEncryptedPartLen) {
  return do_final(hSession, 1, pLastEncryptedPart, pulLastEncryptedPartLen);
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey) {
  return init_in(hSession, pMechanism, hKey, 0);
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData,
                CK_ULONG_PTR pulDataLen) {
  return do_once(hSession, 0, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen);
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen,
                      CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen) {
  return do_update(hSession, 0, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen);
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen) {
  return do_final(hSession, 0, pLastPart, pulLastPartLen);
}
