/* SM3 digest entry points (C_Digest*). */
#include "hsm.h"

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!pMechanism) rv = CKR_ARGUMENTS_BAD;
  else if (s->dig.active) rv = CKR_OPERATION_ACTIVE;
  else if (pMechanism->mechanism != CKM_SM3) rv = CKR_MECHANISM_INVALID;
  else if (pMechanism->ulParameterLen) rv = CKR_MECHANISM_PARAM_INVALID;
  else if (!(s->dig.md = EVP_MD_CTX_new())) rv = CKR_HOST_MEMORY;
  else if (EVP_DigestInit_ex(s->dig.md, sm3_md(), NULL) != 1) rv = CKR_FUNCTION_FAILED;
  if (rv == CKR_OK) {
    s->dig.active = 1;
    s->dig.mech = CKM_SM3;
  } else if (rv != CKR_OPERATION_ACTIVE) {
    op_reset(&s->dig);
  }
  sess_release(s);
  return rv;
}

static CK_RV finish(session_t *s, CK_BYTE_PTR out, CK_ULONG_PTR outlen) {
  CK_RV rv = out_len_check(out, outlen, SM3_LEN);
  if (rv != CKR_OK || !out) return rv; /* length query or too small: operation stays active */
  unsigned int l = 0;
  rv = EVP_DigestFinal_ex(s->dig.md, out, &l) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
  *outlen = SM3_LEN;
  op_reset(&s->dig);
  return rv;
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pDigest,
               CK_ULONG_PTR pulDigestLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!s->dig.active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pulDigestLen || (!pData && ulDataLen)) rv = CKR_ARGUMENTS_BAD;
  else if (s->dig.updated) rv = CKR_OPERATION_ACTIVE;
  else if (pDigest && *pulDigestLen >= SM3_LEN && ulDataLen && EVP_DigestUpdate(s->dig.md, pData, ulDataLen) != 1)
    rv = CKR_FUNCTION_FAILED;
  if (rv == CKR_OK) rv = finish(s, pDigest, pulDigestLen);
  else if (rv != CKR_OPERATION_NOT_INITIALIZED && rv != CKR_OPERATION_ACTIVE) op_reset(&s->dig);
  sess_release(s);
  return rv;
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!s->dig.active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pPart && ulPartLen) rv = CKR_ARGUMENTS_BAD;
  else if (ulPartLen && EVP_DigestUpdate(s->dig.md, pPart, ulPartLen) != 1) rv = CKR_FUNCTION_FAILED;
  if (rv == CKR_OK) s->dig.updated = 1;
  else if (rv != CKR_OPERATION_NOT_INITIALIZED) op_reset(&s->dig);
  sess_release(s);
  return rv;
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!s->dig.active) rv = CKR_OPERATION_NOT_INITIALIZED;
  else if (!pulDigestLen) rv = CKR_ARGUMENTS_BAD;
  else rv = finish(s, pDigest, pulDigestLen);
  sess_release(s);
  return rv;
}
