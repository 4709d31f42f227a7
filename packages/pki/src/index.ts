export * from './pki-error.ts';
export * from './signer.ts';
