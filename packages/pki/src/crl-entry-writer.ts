import {
  derIntegerContent,
  derTimeLength,
  TAG_INTEGER,
  TAG_SEQUENCE,
  writeDerGeneralizedTime,
  writeDerHeader,
  writeDerTime,
} from './crl-der-writer.ts';
import { CrlReason, isCrlReason } from './crl-reason.ts';
import { PkiError } from './pki-error.ts';

export interface CrlEntry {
  /** Non-negative; `Uint8Array` is the unsigned big-endian magnitude. */
  serial: bigint | Uint8Array;
  revocationDate: Date;
  /** Omitted or `unspecified` leaves the reasonCode extension out (RFC 5280 5.3.1). */
  reason?: CrlReason;
  invalidityDate?: Date;
}

// Extension { reasonCode 2.5.29.21, OCTET STRING { ENUMERATED r } } without the final octet.
const REASON_PREFIX = Buffer.from('300a0603551d1504030a01', 'hex');
// Extension { invalidityDate 2.5.29.24, OCTET STRING { GeneralizedTime } } without the time.
const INVALIDITY_PREFIX = Buffer.from('30180603551d180411', 'hex');
const REASON_LENGTH = REASON_PREFIX.length + 1;
const INVALIDITY_LENGTH = INVALIDITY_PREFIX.length + 17;
const MAX_SERIAL_OCTETS = 20;

// Entries are copied into large blocks so a million of them cost ~50 MB, not a million objects.
const BLOCK_SIZE = 1 << 20;
// Largest possible entry: 2 + (2 + 20) + 17 + 2 + 12 + 26 = 81 bytes.
const MAX_ENTRY_LENGTH = 96;

/**
 * Accumulates the DER of `revokedCertificates` entries. The SEQUENCE header can only be written
 * once the total length is known, so the builder asks for it at the end.
 */
export class CrlEntryWriter {
  private readonly blocks: Buffer[] = [];
  private block = Buffer.allocUnsafe(BLOCK_SIZE);
  private used = 0;
  private total = 0;
  private entries = 0;

  constructor(private readonly delta: boolean) {}

  get count(): number {
    return this.entries;
  }

  /** Content length of the revokedCertificates SEQUENCE so far. */
  get length(): number {
    return this.total;
  }

  add(entry: CrlEntry): void {
    const serial = derIntegerContent(entry.serial);
    if (serial.length > MAX_SERIAL_OCTETS) {
      throw new PkiError('CRL_INVALID_ENTRY', 'serial number longer than 20 octets');
    }
    const reason = entry.reason;
    if (reason !== undefined && !isCrlReason(reason)) {
      throw new PkiError('CRL_INVALID_ENTRY', `invalid reason code ${String(reason)}`);
    }
    if (reason === CrlReason.removeFromCRL && !this.delta) {
      throw new PkiError('CRL_INVALID_ENTRY', 'removeFromCRL is only allowed in delta CRLs');
    }
    const withReason = reason !== undefined && reason !== CrlReason.unspecified;
    const extensionsLength =
      (withReason ? REASON_LENGTH : 0) + (entry.invalidityDate ? INVALIDITY_LENGTH : 0);
    const contentLength =
      2 +
      serial.length +
      derTimeLength(entry.revocationDate) +
      (extensionsLength > 0 ? 2 + extensionsLength : 0);

    if (this.used + MAX_ENTRY_LENGTH > BLOCK_SIZE) this.nextBlock();
    const out = this.block;
    const start = this.used;
    let at = writeDerHeader(out, start, TAG_SEQUENCE, contentLength);
    at = writeDerHeader(out, at, TAG_INTEGER, serial.length);
    at += serial.copy(out, at);
    at = writeDerTime(out, at, entry.revocationDate);
    if (extensionsLength > 0) {
      at = writeDerHeader(out, at, TAG_SEQUENCE, extensionsLength);
      if (withReason) {
        at += REASON_PREFIX.copy(out, at);
        out[at++] = reason;
      }
      if (entry.invalidityDate) {
        at += INVALIDITY_PREFIX.copy(out, at);
        at = writeDerGeneralizedTime(out, at, entry.invalidityDate);
      }
    }
    this.used = at;
    this.total += at - start;
    this.entries++;
  }

  /** The encoded entries in order; the writer must not be used afterwards. */
  finish(): Buffer[] {
    if (this.used > 0) this.blocks.push(this.block.subarray(0, this.used));
    this.block = Buffer.alloc(0);
    this.used = 0;
    return this.blocks;
  }

  private nextBlock(): void {
    this.blocks.push(this.block.subarray(0, this.used));
    this.block = Buffer.allocUnsafe(BLOCK_SIZE);
    this.used = 0;
  }
}
