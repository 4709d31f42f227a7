/* Sessions, login state and PIN management. */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

/* A session is freed only when its last user releases it, so a thread inside
 * an operation never sees its session vanish under it. */
static htab_t stab;

void op_reset(op_t *op) {
  EVP_PKEY_free(op->pkey);
  EVP_MD_CTX_free(op->md);
  EVP_CIPHER_CTX_free(op->cctx);
  if (op->buf) {
    wipe(op->buf, op->blen);
    free(op->buf);
  }
  wipe(op, sizeof *op);
}

static void sess_free(session_t *s) {
  op_reset(&s->sign);
  op_reset(&s->verify);
  op_reset(&s->enc);
  op_reset(&s->dec);
  op_reset(&s->dig);
  free(s->found);
  EVP_PKEY_CTX_free(s->sign_ctx);
  EVP_PKEY_free(s->sign_ctx_key);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

size_t sess_span(void) { return stab.span; }
session_t *sess_at(size_t i) { return i < stab.span ? stab.ptr[i] : NULL; }

slot_t *sess_slot(const session_t *s) { return &g_slots[s->slot]; }
int sess_rw(const session_t *s) { return (s->flags & CKF_RW_SESSION) != 0; }
int slot_user(const slot_t *s) { return s->login == CKU_USER; }

CK_RV sess_acquire(CK_SESSION_HANDLE h, session_t **out) {
  LOCK();
  if (!g_ready) {
    UNLOCK();
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  session_t *s = ht_get(&stab, h);
  if (!s) {
    UNLOCK();
    return CKR_SESSION_HANDLE_INVALID;
  }
  s->refs++;
  UNLOCK();
  pthread_mutex_lock(&s->mu);
  if (s->closed) {
    sess_release(s);
    return CKR_SESSION_HANDLE_INVALID;
  }
  *out = s;
  return CKR_OK;
}

void sess_release(session_t *s) {
  pthread_mutex_unlock(&s->mu);
  LOCK();
  int last = --s->refs == 0 && s->closed;
  UNLOCK();
  if (last) sess_free(s);
}

static void slot_logout(slot_t *sl) {
  sl->login = CK_UNAVAILABLE_INFORMATION;
  sl->have_key = 0;
  wipe(sl->tkey, sizeof sl->tkey);
  store_seal_all(sl);
}

/* Global lock held. Session objects die with their session; the last
 * session on a slot takes the login with it (PKCS#11 semantics). */
static void close_locked(session_t *s) {
  if (s->closed) return;
  s->closed = 1;
  ht_del(&stab, s->handle);
  for (size_t i = 0; i < obj_span(); i++) {
    object_t *o = obj_at(i);
    if (o && !o->token && o->owner == s->handle) {
      obj_unregister(o);
      obj_free(o);
    }
  }
  int others = 0;
  for (size_t i = 0; i < sess_span(); i++) {
    session_t *x = sess_at(i);
    if (x && x->slot == s->slot) others = 1;
  }
  if (!others && s->slot < g_nslots) slot_logout(&g_slots[s->slot]);
}

void sess_close_all(void) {
  for (size_t i = 0; i < sess_span(); i++) {
    session_t *s = sess_at(i);
    if (!s) continue;
    close_locked(s);
    if (s->refs == 0) sess_free(s);
  }
  ht_clear(&stab);
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession) {
  (void)pApplication, (void)Notify;
  CK_RV rv = CKR_OK;
  LOCK();
  slot_t *sl = g_ready ? slot_get(slotID) : NULL;
  if (!g_ready) rv = CKR_CRYPTOKI_NOT_INITIALIZED;
  else if (!sl) rv = CKR_SLOT_ID_INVALID;
  else if (!phSession) rv = CKR_ARGUMENTS_BAD;
  else if (!(flags & CKF_SERIAL_SESSION)) rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
  if (rv == CKR_OK) rv = store_sync(sl);
  if (rv == CKR_OK && !(flags & CKF_RW_SESSION) && sl->login == CKU_SO) rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
  session_t *s = NULL;
  if (rv == CKR_OK && !(s = calloc(1, sizeof *s))) rv = CKR_HOST_MEMORY;
  if (rv == CKR_OK && !(s->handle = ht_add(&stab, s))) rv = CKR_HOST_MEMORY;
  if (rv == CKR_OK) {
    pthread_mutex_init(&s->mu, NULL);
    s->slot = slotID;
    s->flags = flags & (CKF_RW_SESSION | CKF_SERIAL_SESSION);
    *phSession = s->handle;
  } else {
    free(s);
  }
  UNLOCK();
  return rv;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  LOCK();
  close_locked(s);
  UNLOCK();
  sess_release(s);
  return CKR_OK;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID) {
  LOCK();
  CK_RV rv = !g_ready ? CKR_CRYPTOKI_NOT_INITIALIZED : !slot_get(slotID) ? CKR_SLOT_ID_INVALID : CKR_OK;
  for (size_t i = 0; rv == CKR_OK && i < sess_span(); i++) {
    session_t *s = sess_at(i);
    if (!s || s->slot != slotID) continue;
    close_locked(s);
    if (s->refs == 0) sess_free(s);
  }
  UNLOCK();
  return rv;
}

static CK_STATE sess_state(const session_t *s) {
  const slot_t *sl = sess_slot(s);
  if (sl->login == CKU_SO) return CKS_RW_SO_FUNCTIONS;
  if (sl->login == CKU_USER) return sess_rw(s) ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
  return sess_rw(s) ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!pInfo) rv = CKR_ARGUMENTS_BAD;
  else {
    LOCK();
    pInfo->slotID = s->slot;
    pInfo->state = sess_state(s);
    pInfo->flags = s->flags;
    pInfo->ulDeviceError = 0;
    UNLOCK();
  }
  sess_release(s);
  return rv;
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG_PTR pulOperationStateLen) {
  (void)hSession, (void)pOperationState, (void)pulOperationStateLen;
  return g_ready ? CKR_FUNCTION_NOT_SUPPORTED : CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState, CK_ULONG ulOperationStateLen,
                          CK_OBJECT_HANDLE hEncryptionKey, CK_OBJECT_HANDLE hAuthenticationKey) {
  (void)hSession, (void)pOperationState, (void)ulOperationStateLen, (void)hEncryptionKey,
      (void)hAuthenticationKey;
  return g_ready ? CKR_FUNCTION_NOT_SUPPORTED : CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  unsigned char tkey[TOKEN_KEY_LEN];
  LOCK();
  slot_t *sl = sess_slot(s);
  CK_RV synced = store_sync(sl);
  if (synced != CKR_OK) rv = synced;
  else if (userType != CKU_SO && userType != CKU_USER && userType != CKU_CONTEXT_SPECIFIC) rv = CKR_USER_TYPE_INVALID;
  else if (!pPin) rv = CKR_ARGUMENTS_BAD;
  else if (userType == CKU_CONTEXT_SPECIFIC) {
    if (sl->login != CKU_USER) rv = CKR_USER_NOT_LOGGED_IN;
    else rv = store_login_pin(sl, CKU_USER, pPin, ulPinLen, tkey);
  } else if (sl->login == userType) rv = CKR_USER_ALREADY_LOGGED_IN;
  else if (sl->login != CK_UNAVAILABLE_INFORMATION) rv = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
  else {
    if (userType == CKU_SO)
      for (size_t i = 0; i < sess_span(); i++) {
        session_t *o = sess_at(i);
        if (o && o->slot == s->slot && !sess_rw(o)) rv = CKR_SESSION_READ_ONLY_EXISTS;
      }
    if (rv == CKR_OK) rv = store_login_pin(sl, userType, pPin, ulPinLen, tkey);
    if (rv == CKR_OK) {
      sl->login = userType;
      memcpy(sl->tkey, tkey, TOKEN_KEY_LEN);
      sl->have_key = 1;
      store_unseal_all(sl);
    }
  }
  wipe(tkey, sizeof tkey);
  UNLOCK();
  sess_release(s);
  return rv;
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  LOCK();
  slot_t *sl = sess_slot(s);
  if (sl->login == CK_UNAVAILABLE_INFORMATION) rv = CKR_USER_NOT_LOGGED_IN;
  else slot_logout(sl);
  UNLOCK();
  sess_release(s);
  return rv;
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  LOCK();
  slot_t *sl = sess_slot(s);
  if (sl->login != CKU_SO || !sess_rw(s)) rv = CKR_USER_NOT_LOGGED_IN;
  else if (!pPin) rv = CKR_ARGUMENTS_BAD;
  else if (ulPinLen < MIN_PIN || ulPinLen > MAX_PIN) rv = CKR_PIN_LEN_RANGE;
  else rv = store_set_pin(sl, CKU_USER, pPin, ulPinLen, sl->tkey);
  UNLOCK();
  sess_release(s);
  return rv;
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin,
               CK_ULONG ulNewLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  unsigned char tkey[TOKEN_KEY_LEN];
  LOCK();
  slot_t *sl = sess_slot(s);
  CK_USER_TYPE who = sl->login == CKU_SO ? CKU_SO : CKU_USER;
  store_sync(sl);
  if (!pOldPin || !pNewPin) rv = CKR_ARGUMENTS_BAD;
  else if (!sess_rw(s)) rv = CKR_SESSION_READ_ONLY;
  else if (ulNewLen < MIN_PIN || ulNewLen > MAX_PIN) rv = CKR_PIN_LEN_RANGE;
  else rv = store_login_pin(sl, who, pOldPin, ulOldLen, tkey);
  if (rv == CKR_OK) rv = store_set_pin(sl, who, pNewPin, ulNewLen, tkey);
  wipe(tkey, sizeof tkey);
  UNLOCK();
  sess_release(s);
  return rv;
}
