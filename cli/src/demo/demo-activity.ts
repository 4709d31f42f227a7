import { AppError } from '@sm2ca/platform';
import { demoDevice, demoOrganisation, demoPerson, type HolderKeys, randomSource } from './demo-holders.ts';

type HolderType = 'person' | 'organisation' | 'device';
type Purpose = 'signature' | 'encryption';
type Call = (
  as: Role,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
) => Promise<Record<string, unknown>>;
export type Role = 'clerk' | 'reviewer' | 'maker';

export interface DemoOptions {
  start: Date;
  days: number;
  perDay: number;
  seed: number;
}

interface Counted {
  issued: number;
  revoked: number;
  renewed: number;
}

/** What the run did, as the services answered it: what the report must find again. */
export interface DemoTally {
  from: string;
  to: string;
  applications: {
    received: number;
    decided: number;
    decidedOnTime: number;
    rejected: number;
    undecided: number;
  };
  certificates: Record<HolderType | Purpose | 'total', Counted>;
  freezes: number;
  unfreezes: number;
  crlCheckpoints: number;
}

interface Held {
  issuerId: string;
  serial: string;
  holderType: HolderType;
  key: string;
  state: 'good' | 'hold' | 'gone';
}

interface Event {
  at: number;
  order: number;
  run: () => Promise<void>;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const cst = (day: Date, hours: number) => day.getTime() - 8 * HOUR + hours * HOUR;

/**
 * A history of ordinary CA days, driven through the RA as its operators would: holders enter
 * applications in office hours, reviewers decide (now and then late or by refusal), makers issue;
 * some certificates are renewed with the same key, frozen and released, or revoked; the CRL
 * service publishes a full CRL each day. The clock is moved before every step.
 */
export async function populate(
  options: DemoOptions,
  deps: {
    call: Call;
    crlEvidence: () => Promise<CrlEvidence>;
    keys: HolderKeys;
    setClock: (at: Date) => void;
    log: (line: string) => void;
  },
): Promise<DemoTally> {
  const random = randomSource(options.seed);
  const { call, keys } = deps;
  const end = options.start.getTime() + options.days * DAY;
  const counted = (): Counted => ({ issued: 0, revoked: 0, renewed: 0 });
  const tally: DemoTally = {
    from: options.start.toISOString(),
    to: new Date(end).toISOString(),
    applications: { received: 0, decided: 0, decidedOnTime: 0, rejected: 0, undecided: 0 },
    certificates: {
      person: counted(),
      organisation: counted(),
      device: counted(),
      signature: counted(),
      encryption: counted(),
      total: counted(),
    },
    freezes: 0,
    unfreezes: 0,
    crlCheckpoints: 0,
  };
  const count = (holderType: HolderType, purpose: Purpose, field: keyof Counted) => {
    for (const key of [holderType, purpose, 'total'] as const) tally.certificates[key][field]++;
  };

  // The clock only moves forward: steps at the same instant run on real time from the last one.
  let setAt = options.start.getTime();
  let setReal = Date.now();
  const moveTo = (at: number) => {
    const now = setAt + (Date.now() - setReal);
    if (at > now) {
      deps.setClock(new Date(at));
      setAt = at;
      setReal = Date.now();
    }
  };

  const queue: Event[] = [];
  let order = 0;
  const schedule = (at: number, run: () => Promise<void>) => {
    if (at < end) queue.push({ at, order: order++, run });
  };
  const held: Held[] = [];
  const good = () => held.filter((h) => h.state === 'good');
  let n = 0;

  const review = async (id: string, approve: boolean) => {
    const decided = await call(
      'reviewer',
      'POST',
      `/v1/applications/${id}/review`,
      approve ? { decision: 'approve' } : { decision: 'reject', reason: 'identity documents incomplete' },
    );
    tally.applications.undecided--;
    tally.applications.decided++;
    if (Date.parse(decided.reviewedAt as string) <= Date.parse(decided.deadline as string)) {
      tally.applications.decidedOnTime++;
    }
    if (!approve) tally.applications.rejected++;
  };
  const issue = async (id: string, holderType: HolderType, key: string, dual: boolean, renewal: boolean) => {
    const issued = await call('maker', 'POST', `/v1/applications/${id}/issue`);
    count(holderType, 'signature', 'issued');
    if (renewal) count(holderType, 'signature', 'renewed');
    if (dual) count(holderType, 'encryption', 'issued');
    if ((issued.supersession as { status?: string } | undefined)?.status === 'done') {
      count(holderType, 'signature', 'revoked');
    }
    // Only single certificates are renewed, frozen or revoked here: a dual pair's twin follows
    // its own rules, which the tally would have to guess.
    if (!dual) {
      held.push({
        issuerId: issued.issuerId as string,
        serial: issued.serial as string,
        holderType,
        key,
        state: 'good',
      });
    }
  };
  const decideLater = (entered: number, then: () => Promise<void>) => {
    const late = random() < 0.05;
    schedule(entered + (late ? 15 * DAY + random() * DAY : HOUR + random() * 5 * HOUR), then);
  };

  const enter = async () => {
    const roll = random();
    const holderType: HolderType = roll < 0.6 ? 'person' : roll < 0.85 ? 'organisation' : 'device';
    const holder =
      holderType === 'person'
        ? demoPerson(random, ++n)
        : holderType === 'organisation'
          ? demoOrganisation(random, ++n)
          : demoDevice(++n);
    const profile = { person: 'person-sign', organisation: 'organization-sign', device: 'device-sign' }[
      holderType
    ];
    const dual = holderType !== 'device' && random() < 0.4;
    const key = keys.newKey();
    const entered = await call('clerk', 'POST', '/v1/applications', {
      holderType,
      profile,
      holder,
      csr: keys.csr(key),
      publishConsent: false,
      ...(dual ? { dual: true } : {}),
    });
    tally.applications.received++;
    tally.applications.undecided++;
    const id = entered.id as string;
    const approve = random() >= 0.05;
    decideLater(Date.parse(entered.enteredAt as string), async () => {
      await review(id, approve);
      if (approve) await issue(id, holderType, key, dual, false);
    });
  };

  const renew = async () => {
    const candidates = good();
    if (candidates.length === 0) return;
    const old = candidates[Math.floor(random() * candidates.length)]!;
    const renewal = await call('clerk', 'POST', '/v1/renewals', {
      issuerId: old.issuerId,
      serial: old.serial,
      csr: keys.csr(old.key),
    });
    tally.applications.received++;
    tally.applications.undecided++;
    old.state = 'gone';
    const id = renewal.id as string;
    schedule(Date.parse(renewal.enteredAt as string) + 2 * HOUR, async () => {
      await review(id, true);
      await issue(id, old.holderType, old.key, false, true);
    });
  };

  const revocation = async (path: string, target: Held, reason?: string) => {
    const requested = await call('clerk', 'POST', path, {
      issuerId: target.issuerId,
      serial: target.serial,
      requestedBy: 'holder, at the counter',
      ...(reason ? { reason } : {}),
    });
    await call('reviewer', 'POST', `/v1/revocations/${requested.id as string}/review`, {
      decision: 'approve',
    });
  };
  const revoke = async () => {
    const candidates = good();
    if (candidates.length === 0) return;
    const target = candidates[Math.floor(random() * candidates.length)]!;
    target.state = 'gone';
    const reasons = ['keyCompromise', 'affiliationChanged', 'cessationOfOperation'];
    await revocation('/v1/revocations', target, reasons[Math.floor(random() * reasons.length)]);
    count(target.holderType, 'signature', 'revoked');
  };
  const freeze = async (at: number) => {
    const candidates = good();
    if (candidates.length === 0) return;
    const target = candidates[Math.floor(random() * candidates.length)]!;
    target.state = 'hold';
    await revocation('/v1/freezes', target);
    tally.freezes++;
    if (random() < 0.6) {
      schedule(at + DAY + random() * 2 * DAY, async () => {
        await revocation('/v1/unfreezes', target);
        target.state = 'good';
        tally.unfreezes++;
      });
    }
  };

  for (let d = 0; d < options.days; d++) {
    const day = new Date(options.start.getTime() + d * DAY);
    const dow = new Date(cst(day, 12) + 8 * HOUR).getUTCDay();
    // Weekends are quiet: a few applications, as a self-service counter would take.
    const applications = dow === 0 || dow === 6 ? Math.floor(options.perDay / 3) : options.perDay;
    for (let i = 0; i < applications; i++) schedule(cst(day, 9 + random() * 8), enter);
    if (random() < 0.15) schedule(cst(day, 10 + random() * 6), renew);
    if (random() < 0.2) schedule(cst(day, 10 + random() * 6), revoke);
    if (random() < 0.1) {
      const at = cst(day, 10 + random() * 6);
      schedule(at, () => freeze(at));
    }
  }

  let nextCrl = await crlDueAt(deps.crlEvidence);
  while (queue.length > 0 || nextCrl < end) {
    queue.sort((a, b) => a.at - b.at || a.order - b.order);
    const event = queue[0];
    if (nextCrl < end && (!event || nextCrl <= event.at)) {
      moveTo(nextCrl);
      nextCrl = await crlPublished(deps.crlEvidence, nextCrl);
      tally.crlCheckpoints++;
      deps.log(`${new Date(nextCrl).toISOString().slice(0, 10)} CRL`);
      continue;
    }
    queue.shift();
    moveTo(event!.at);
    await event!.run();
  }
  return tally;
}

export interface CrlEvidence {
  issuers: { lastThisUpdate: string | null }[];
}

/** When the earliest issuer's next full CRL is due: 23 hours after its last (a daily cycle). */
async function crlDueAt(crlEvidence: () => Promise<CrlEvidence>): Promise<number> {
  const evidence = await crlEvidence();
  const last = evidence.issuers.map((i) => (i.lastThisUpdate ? Date.parse(i.lastThisUpdate) : 0));
  return Math.min(...last) + 23 * HOUR + 5_000;
}

/** Waits until every issuer has a full CRL from at or after `due`; answers when the next is due. */
async function crlPublished(crlEvidence: () => Promise<CrlEvidence>, due: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const next = await crlDueAt(crlEvidence);
    if (next - 23 * HOUR - 5_000 >= due - 10_000) return next;
    if (Date.now() > deadline) {
      throw new AppError(
        'DEMO_CRL_LATE',
        'the CRL service published no full CRL within 30 s of its due time',
        500,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
