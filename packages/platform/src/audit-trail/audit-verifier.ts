import { type ParsedCertificate, parseCertificate, sm2Verifier, validateChain } from '@sm2ca/pki';
import { type Checkpoint, checkpointStatement } from './audit-checkpoint.ts';
import { type ChainLink, chainHash, GENESIS_HASH } from './audit-record.ts';

export interface AuditProblem {
  /** The chain position the problem is found at, when it has one. */
  seq?: number;
  auditId?: string;
  message: string;
}

export interface AuditTrust {
  /** Audit certificates by issuer id (DER). */
  auditCertificates: Map<string, Uint8Array>;
  /** Roots the audit certificates must chain to, and the CA certificates between. */
  trustAnchors: Uint8Array[];
  intermediates: Uint8Array[];
}

export interface VerifyInput extends AuditTrust {
  /** In chain order as stored; a database check starts at seq 1, an export wherever it starts. */
  links: AsyncIterable<ChainLink>;
  checkpoints: Checkpoint[];
  fromGenesis: boolean;
}

export interface VerifyReport {
  records: number;
  firstSeq: number | undefined;
  lastSeq: number;
  head: string;
  /** Checkpoints whose signature verified and whose head the chain matches. */
  checkpointsVerified: number;
  /** Chain problems first, in chain order: the first is the first broken record. */
  problems: AuditProblem[];
}

/** More problems than this are counted, not listed: the first is what an auditor starts from. */
const MAX_LISTED = 50;

/**
 * Recomputes the chain and checks it against the checkpoints whose signatures verify under an
 * audit certificate that chains to a trust anchor. An edited record no longer hashes to its
 * seal; a deleted, inserted or moved one breaks the seq run or the prev-hash links; a chain
 * recomputed after tampering no longer matches the signed head of the next checkpoint; one
 * truncated ends before the last checkpoint.
 */
export async function verifyAuditChain(input: VerifyInput): Promise<VerifyReport> {
  const signed = await signedCheckpoints(input);
  const problems: AuditProblem[] = [];
  let dropped = 0;
  const problem = (p: AuditProblem) => {
    if (problems.length < MAX_LISTED) problems.push(p);
    else dropped++;
  };
  const bySeq = new Map<number, Checkpoint[]>();
  for (const c of signed.valid) bySeq.set(c.seq, [...(bySeq.get(c.seq) ?? []), c]);

  let records = 0;
  let firstSeq: number | undefined;
  let expected = input.fromGenesis ? 1 : undefined;
  let head = input.fromGenesis ? GENESIS_HASH : undefined;
  /** The hash two positions back: a link pointing at it had a record inserted before it. */
  let before: string | undefined;
  let lastGoodCheckpoint = 0;
  let checkpointsVerified = 0;
  const checkHeadAt = (seq: number, hash: string) => {
    for (const c of bySeq.get(seq) ?? []) {
      if (c.head === hash) {
        checkpointsVerified++;
        lastGoodCheckpoint = seq;
      } else {
        problem({
          seq,
          message: `the checkpoint signed at ${c.at} holds another chain head at seq ${seq}: records ${lastGoodCheckpoint + 1}–${seq} were changed and the chain recomputed after it was signed`,
        });
      }
    }
  };
  if (input.fromGenesis) checkHeadAt(0, GENESIS_HASH);

  for await (const link of input.links) {
    records++;
    if (firstSeq === undefined) {
      firstSeq = link.seq;
      expected ??= link.seq;
      if (head === undefined) {
        // A part taken from the middle starts from the hash it says it follows; the chain's start from none.
        head = link.seq === 1 ? GENESIS_HASH : link.prevHash;
        lastGoodCheckpoint = link.seq - 1;
        checkHeadAt(link.seq - 1, head);
      }
    }
    const at = { seq: link.seq, auditId: link.auditId };
    if (link.seq !== expected) {
      problem({
        ...at,
        message:
          link.seq > (expected as number)
            ? `record${link.seq - 1 > (expected as number) ? `s ${expected}–${link.seq - 1} are` : ` ${expected} is`} missing before seq ${link.seq}: deleted`
            : `record seq ${link.seq} comes after seq ${(expected as number) - 1}: reordered or duplicated`,
      });
    } else if (link.prevHash !== head) {
      problem({
        ...at,
        message:
          link.prevHash === before
            ? `record seq ${link.seq - 1} was inserted: seq ${link.seq} follows the record before it`
            : `record seq ${link.seq} does not follow seq ${link.seq - 1}: a record before it was deleted, inserted or moved`,
      });
    }
    if (!link.record) {
      problem({ ...at, message: `record seq ${link.seq} (audit id ${link.auditId}) is missing: deleted` });
    } else if (chainHash(link.prevHash, link.seq, link.record) !== link.hash) {
      problem({
        ...at,
        message: `record seq ${link.seq} (audit id ${link.auditId}) does not match its seal: edited, or moved here from elsewhere`,
      });
    }
    before = head;
    head = link.hash;
    expected = link.seq + 1;
    checkHeadAt(link.seq, link.hash);
  }

  const lastSeq = expected === undefined ? 0 : expected - 1;
  const covered = Math.max(0, ...signed.valid.map((c) => c.seq));
  if (covered > lastSeq) {
    problem({
      seq: lastSeq + 1,
      message: `truncated: a signed checkpoint covers ${covered} records, the chain ends at seq ${lastSeq}`,
    });
  }
  for (const p of signed.problems) problem(p);
  if (dropped > 0) problems.push({ message: `… and ${dropped} more problems` });
  return {
    records,
    firstSeq,
    lastSeq,
    head: head ?? GENESIS_HASH,
    checkpointsVerified,
    problems,
  };
}

/** Checkpoints whose signature verifies under a trusted audit certificate valid when they were signed. */
async function signedCheckpoints(
  input: VerifyInput,
): Promise<{ valid: Checkpoint[]; problems: AuditProblem[] }> {
  const problems: AuditProblem[] = [];
  const valid: Checkpoint[] = [];
  const trusted = new Map<string, ParsedCertificate | undefined>();
  const certificateOf = async (issuerId: string, at: Date) => {
    if (!trusted.has(issuerId)) {
      const der = input.auditCertificates.get(issuerId);
      let certificate: ParsedCertificate | undefined;
      if (!der) {
        problems.push({ message: `checkpoints name audit certificate "${issuerId}", which is not there` });
      } else {
        try {
          certificate = parseCertificate(der);
          await validateChain(certificate, {
            trustAnchors: input.trustAnchors,
            intermediates: input.intermediates,
            at,
          });
        } catch (err) {
          problems.push({
            message: `audit certificate "${issuerId}" is not trusted: ${(err as Error).message}`,
          });
          certificate = undefined;
        }
      }
      trusted.set(issuerId, certificate);
    }
    return trusted.get(issuerId);
  };
  for (const checkpoint of input.checkpoints) {
    const at = new Date(checkpoint.at);
    const certificate = await certificateOf(checkpoint.issuerId, at);
    if (!certificate) continue;
    const label = `the checkpoint at seq ${checkpoint.seq} signed at ${checkpoint.at}`;
    if (Number.isNaN(at.getTime()) || at < certificate.notBefore || at > certificate.notAfter) {
      problems.push({
        seq: checkpoint.seq,
        message: `${label} is outside the validity of audit certificate "${checkpoint.issuerId}"`,
      });
      continue;
    }
    const ok = await sm2Verifier.verify(
      certificate.spki,
      checkpointStatement(checkpoint),
      Buffer.from(checkpoint.signature, 'hex'),
    );
    if (ok) valid.push(checkpoint);
    else {
      problems.push({
        seq: checkpoint.seq,
        message: `${label}: its signature does not verify under audit certificate "${checkpoint.issuerId}" (forged)`,
      });
    }
  }
  return { valid, problems };
}
