import pkcs11 from 'pkcs11js';
import { ecParams } from './spki.ts';
import type { VendorTable } from './vendor-table.ts';

export interface KeyOptions {
  label: string;
  id?: Uint8Array;
  /** Token object (persistent, the default) or session object (gone when the device closes). */
  token?: boolean;
  /** Whether the key may leave the device wrapped. Default false. */
  extractable?: boolean;
  /**
   * A private key that may leave the device only wrapped under a key the security officer made trusted
   * (CKA_EXTRACTABLE with CKA_WRAP_WITH_TRUSTED): a service key that can be backed up under split
   * custody, never by the user PIN alone. Overrides `extractable`. Default false.
   */
  backup?: boolean;
  /**
   * Whether the pair may also encrypt and wrap (public) and decrypt and unwrap (private): an encryption or
   * key-transport key. Default false, a signing key that does nothing else — and said so explicitly, since
   * a token may default CKA_DECRYPT and CKA_UNWRAP to true.
   */
  decrypt?: boolean;
  /**
   * For a secret key: a key-encryption key that wraps and unwraps keys and never encrypts or decrypts
   * data, so nothing but a key's value can pass through it. Default false.
   */
  wrapOnly?: boolean;
}

function common(cls: number, keyType: number, options: KeyOptions): pkcs11.Template {
  const template: pkcs11.Template = [
    { type: pkcs11.CKA_CLASS, value: cls },
    { type: pkcs11.CKA_KEY_TYPE, value: keyType },
    { type: pkcs11.CKA_TOKEN, value: options.token ?? true },
    { type: pkcs11.CKA_LABEL, value: options.label },
  ];
  if (options.id) template.push({ type: pkcs11.CKA_ID, value: Buffer.from(options.id) });
  return template;
}

export function publicKeyTemplate(
  vendor: VendorTable,
  options: KeyOptions,
  forKeyGen: boolean,
): pkcs11.Template {
  const template = [
    ...common(pkcs11.CKO_PUBLIC_KEY, vendor.keyTypes.ec, options),
    { type: pkcs11.CKA_PRIVATE, value: false },
    { type: pkcs11.CKA_VERIFY, value: true },
  ];
  const decrypt = options.decrypt ?? false;
  template.push(
    { type: pkcs11.CKA_ENCRYPT, value: decrypt && vendor.mechanisms.encrypt !== null },
    { type: pkcs11.CKA_WRAP, value: decrypt && vendor.mechanisms.wrapSecret !== null },
  );
  if (!forKeyGen || vendor.quirks.ecParamsInKeyGen) {
    template.push({ type: pkcs11.CKA_EC_PARAMS, value: ecParams(vendor.curveOid) });
  }
  return template;
}

export function privateKeyTemplate(vendor: VendorTable, options: KeyOptions): pkcs11.Template {
  const template = [
    ...common(pkcs11.CKO_PRIVATE_KEY, vendor.keyTypes.ec, options),
    { type: pkcs11.CKA_PRIVATE, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_EXTRACTABLE, value: (options.backup ?? false) || (options.extractable ?? false) },
    { type: pkcs11.CKA_SIGN, value: true },
  ];
  if (options.backup) template.push({ type: pkcs11.CKA_WRAP_WITH_TRUSTED, value: true });
  const decrypt = options.decrypt ?? false;
  template.push(
    { type: pkcs11.CKA_DECRYPT, value: decrypt && vendor.mechanisms.encrypt !== null },
    { type: pkcs11.CKA_UNWRAP, value: decrypt && vendor.mechanisms.wrapSecret !== null },
  );
  return template;
}

export function secretKeyTemplate(
  vendor: VendorTable,
  options: KeyOptions,
  forKeyGen: boolean,
): pkcs11.Template {
  const template = [
    ...common(pkcs11.CKO_SECRET_KEY, vendor.keyTypes.secret, options),
    { type: pkcs11.CKA_PRIVATE, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_EXTRACTABLE, value: options.extractable ?? false },
    { type: pkcs11.CKA_ENCRYPT, value: !options.wrapOnly },
    { type: pkcs11.CKA_DECRYPT, value: !options.wrapOnly },
    { type: pkcs11.CKA_WRAP, value: true },
    { type: pkcs11.CKA_UNWRAP, value: true },
  ];
  // Said explicitly: a token may default a MAC-capable key type to CKA_SIGN.
  if (options.wrapOnly) {
    template.push({ type: pkcs11.CKA_SIGN, value: false }, { type: pkcs11.CKA_VERIFY, value: false });
  }
  if (forKeyGen && vendor.secretKeyValueLen !== null) {
    template.push({ type: pkcs11.CKA_VALUE_LEN, value: vendor.secretKeyValueLen });
  }
  return template;
}
