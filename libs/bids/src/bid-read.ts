import { ORGANISATIONS_SOURCE } from '@custodian/identity';
import type { DataSource, EntityManager } from 'typeorm';
import { NotFoundError } from '@custodian/core';
import type { visibleBidsWhere } from './bid-access';
import { Agreement, Bid } from './bid.entity';
import { BIDS_ERRORS } from './bids.errors';
import type { AgreementDto, BidDto, PendingAmendmentDto } from './dto';

/**
 * How a bid is read back and answered: the bid with the agreement of its version in force and its
 * pending amendment, in one query, and the mapping to the API's BidDto. Used by every bid answer.
 */
export type BidWithAgreement = Bid & {
  agreement: Agreement | null;
  /** The open amendment that has left draft, if any (#25). */
  pendingAmendment?: PendingAmendmentDto | null;
  /** The applicant organisation's name and kind (read with the bid, for the people who may read it). */
  organisationName?: string;
  organisationKind?: string;
};
export interface BidPage {
  items: Readonly<BidWithAgreement>[];
  total: number;
}

/**
 * A bid's (`b`) agreement for the version in force: its latest (an amendment's agreement offered and
 * not yet accepted is not it; it shows under `pendingAmendment`).
 */
export const LATEST_AGREEMENT = `SELECT * FROM agreements a WHERE a.bid_id = b.id AND a.bid_version = b.version ORDER BY a.version DESC LIMIT 1`;

/** The bid's (`b`) open amendment once submitted (a draft is its applicant's alone: GET …/amendments). */
const PENDING_AMENDMENT = `(SELECT json_build_object('version', v.version, 'state', v.state, 'scope', v.scope)
     FROM bid_versions v WHERE v.bid_id = b.id AND v.state IN ('submitted','returned','in_review','approved'))`;

export const toAgreementResponse = (a: Agreement): AgreementDto => ({
  reference: a.reference,
  version: a.version,
  status: a.status,
  tier: a.tier,
  durationMonths: a.durationMonths,
  conditions: a.conditions,
  startDate: a.startDate,
  endDate: a.endDate,
});

export const toBidResponse = (b: BidWithAgreement): BidDto => ({
  id: b.id,
  organisationId: b.organisationId,
  createdBy: b.createdBy,
  state: b.state,
  title: b.title,
  purpose: b.purpose,
  publicBenefit: b.publicBenefit,
  legalBasis: b.legalBasis,
  legalBasisReference: b.legalBasisReference,
  requestedTier: b.requestedTier,
  grantedTier: b.grantedTier,
  datasets: b.datasets,
  cohort: b.cohort,
  aggregation: b.aggregation,
  durationMonths: b.durationMonths,
  recipients: b.recipients,
  conditions: b.conditions,
  cohortSize: b.cohortSize,
  version: b.version,
  pendingAmendment: b.pendingAmendment ?? null,
  agreement: b.agreement ? toAgreementResponse(b.agreement) : null,
  organisation: {
    name: b.organisationName ?? '',
    kind: b.organisationKind ?? '',
    commercial: b.organisationKind === 'commercial',
  },
  createdAt: b.createdAt,
  updatedAt: b.updatedAt,
  submittedAt: b.submittedAt,
  decidedAt: b.decidedAt,
});

const selectLists = new WeakMap<DataSource, string>();

/**
 * The select list of a bid (`b`) and its agreement (`a`), from the entities' own column metadata,
 * so a raw query yields the same properties as the ORM would (dates as YYYY-MM-DD text, as TypeORM
 * gives them); `bidFromRow` splits a row back into the two.
 */
export function bidColumns(db: DataSource): string {
  let select = selectLists.get(db);
  if (!select) {
    const list = (entity: typeof Bid | typeof Agreement, alias: string, prefix: string) =>
      db
        .getMetadata(entity)
        .columns.map(
          (c) =>
            `${alias}.${c.databaseName}${c.type === 'date' ? '::text' : ''} AS "${prefix}${c.propertyName}"`,
        );
    const org = (column: string, as: string) =>
      `(SELECT o.${column} FROM ${ORGANISATIONS_SOURCE} o WHERE o.id = b.organisation_id) AS "${as}"`;
    select = [
      ...list(Bid, 'b', ''),
      ...list(Agreement, 'a', 'agreement.'),
      org('name', 'organisationName'),
      org('kind::text', 'organisationKind'),
      `${PENDING_AMENDMENT} AS "pendingAmendment"`,
    ].join(', ');
    selectLists.set(db, select);
  }
  return select;
}

export function bidFromRow(row: Record<string, unknown>): BidWithAgreement {
  const bid: Record<string, unknown> = {};
  const agreement: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('agreement.')) agreement[k.slice(10)] = v;
    else if (k !== 'total' && k !== 'ord') bid[k] = v;
  }
  return {
    ...(bid as unknown as Bid),
    agreement: agreement.id ? (agreement as unknown as Agreement) : null,
  };
}

/** The bid with its agreement in force, read in `em` (within `scope` when given; 404 otherwise). */
export async function readBidRow(
  db: DataSource,
  em: EntityManager,
  id: string,
  scope?: ReturnType<typeof visibleBidsWhere>,
): Promise<BidWithAgreement> {
  const [row] = await em.query(
    `SELECT ${bidColumns(db)} FROM bids b LEFT JOIN LATERAL (${LATEST_AGREEMENT}) a ON true
      WHERE b.id = $1${scope ? ` AND ${scope.sql}` : ''}`,
    [id, ...(scope?.params ?? [])],
  );
  if (!row) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
  return bidFromRow(row);
}
