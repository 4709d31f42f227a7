/* Which attributes an object may have, their defaults, and how a new object's
 * attribute set is assembled from the caller's template and the module's own
 * values (generated or unwrapped key material). */
#include <string.h>

#include "hsm.h"

int attr_allowed(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE t);
int attr_allowed(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE t) {
  switch (t) {
    case CKA_CLASS: case CKA_TOKEN: case CKA_PRIVATE: case CKA_LABEL: case CKA_MODIFIABLE: case CKA_COPYABLE:
    case CKA_DESTROYABLE:
      return 1;
    default:
      break;
  }
  if (cls == CKO_CERTIFICATE) return 1; /* stored as given; we never interpret certificates */
  if (cls == CKO_DATA) return t == CKA_APPLICATION || t == CKA_OBJECT_ID || t == CKA_VALUE;
  switch (t) {
    case CKA_KEY_TYPE: case CKA_ID: case CKA_START_DATE: case CKA_END_DATE: case CKA_DERIVE: case CKA_LOCAL:
    case CKA_KEY_GEN_MECHANISM: case CKA_ALLOWED_MECHANISMS:
      return cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
    default:
      break;
  }
  switch (cls) {
    case CKO_PUBLIC_KEY:
      switch (t) {
        case CKA_SUBJECT: case CKA_ENCRYPT: case CKA_VERIFY: case CKA_VERIFY_RECOVER: case CKA_WRAP: case CKA_TRUSTED:
        case CKA_PUBLIC_KEY_INFO: case CKA_EC_PARAMS: case CKA_EC_POINT:
          return 1;
        default:
          return 0;
      }
    case CKO_PRIVATE_KEY:
      switch (t) {
        case CKA_SUBJECT: case CKA_SENSITIVE: case CKA_DECRYPT: case CKA_SIGN: case CKA_SIGN_RECOVER:
        case CKA_UNWRAP: case CKA_EXTRACTABLE: case CKA_ALWAYS_SENSITIVE: case CKA_NEVER_EXTRACTABLE:
        case CKA_WRAP_WITH_TRUSTED: case CKA_ALWAYS_AUTHENTICATE: case CKA_PUBLIC_KEY_INFO: case CKA_EC_PARAMS:
        case CKA_EC_POINT: case CKA_VALUE:
          return 1;
        default:
          return 0;
      }
    case CKO_SECRET_KEY:
      switch (t) {
        case CKA_SENSITIVE: case CKA_ENCRYPT: case CKA_DECRYPT: case CKA_SIGN: case CKA_VERIFY: case CKA_WRAP:
        case CKA_UNWRAP: case CKA_EXTRACTABLE: case CKA_ALWAYS_SENSITIVE: case CKA_NEVER_EXTRACTABLE:
        case CKA_CHECK_VALUE: case CKA_WRAP_WITH_TRUSTED: case CKA_TRUSTED: case CKA_VALUE: case CKA_VALUE_LEN:
          return 1;
        default:
          return 0;
      }
    default:
      return 0;
  }
}

static int module_owned(CK_ATTRIBUTE_TYPE t) {
  return t == CKA_LOCAL || t == CKA_ALWAYS_SENSITIVE || t == CKA_NEVER_EXTRACTABLE || t == CKA_KEY_GEN_MECHANISM;
}

static CK_RV defaults(attrs_t *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt) {
  static const CK_BBOOL F = CK_FALSE;
  CK_RV rv = CKR_OK;
#define B(t, v) \
  if (rv == CKR_OK) rv = attrs_set_bool(a, t, v)
#define E(t) \
  if (rv == CKR_OK) rv = attrs_set(a, t, &F, 0)
  if (rv == CKR_OK) rv = attrs_set_ulong(a, CKA_CLASS, cls);
  int secret = cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
  B(CKA_TOKEN, 0);
  B(CKA_PRIVATE, secret);
  B(CKA_MODIFIABLE, 1);
  B(CKA_COPYABLE, 1);
  B(CKA_DESTROYABLE, 1);
  E(CKA_LABEL);
  if (cls == CKO_PUBLIC_KEY || secret) {
    if (rv == CKR_OK) rv = attrs_set_ulong(a, CKA_KEY_TYPE, kt);
    E(CKA_ID);
    E(CKA_START_DATE);
    E(CKA_END_DATE);
    B(CKA_DERIVE, 0);
    B(CKA_LOCAL, 0);
    if (rv == CKR_OK) rv = attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
  }
  /* Usage flags default to what the key type can do; secrets default to
   * sensitive and non-extractable (the template must opt out). */
  if (cls == CKO_PUBLIC_KEY) {
    E(CKA_SUBJECT);
    B(CKA_ENCRYPT, 1);
    B(CKA_VERIFY, 1);
    B(CKA_VERIFY_RECOVER, 0);
    B(CKA_WRAP, 1);
    B(CKA_TRUSTED, 0);
  } else if (cls == CKO_PRIVATE_KEY) {
    E(CKA_SUBJECT);
    B(CKA_SENSITIVE, 1);
    B(CKA_DECRYPT, 1);
    B(CKA_SIGN, 1);
    B(CKA_SIGN_RECOVER, 0);
    B(CKA_UNWRAP, 1);
    B(CKA_EXTRACTABLE, 0);
    B(CKA_WRAP_WITH_TRUSTED, 0);
    B(CKA_ALWAYS_AUTHENTICATE, 0);
  } else if (cls == CKO_SECRET_KEY) {
    B(CKA_SENSITIVE, 1);
    B(CKA_ENCRYPT, 1);
    B(CKA_DECRYPT, 1);
    B(CKA_SIGN, 0);
    B(CKA_VERIFY, 0);
    B(CKA_WRAP, 1);
    B(CKA_UNWRAP, 1);
    B(CKA_EXTRACTABLE, 0);
    B(CKA_WRAP_WITH_TRUSTED, 0);
    B(CKA_TRUSTED, 0);
  }
  if ((cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY) && kt == CKK_SM2 && rv == CKR_OK)
    rv = attrs_set(a, CKA_EC_PARAMS, SM2_EC_PARAMS, sizeof SM2_EC_PARAMS);
  if (cls == CKO_SECRET_KEY && kt == CKK_SM4 && rv == CKR_OK) rv = attrs_set_ulong(a, CKA_VALUE_LEN, SM4_KEY_LEN);
#undef B
#undef E
  return rv;
}

/* Key material supplied through C_CreateObject is checked and normalised here:
 * EC points are stored as DER OCTET STRINGs, private keys get their point. */
static CK_RV check_material(attrs_t *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt) {
  attr_t *p = attrs_find(a, CKA_EC_PARAMS);
  if ((cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY) && kt == CKK_SM2 &&
      (!p || p->len != sizeof SM2_EC_PARAMS || memcmp(p->val, SM2_EC_PARAMS, sizeof SM2_EC_PARAMS)))
    return CKR_ATTRIBUTE_VALUE_INVALID;
  if (cls == CKO_PUBLIC_KEY) {
    if (kt != CKK_SM2) return CKR_ATTRIBUTE_VALUE_INVALID;
    attr_t *pt = attrs_find(a, CKA_EC_POINT);
    unsigned char pub[SM2_POINT_LEN], der[SM2_POINT_LEN + 2];
    if (!pt) return CKR_TEMPLATE_INCOMPLETE;
    if (!ec_point_decode(pt->val, pt->len, pub) || !sm2_point_valid(pub)) return CKR_ATTRIBUTE_VALUE_INVALID;
    ec_point_encode(pub, der);
    return attrs_set(a, CKA_EC_POINT, der, sizeof der);
  }
  if (cls == CKO_PRIVATE_KEY) {
    if (kt != CKK_SM2) return CKR_ATTRIBUTE_VALUE_INVALID;
    attr_t *v = attrs_find(a, CKA_VALUE);
    unsigned char pub[SM2_POINT_LEN], der[SM2_POINT_LEN + 2];
    if (!v) return CKR_TEMPLATE_INCOMPLETE;
    if (v->len != SM2_SCALAR_LEN) return CKR_ATTRIBUTE_VALUE_INVALID;
    CK_RV rv = sm2_point_from_scalar(v->val, pub);
    if (rv != CKR_OK) return rv;
    ec_point_encode(pub, der);
    return attrs_set(a, CKA_EC_POINT, der, sizeof der);
  }
  if (cls == CKO_SECRET_KEY) {
    attr_t *v = attrs_find(a, CKA_VALUE);
    if (!v) return CKR_TEMPLATE_INCOMPLETE;
    if (kt == CKK_SM4) {
      CK_ULONG vl = SM4_KEY_LEN;
      attrs_ulong(a, CKA_VALUE_LEN, &vl);
      if (v->len != SM4_KEY_LEN || vl != SM4_KEY_LEN) return CKR_ATTRIBUTE_VALUE_INVALID;
      return CKR_OK;
    }
    if (kt == CKK_GENERIC_SECRET) return attrs_set_ulong(a, CKA_VALUE_LEN, v->len);
    return CKR_ATTRIBUTE_VALUE_INVALID;
  }
  return CKR_OK;
}

CK_RV obj_build(session_t *s, const CK_ATTRIBUTE *t, CK_ULONG n, enum origin how, const attrs_t *mod,
                object_t **out) {
  CK_RV rv = tmpl_check_shapes(t, n);
  if (rv != CKR_OK) return rv;
  CK_ULONG cls = 0, kt = CK_UNAVAILABLE_INFORMATION, v;
  int have_cls = 0;
  if (mod && attrs_ulong(mod, CKA_CLASS, &cls)) have_cls = 1;
  if (tmpl_ulong(t, n, CKA_CLASS, &v)) {
    if (have_cls && v != cls) return CKR_TEMPLATE_INCONSISTENT;
    cls = v;
    have_cls = 1;
  }
  if (!have_cls) return CKR_TEMPLATE_INCOMPLETE;
  if (cls != CKO_DATA && cls != CKO_CERTIFICATE && cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY &&
      cls != CKO_SECRET_KEY)
    return CKR_ATTRIBUTE_VALUE_INVALID;
  int is_key = cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
  if (is_key) {
    int have_kt = mod && attrs_ulong(mod, CKA_KEY_TYPE, &kt);
    if (tmpl_ulong(t, n, CKA_KEY_TYPE, &v)) {
      if (have_kt && v != kt) return CKR_TEMPLATE_INCONSISTENT;
      kt = v;
      have_kt = 1;
    }
    if (!have_kt) return CKR_TEMPLATE_INCOMPLETE;
  }
  /* PKCS#11: only the SO may make a key trusted, i.e. fit to wrap keys marked CKA_WRAP_WITH_TRUSTED */
  if (tmpl_bool(t, n, CKA_TRUSTED, 0) && sess_slot(s)->login != CKU_SO) return CKR_ATTRIBUTE_READ_ONLY;
  for (CK_ULONG i = 0; i < n; i++) {
    if (!attr_allowed(cls, t[i].type)) return CKR_ATTRIBUTE_TYPE_INVALID;
    if (module_owned(t[i].type) && is_key) return CKR_ATTRIBUTE_READ_ONLY;
    if (how != ORIGIN_CREATE && is_key && (t[i].type == CKA_VALUE || t[i].type == CKA_EC_POINT))
      return CKR_TEMPLATE_INCONSISTENT;
    if (how != ORIGIN_CREATE && t[i].type == CKA_EC_PARAMS &&
        (t[i].ulValueLen != sizeof SM2_EC_PARAMS || memcmp(t[i].pValue, SM2_EC_PARAMS, sizeof SM2_EC_PARAMS)))
      return CKR_ATTRIBUTE_VALUE_INVALID;
    if (how != ORIGIN_CREATE && t[i].type == CKA_VALUE_LEN && kt == CKK_SM4 &&
        *(CK_ULONG *)t[i].pValue != SM4_KEY_LEN)
      return CKR_ATTRIBUTE_VALUE_INVALID;
  }
  object_t *o = obj_new();
  if (!o) return CKR_HOST_MEMORY;
  rv = defaults(&o->attrs, cls, kt);
  for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) rv = attrs_set(&o->attrs, t[i].type, t[i].pValue, t[i].ulValueLen);
  for (size_t i = 0; rv == CKR_OK && mod && i < mod->n; i++)
    rv = attrs_set(&o->attrs, mod->v[i].type, mod->v[i].val, mod->v[i].len);
  if (rv == CKR_OK && how == ORIGIN_CREATE && is_key) rv = check_material(&o->attrs, cls, kt);
  if (rv == CKR_OK && (cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY)) {
    int gen = how == ORIGIN_GENERATE;
    int sens = attrs_bool(&o->attrs, CKA_SENSITIVE, 1), extr = attrs_bool(&o->attrs, CKA_EXTRACTABLE, 0);
    rv = attrs_set_bool(&o->attrs, CKA_ALWAYS_SENSITIVE, gen && sens);
    if (rv == CKR_OK) rv = attrs_set_bool(&o->attrs, CKA_NEVER_EXTRACTABLE, gen && !extr);
  }
  if (rv == CKR_OK && is_key) rv = attrs_set_bool(&o->attrs, CKA_LOCAL, how == ORIGIN_GENERATE);
  if (rv != CKR_OK) {
    obj_free(o);
    return rv;
  }
  obj_sync_fields(o);
  o->slot = s->slot;
  *out = o;
  return CKR_OK;
}

/* Takes ownership of o: registered (and persisted) on success, freed on failure.
 * Global lock held. */
CK_RV obj_commit(session_t *s, object_t *o) {
  slot_t *sl = sess_slot(s);
  CK_RV rv = CKR_OK;
  if (o->token && !sess_rw(s)) rv = CKR_SESSION_READ_ONLY;
  else if (o->priv && !slot_user(sl)) rv = CKR_USER_NOT_LOGGED_IN;
  else if (o->token && !sl->initialized) rv = CKR_TOKEN_NOT_RECOGNIZED;
  if (rv == CKR_OK) rv = obj_register(o);
  if (rv != CKR_OK) {
    obj_free(o);
    return rv;
  }
  if (o->token) {
    rv = store_write_object(sl, o);
    if (rv != CKR_OK) {
      obj_unregister(o);
      obj_free(o);
      return rv;
    }
  } else {
    o->owner = s->handle;
  }
  return CKR_OK;
}
