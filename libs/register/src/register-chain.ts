import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '@custodian/audit';

/**
 * The verifiable register (#24, docs/TRANSPARENCY.md). Pure functions shared by the service that
 * writes the log and the public verifier (`verify-register`): anyone can recompute them.
 *
 * Register log: entry n's hash = SHA-256(hash of entry n-1 | SHA-256(canonical JSON of line n)),
 * from 64 zeros. A line holds the release's fixed public facts (files with SHA-256 and sizes) and
 * the hash of the audit entry written in the same transaction.
 *
 * Checkpoint: the audit chain's length and head hash and the register log's length and head hash
 * at one moment, signed with the centre's Ed25519 key over `CHECKPOINT_CONTEXT` + canonical JSON.
 */
export const REGISTER_GENESIS = '0'.repeat(64);
export const CHECKPOINT_CONTEXT = 'custodian-register-checkpoint/v1\n';

export interface RegisterLogFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** A release's line. Written before decision lines existed, its JSON carries no `kind`. */
export interface RegisterLogLine {
  kind?: undefined;
  seq: number;
  releaseId: string;
  bidId: string;
  at: string;
  tier: string;
  legalBasis: string;
  datasets: string[];
  agreementReference: string | null;
  objectionsApplied: boolean;
  objectionsNote: string | null;
  files: RegisterLogFile[];
  /** The release's risk and linkage report under the small-number rule (null where none was made). */
  riskReport: Record<string, unknown> | null;
  /** The audit entry written with the line (release.completed): its id and hash. */
  audit: { id: string; hash: string };
}

/** An approval's line: the facts the public register shows for the decision, fixed when it is made. */
export interface DecisionLogLine {
  kind: 'decision';
  seq: number;
  bidId: string;
  at: string;
  organisation: string;
  organisationKind: string;
  title: string;
  purpose: string;
  tier: string;
  legalBasis: string;
  legalBasisReference: string | null;
  datasets: string[];
  /** The agreement offered with the approval (a bid has one offer). */
  agreementReference: string | null;
  /** The audit entry of the decision (bid.decide_approve): its id and hash. */
  audit: { id: string; hash: string };
}

/**
 * An approved amendment's line (#25): the facts of the new bid version and the agreement version
 * offered with it (`DSA-…-v2`), fixed when it is approved; one per agreement version after the first.
 */
export interface AmendmentLogLine extends Omit<DecisionLogLine, 'kind'> {
  kind: 'amendment';
  /** The bid version approved (2, 3, …). */
  version: number;
  scope: 'narrowing' | 'widening';
}

/** A line of the register log: a release's, a decision's or an amendment's. */
export type RegisterChainLine = RegisterLogLine | DecisionLogLine | AmendmentLogLine;

export interface CheckpointBody {
  at: string;
  auditLength: number;
  auditHead: string;
  registerLength: number;
  registerHead: string;
  keyId: string;
}

export interface SignedCheckpoint extends CheckpointBody {
  /** Ed25519 signature, base64. */
  signature: string;
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

export const lineHash = (line: RegisterChainLine): string => sha256(canonicalJson(line));

export const chainStep = (prevHash: string, lineHashHex: string): string =>
  sha256(`${prevHash}|${lineHashHex}`);

export function checkpointMessage(c: CheckpointBody): Buffer {
  const body: CheckpointBody = {
    at: c.at,
    auditLength: c.auditLength,
    auditHead: c.auditHead,
    registerLength: c.registerLength,
    registerHead: c.registerHead,
    keyId: c.keyId,
  };
  return Buffer.from(CHECKPOINT_CONTEXT + canonicalJson(body), 'utf8');
}

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  keyId: string;
}

/** The centre's signing key from its 32-byte seed (base64url). The private key is never logged or served. */
export function signingKeyFromSeed(seed: string): SigningKey {
  const raw = Buffer.from(seed, 'base64url');
  if (raw.length !== 32) throw new Error('register signing key: 32 bytes expected');
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  raw.fill(0);
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** First 16 hex digits of SHA-256 over the public key (SPKI DER). */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return sha256(key.export({ format: 'der', type: 'spki' })).slice(0, 16);
}

export function signCheckpoint(body: CheckpointBody, key: SigningKey): SignedCheckpoint {
  return { ...body, signature: sign(null, checkpointMessage(body), key.privateKey).toString('base64') };
}

export function checkpointSignatureValid(c: SignedCheckpoint, publicKeyPem: string): boolean {
  try {
    return verify(
      null,
      checkpointMessage(c),
      createPublicKey(publicKeyPem),
      Buffer.from(c.signature, 'base64'),
    );
  } catch {
    return false;
  }
}
