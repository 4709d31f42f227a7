/* Object table (process-stable handles) and the object-management entry points. */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

static htab_t tab;

object_t *obj_new(void) { return calloc(1, sizeof(object_t)); }

void obj_free(object_t *o) {
  if (!o) return;
  attrs_free(&o->attrs);
  EVP_PKEY_free(o->pkey);
  free(o);
}

CK_RV obj_register(object_t *o) {
  o->handle = ht_add(&tab, o);
  return o->handle ? CKR_OK : CKR_HOST_MEMORY;
}

void obj_unregister(object_t *o) {
  if (ht_get(&tab, o->handle) == o) ht_del(&tab, o->handle);
}

object_t *obj_get(CK_OBJECT_HANDLE h) { return ht_get(&tab, h); }

/* Iteration: for (i = 0; i < obj_span(); i++) if ((o = obj_at(i))) ... */
size_t obj_span(void) { return tab.span; }
object_t *obj_at(size_t i) { return i < tab.span ? tab.ptr[i] : NULL; }

/* Used by C_Finalize: everything goes. */
void obj_table_reset(void);
void obj_table_reset(void) {
  for (size_t i = 0; i < tab.span; i++) obj_free(tab.ptr[i]);
  ht_clear(&tab);
}

void obj_sync_fields(object_t *o) {
  CK_ULONG v;
  if (attrs_ulong(&o->attrs, CKA_CLASS, &v)) o->cls = v;
  if (attrs_ulong(&o->attrs, CKA_KEY_TYPE, &v)) o->ktype = v;
  o->priv = attrs_bool(&o->attrs, CKA_PRIVATE, o->priv);
  o->token = attrs_bool(&o->attrs, CKA_TOKEN, o->token);
}

static int is_key_with_value(const object_t *o) { return o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY; }

int obj_attr_sealed(const object_t *o, CK_ATTRIBUTE_TYPE t) {
  if (t == CKA_CLASS || t == CKA_TOKEN || t == CKA_PRIVATE) return 0;
  if (o->priv) return 1;
  return is_key_with_value(o) && t == CKA_VALUE;
}

int obj_attr_sensitive(const object_t *o, CK_ATTRIBUTE_TYPE t) {
  if (!is_key_with_value(o) || t != CKA_VALUE) return 0;
  return attrs_bool(&o->attrs, CKA_SENSITIVE, 1) || !attrs_bool(&o->attrs, CKA_EXTRACTABLE, 0);
}

void obj_drop_secrets(object_t *o) {
  EVP_PKEY_free(o->pkey);
  o->pkey = NULL;
  for (size_t i = 0; i < o->attrs.n;) {
    if (obj_attr_sealed(o, o->attrs.v[i].type)) attrs_remove(&o->attrs, o->attrs.v[i].type);
    else i++;
  }
}

EVP_PKEY *obj_pkey(object_t *o) {
  if (o->pkey || o->ktype != CKK_SM2 || o->sealed) return o->pkey;
  unsigned char pub[SM2_POINT_LEN];
  attr_t *pt = attrs_find(&o->attrs, CKA_EC_POINT);
  if (!pt || !ec_point_decode(pt->val, pt->len, pub)) return NULL;
  const unsigned char *priv = NULL;
  if (o->cls == CKO_PRIVATE_KEY) {
    attr_t *v = attrs_find(&o->attrs, CKA_VALUE);
    if (!v || v->len != SM2_SCALAR_LEN) return NULL;
    priv = v->val;
  }
  o->pkey = sm2_pkey(priv, pub);
  return o->pkey;
}

int obj_visible(const object_t *o, const session_t *s) {
  if (o->slot != s->slot) return 0;
  if (o->priv && !slot_user(sess_slot(s))) return 0;
  return 1;
}

CK_RV obj_lookup(session_t *s, CK_OBJECT_HANDLE h, CK_RV invalid, object_t **out) {
  object_t *o = obj_get(h);
  if (!o || !obj_visible(o, s)) return invalid;
  *out = o;
  return CKR_OK;
}

/* ---- entry points ---- */

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                     CK_OBJECT_HANDLE_PTR phObject) {
  session_t *s;
  if (!phObject || (ulCount && !pTemplate)) return g_ready ? CKR_ARGUMENTS_BAD : CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  object_t *o = NULL;
  LOCK();
  rv = obj_build(s, pTemplate, ulCount, ORIGIN_CREATE, NULL, &o);
  if (rv == CKR_OK) rv = obj_commit(s, o);
  if (rv == CKR_OK) *phObject = o->handle;
  UNLOCK();
  sess_release(s);
  return rv;
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                   CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject) {
  (void)hSession, (void)hObject, (void)pTemplate, (void)ulCount, (void)phNewObject;
  return g_ready ? CKR_FUNCTION_NOT_SUPPORTED : CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  object_t *o;
  LOCK();
  rv = obj_lookup(s, hObject, CKR_OBJECT_HANDLE_INVALID, &o);
  if (rv == CKR_OK && o->token && !sess_rw(s)) rv = CKR_SESSION_READ_ONLY;
  if (rv == CKR_OK && !attrs_bool(&o->attrs, CKA_DESTROYABLE, 1)) rv = CKR_ACTION_PROHIBITED;
  if (rv == CKR_OK && o->token) rv = store_delete_object(sess_slot(s), o);
  if (rv == CKR_OK) {
    obj_unregister(o);
    obj_free(o);
  }
  UNLOCK();
  sess_release(s);
  return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize) {
  session_t *s;
  if (!pulSize) return g_ready ? CKR_ARGUMENTS_BAD : CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  object_t *o;
  LOCK();
  rv = obj_lookup(s, hObject, CKR_OBJECT_HANDLE_INVALID, &o);
  if (rv == CKR_OK) *pulSize = CK_UNAVAILABLE_INFORMATION;
  UNLOCK();
  sess_release(s);
  return rv;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                          CK_ULONG ulCount) {
  session_t *s;
  if (ulCount && !pTemplate) return g_ready ? CKR_ARGUMENTS_BAD : CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  object_t *o;
  LOCK();
  rv = obj_lookup(s, hObject, CKR_OBJECT_HANDLE_INVALID, &o);
  if (rv == CKR_OK) {
    /* every entry is processed; the first problem found is what we report */
    for (CK_ULONG i = 0; i < ulCount; i++) {
      CK_ATTRIBUTE *t = &pTemplate[i];
      CK_RV e = CKR_OK;
      attr_t *a = attrs_find(&o->attrs, t->type);
      if (obj_attr_sensitive(o, t->type) || (o->sealed && obj_attr_sealed(o, t->type)))
        e = CKR_ATTRIBUTE_SENSITIVE;
      else if (!a)
        e = CKR_ATTRIBUTE_TYPE_INVALID;
      else if (!t->pValue)
        t->ulValueLen = a->len;
      else if (t->ulValueLen < a->len)
        e = CKR_BUFFER_TOO_SMALL;
      else {
        memcpy(t->pValue, a->val, a->len);
        t->ulValueLen = a->len;
      }
      if (e != CKR_OK) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        if (rv == CKR_OK) rv = e;
      }
    }
  }
  UNLOCK();
  sess_release(s);
  return rv;
}

int attr_allowed(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE t);

static CK_RV settable(const object_t *o, const CK_ATTRIBUTE *t) {
  if (!attr_allowed(o->cls, t->type)) return CKR_ATTRIBUTE_TYPE_INVALID;
  switch (t->type) {
    case CKA_LABEL: case CKA_ID: case CKA_SUBJECT: case CKA_START_DATE: case CKA_END_DATE:
    case CKA_ENCRYPT: case CKA_DECRYPT: case CKA_WRAP: case CKA_UNWRAP: case CKA_SIGN: case CKA_VERIFY:
    case CKA_DERIVE: case CKA_SIGN_RECOVER: case CKA_VERIFY_RECOVER: case CKA_APPLICATION: case CKA_OBJECT_ID:
    case CKA_ALLOWED_MECHANISMS:
      return CKR_OK;
    case CKA_VALUE:
      return (o->cls == CKO_DATA) ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    case CKA_SENSITIVE: /* may only become stricter */
      return (*(CK_BBOOL *)t->pValue || !attrs_bool(&o->attrs, CKA_SENSITIVE, 1)) ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    case CKA_EXTRACTABLE:
      return (!*(CK_BBOOL *)t->pValue || attrs_bool(&o->attrs, CKA_EXTRACTABLE, 0)) ? CKR_OK
                                                                                     : CKR_ATTRIBUTE_READ_ONLY;
    case CKA_WRAP_WITH_TRUSTED: /* may only become stricter */
      return (*(CK_BBOOL *)t->pValue || !attrs_bool(&o->attrs, CKA_WRAP_WITH_TRUSTED, 0)) ? CKR_OK
                                                                                           : CKR_ATTRIBUTE_READ_ONLY;
    default:
      return CKR_ATTRIBUTE_READ_ONLY;
  }
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                          CK_ULONG ulCount) {
  session_t *s;
  if (ulCount && !pTemplate) return g_ready ? CKR_ARGUMENTS_BAD : CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  object_t *o;
  attrs_t backup = {0};
  LOCK();
  rv = obj_lookup(s, hObject, CKR_OBJECT_HANDLE_INVALID, &o);
  if (rv == CKR_OK) rv = tmpl_check_shapes(pTemplate, ulCount);
  if (rv == CKR_OK && o->token && !sess_rw(s)) rv = CKR_SESSION_READ_ONLY;
  if (rv == CKR_OK && o->sealed) rv = CKR_USER_NOT_LOGGED_IN;
  if (rv == CKR_OK && !attrs_bool(&o->attrs, CKA_MODIFIABLE, 1)) rv = CKR_ACTION_PROHIBITED;
  for (CK_ULONG i = 0; rv == CKR_OK && i < ulCount; i++) rv = settable(o, &pTemplate[i]);
  for (size_t i = 0; rv == CKR_OK && i < o->attrs.n; i++)
    rv = attrs_set(&backup, o->attrs.v[i].type, o->attrs.v[i].val, o->attrs.v[i].len);
  for (CK_ULONG i = 0; rv == CKR_OK && i < ulCount; i++)
    rv = attrs_set(&o->attrs, pTemplate[i].type, pTemplate[i].pValue, pTemplate[i].ulValueLen);
  if (rv == CKR_OK && o->token) {
    rv = store_write_object(sess_slot(s), o);
    if (rv != CKR_OK) {
      attrs_free(&o->attrs);
      o->attrs = backup;
      memset(&backup, 0, sizeof backup);
    }
  }
  attrs_free(&backup);
  UNLOCK();
  sess_release(s);
  return rv;
}

static int matches(const object_t *o, const CK_ATTRIBUTE *t, CK_ULONG n) {
  for (CK_ULONG i = 0; i < n; i++) {
    if (obj_attr_sensitive(o, t[i].type)) return 0;
    attr_t *a = attrs_find(&o->attrs, t[i].type);
    if (!a || a->len != t[i].ulValueLen) return 0;
    if (a->len && memcmp(a->val, t[i].pValue, a->len)) return 0;
  }
  return 1;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount) {
  session_t *s;
  if (ulCount && !pTemplate) return g_ready ? CKR_ARGUMENTS_BAD : CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (s->finding) {
    sess_release(s);
    return CKR_OPERATION_ACTIVE;
  }
  for (CK_ULONG i = 0; i < ulCount; i++)
    if (pTemplate[i].ulValueLen && !pTemplate[i].pValue) {
      sess_release(s);
      return CKR_ATTRIBUTE_VALUE_INVALID;
    }
  LOCK();
  slot_t *sl = sess_slot(s);
  store_sync(sl);
  size_t span = obj_span();
  s->found = malloc((span ? span : 1) * sizeof(CK_OBJECT_HANDLE));
  s->nfound = s->pos = 0;
  if (!s->found) rv = CKR_HOST_MEMORY;
  for (size_t i = 0; rv == CKR_OK && i < span; i++) {
    object_t *o = obj_at(i);
    if (!o || !obj_visible(o, s) || (o->sealed && o->priv)) continue;
    if (matches(o, pTemplate, ulCount)) s->found[s->nfound++] = o->handle;
  }
  if (rv == CKR_OK) s->finding = 1;
  UNLOCK();
  sess_release(s);
  return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount,
                    CK_ULONG_PTR pulObjectCount) {
  session_t *s;
  if (!phObject || !pulObjectCount) return g_ready ? CKR_ARGUMENTS_BAD : CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!s->finding) {
    rv = CKR_OPERATION_NOT_INITIALIZED;
  } else {
    CK_ULONG n = 0;
    while (n < ulMaxObjectCount && s->pos < s->nfound) phObject[n++] = s->found[s->pos++];
    *pulObjectCount = n;
  }
  sess_release(s);
  return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!s->finding) rv = CKR_OPERATION_NOT_INITIALIZED;
  free(s->found);
  s->found = NULL;
  s->finding = 0;
  sess_release(s);
  return rv;
}
