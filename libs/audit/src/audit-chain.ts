import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth, so a jsonb round trip hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedFields {
  at: Date;
  actorId: string | null;
  actorRoles: string[];
  action: string;
  outcome: string;
  bidId: string | null;
  subjectType: string | null;
  subjectId: string | null;
  requestId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/** hash = SHA-256(previous hash | canonical entry): changing, removing or reordering any entry breaks every later link. */
export function chainHash(prevHash: string, e: ChainedFields): string {
  const body = canonicalJson([
    e.at.toISOString(),
    e.actorId,
    [...e.actorRoles].sort(),
    e.action,
    e.outcome,
    e.bidId,
    e.subjectType,
    e.subjectId,
    e.requestId,
    e.ip,
    e.details,
  ]);
  return createHash('sha256').update(prevHash).update('|').update(body).digest('hex');
}
