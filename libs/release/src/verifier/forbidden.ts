import { createHmac } from 'node:crypto';
import { PERSON_FIELDS } from '@custodian/catalog';
import type { Tier } from '@custodian/catalog';
import type { ReleaseKeys } from '../keys';
import type { ReleaseSpec } from '../release.types';
import { EpikeySample } from './epikey-sample';
import { IdSet } from './id-set';
import { auditSample } from './suppression-audit';
import { fail } from './verification-failure';
import {
  bidKeySealed,
  consentCohort,
  epikeysOfPersons,
  hesKeysOf,
  mislinkedPersons,
  objectorsAt,
  sampledEpikeys,
  SOURCE_ROWS,
  VerifierDb,
} from './verifier-sql';

/** Persons sampled for the recomputation of their keyed episode keys (`sampledEpikeys`). */
const EPIKEY_SAMPLE = 1000;

/** Who may not appear in a release's files, as identifiers of its tier (`verify-release.ts` reads it once). */

export interface Forbidden {
  /** Identifiers (as released in this tier) of persons that must not appear. */
  blocked: IdSet;
  /** Where only a consent cohort may appear: its identifiers. */
  allowed?: Set<string>;
  /**
   * HES episode keys of rows whose own NHS number is an objector's (linked or not), as this tier
   * releases them: as held (identifiable), keyed under the bid's source row key (pseudonymised), or
   * under the release's (anonymised, 128 bits).
   */
  blockedEpikeys?: Set<string>;
  /**
   * Per HES / social-care file with a person column: the persons (as this tier identifies them)
   * whom linkage gave an objector's row, and the most rows the file may hold for each (their own
   * rows; one in a file of a row per person). More means an objector's row is among them.
   */
  mislinked?: Record<string, Map<string, number>>;
  /**
   * A HES file with a person column and `epikey`: sampled persons (as this tier identifies them)
   * and the keys of every row the file may show as theirs, keyed as the tier keys them.
   */
  epikeysOf?: Map<string, Set<string>>;
  /** A HES file with `epikey` and no person column: episodes of persons drawn from the ledger, keyed (probe 42). */
  epikeySample?: EpikeySample;
  /**
   * The anonymised tier's suppression audit: per dataset, persons of the release sampled from its
   * ledger (as the tier identifies them) → whether they have rows of it that may leave.
   */
  audit?: {
    /** The drawn persons. */
    drawn: IdSet;
    /** Per dataset, whether each drawn person has rows of it that may leave (read in `snapshot`). */
    rows: (snapshot: VerifierDb) => Promise<Record<string, Map<string, boolean>>>;
  };
  /**
   * Identifiable and pseudonymised tiers: persons drawn from the release's ledger (`released`), as
   * this tier identifies them, and those of them the files show (`seen`, filled as they are read).
   * Every one must be in a file: an id under another key (another bid's: the files joinable with
   * its files, and an objector's id not the one looked for) or a person the release never selected
   * in their place is caught (probe 33).
   */
  ledger?: { released: IdSet; seen: Set<string> };
  description: string;
}

/**
 * SPEC §5 step 2 from the SPEC: record-level tiers never hold a Type 1 objector; they hold no
 * active Type 2 objector unless the legal basis is a public health emergency, statutory, or consent
 * (where consent overrides it); consent (or a consent-cohort spec) allows only the cohort. The NHS
 * numbers become the tier's identifiers here: the NHS number itself; HMAC-SHA256 under the bid key;
 * HMAC under the release's token seed, truncated to 128 bits.
 */
export async function forbiddenIdentities(
  db: VerifierDb,
  bidId: string,
  snapshotAt: string,
  spec: ReleaseSpec,
  tier: Tier,
  seedSealed: Buffer | null,
  releaseId: string,
  keys: ReleaseKeys,
  /** Where objections, the consent cohort and HES keys are read: the release's data snapshot if given. */
  data: VerifierDb = db,
  /**
   * Persons drawn from the release's ledger (`drawFromLedger`): for the suppression audit
   * (anonymised), else for the check that the files show them (`ledger`).
   */
  auditDrawn?: string[],
): Promise<Forbidden | undefined> {
  if (tier === 'aggregate') return undefined;
  const consent = spec.legalBasis === 'consent' || spec.consentCohort === true;
  const type2 = !['public_health_emergency', 'statutory', 'consent'].includes(spec.legalBasis);
  const nhs = await objectorsAt(data, snapshotAt, type2 ? ['type1', 'type2'] : ['type1']);
  const cohort = consent ? await consentCohort(data, bidId) : undefined;
  let toId: (n: string) => string = (n) => n;
  let key: Buffer | undefined;
  if (tier === 'pseudonymised') {
    const sealed = await bidKeySealed(db, bidId);
    if (!sealed) return fail('identities', 'the bid has no pseudonymisation key');
    key = keys.open(sealed, `bid:${bidId}`);
    toId = (n) => createHmac('sha256', key!).update(n).digest('hex');
  } else if (tier === 'anonymised') {
    if (!seedSealed) return fail('identities', 'the release has no token seed');
    key = keys.open(seedSealed, `release:${releaseId}`);
    toId = (n) => createHmac('sha256', key!).update(n).digest('hex').slice(0, 32);
  }
  try {
    // A HES row is excluded by its own NHS number too, whoever it is linked to (SPEC §5 step 2): its
    // episode key, keyed as the tier keys it (the field's name in the message), tells it in any tier.
    let blockedEpikeys: Set<string> | undefined;
    let epikeysOf: Map<string, Set<string>> | undefined;
    let epikeySample: EpikeySample | undefined;
    const hes = spec.datasets.find((d) => d.dataset === 'hes' && d.fields.includes('epikey'));
    if (hes) {
      const held = await hesKeysOf(data, nhs, hes.fields.includes('nhs_number'));
      const sample = hes.fields.includes('nhs_number') ? await sampledEpikeys(data, EPIKEY_SAMPLE) : [];
      const rowKey = key && keys.sourceRowKeyOf(key);
      const keyed = (k: string) => {
        if (!rowKey) return k;
        const mac = createHmac('sha256', rowKey).update(`epikey:${k}`).digest('hex');
        return tier === 'anonymised' ? mac.slice(0, 32) : mac;
      };
      try {
        blockedEpikeys = new Set(held.map(keyed));
        const blocked = new Set(nhs);
        epikeysOf = new Map(
          sample.filter((p) => !blocked.has(p.nhs)).map((p) => [toId(p.nhs), new Set(p.keys.map(keyed))]),
        );
        if (rowKey && !hes.fields.includes('nhs_number') && auditDrawn?.length) {
          const range = { from: spec.cohort?.eventsFrom, to: spec.cohort?.eventsTo };
          const drawnKeys = await epikeysOfPersons(data, auditDrawn, nhs, range);
          epikeySample = new EpikeySample(new Set(drawnKeys.map(keyed)), tier === 'pseudonymised');
        }
      } finally {
        rowKey?.fill(0);
      }
    }
    // Rows of an objector's NHS number linked to someone else, in any tier and any file with a
    // person column, epikey or not: that person may hold no more rows than their own.
    const mislinked: Record<string, Map<string, number>> = {};
    for (const d of spec.datasets) {
      if (!(d.dataset in SOURCE_ROWS) || !d.fields.includes('nhs_number')) continue;
      const range = { from: spec.cohort?.eventsFrom, to: spec.cohort?.eventsTo };
      const shown = await mislinkedPersons(data, d.dataset as keyof typeof SOURCE_ROWS, nhs, range);
      // A file of a row per person (no event field) holds a person once, if they have a row.
      const perPerson = d.fields.every((f) => PERSON_FIELDS.has(f));
      mislinked[d.dataset] = new Map(
        shown.map((p) => [toId(p.nhs), perPerson ? Math.min(p.rows, 1) : p.rows]),
      );
    }
    // The suppression audit: the drawn persons as this tier identifies them now (the key is open);
    // who of them has rows is looked up while the files are read (`rows`, in the snapshot).
    let audit: Forbidden['audit'];
    if (tier === 'anonymised' && auditDrawn) {
      const range = { from: spec.cohort?.eventsFrom, to: spec.cohort?.eventsTo };
      const idOf = new Map(auditDrawn.map((n) => [n, toId(n)]));
      const datasets = spec.datasets.map((d) => d.dataset);
      audit = {
        drawn: new IdSet(idOf.values()),
        rows: async (snapshot) => {
          const sample = await auditSample(snapshot, auditDrawn, datasets, nhs, range);
          return Object.fromEntries(
            Object.entries(sample).map(([d, m]) => [d, new Map([...m].map(([n, r]) => [idOf.get(n)!, r]))]),
          );
        },
      };
    }
    const ledger =
      tier !== 'anonymised' && auditDrawn?.length
        ? { released: new IdSet(auditDrawn.map(toId)), seen: new Set<string>() }
        : undefined;
    return {
      audit,
      ledger,
      blocked: new IdSet(nhs.map(toId)),
      blockedEpikeys,
      epikeysOf,
      epikeySample,
      mislinked,
      allowed: cohort ? new Set(cohort.map(toId)) : undefined,
      description: `no ${type2 ? 'Type 1 or active Type 2' : 'Type 1'} objector at the snapshot${
        consent ? ', and only the consent cohort,' : ''
      } in any file (by ${tier === 'identifiable' ? 'NHS number' : tier === 'pseudonymised' ? 'pseudo_id recomputed under the bid key' : 'person_token recomputed under the release seed'})`,
    };
  } finally {
    key?.fill(0);
  }
}
