import {
  chainStep,
  checkpointSignatureValid,
  keyIdOf,
  lineHash,
  REGISTER_GENESIS,
  type AmendmentLogLine,
  type DecisionLogLine,
  type RegisterChainLine,
  type RegisterLogLine,
  type SignedCheckpoint,
} from './register-chain';

/**
 * `verify-register` (#24): what anyone can check of a deployment's register with its public routes
 * only (docs/TRANSPARENCY.md). `get` fetches a path under the deployment (JSON). Checks:
 *
 * 1. the current checkpoint and every kept one are signed by the published key;
 * 2. the register log recomputes: each line's hash, each link, one entry per position from 1;
 * 3. every checkpoint is consistent with the log as it stands: the log's head at the checkpoint's
 *    length is the checkpoint's head (so each later checkpoint extends every earlier one), and
 *    lengths never go back;
 * 4. every checkpoint's audit head is still the audit chain's hash at that position;
 * 5. each line's audit entry still has the hash the line recorded, and the next entry links to it;
 *    (the register shows the bid's latest agreement, so its reference is not compared: the log keeps
 *    the one the release was made under)
 * 6. every line of the public register, a release's, a decision's or an amendment's, is a log line
 *    with the same facts, and every log line is on the register.
 */
export interface RegisterVerification {
  ok: boolean;
  problems: string[];
  checked: { checkpoints: number; lines: number; registerLines: number };
  checkpoint?: SignedCheckpoint;
}

type Get = (path: string) => Promise<unknown>;

interface Page<T> {
  items: T[];
  total: number;
}

interface LogEntry {
  seq: number;
  line: RegisterChainLine;
  lineHash: string;
  prevHash: string;
  hash: string;
  auditHashNow: string | null;
  auditNextPrevHash: string | null;
}

interface RegisterLine {
  type: string;
  releaseId: string | null;
  bidId: string;
  organisation: string;
  organisationKind: string;
  title: string;
  purpose: string;
  tier: string;
  legalBasis: string;
  legalBasisReference: string | null;
  datasets: string[];
  agreementReference: string | null;
  objectionsApplied: boolean;
  files: { name: string; bytes: number; sha256: string }[];
  registerSeq: number | null;
}

async function allPages<T>(get: Get, path: string): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; ; page++) {
    const p = (await get(`${path}?page=${page}&limit=500`)) as Page<T>;
    out.push(...p.items);
    if (!p.items.length || out.length >= p.total) return out;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export async function verifyRegister(get: Get): Promise<RegisterVerification> {
  const problems: string[] = [];
  const key = (await get('/api/register/public-key')) as { keyId: string; publicKey: string };
  if (keyIdOf(key.publicKey) !== key.keyId) problems.push('public key: its key id does not match the key');
  // The current checkpoint first: the log read afterwards must contain it.
  const current = (await get('/api/register/checkpoint')) as SignedCheckpoint;
  const kept = await allPages<SignedCheckpoint & { id: string }>(get, '/api/register/checkpoints');
  const log = await allPages<LogEntry>(get, '/api/register/log');
  const register = (await get('/api/register')) as RegisterLine[];

  // 1. Signatures.
  const checkpoints: (SignedCheckpoint & { id?: string })[] = [...kept, current];
  for (const c of checkpoints) {
    const name = c.id ? `checkpoint ${c.id}` : 'current checkpoint';
    if (c.keyId !== key.keyId || !checkpointSignatureValid(c, key.publicKey))
      problems.push(`${name}: signature does not verify with the published key`);
  }

  // 2. The log, recomputed.
  const heads: string[] = [REGISTER_GENESIS]; // heads[n]: the log's head after n lines
  log.forEach((e, i) => {
    const at = `register log line ${i + 1}`;
    if (e.seq !== i + 1 || e.line.seq !== i + 1) problems.push(`${at}: out of sequence`);
    if (lineHash(e.line) !== e.lineHash) problems.push(`${at}: its content does not match its hash`);
    if (e.prevHash !== heads[i]) problems.push(`${at}: does not link to the line before`);
    const h = chainStep(heads[i], lineHash(e.line));
    if (h !== e.hash) problems.push(`${at}: chain hash does not recompute`);
    heads.push(h);
  });

  // 3. Consistency of every checkpoint with the log, and of each with the one before.
  let before: SignedCheckpoint | undefined;
  for (const c of checkpoints) {
    const name = 'id' in c && c.id ? `checkpoint ${c.id}` : 'current checkpoint';
    if (c.registerLength > log.length)
      problems.push(`${name}: covers more register lines than the log holds`);
    else if (heads[c.registerLength] !== c.registerHead)
      problems.push(
        `${name}: the register log does not extend it (head at line ${c.registerLength} differs)`,
      );
    if (before && (c.registerLength < before.registerLength || c.auditLength < before.auditLength))
      problems.push(`${name}: shorter than the checkpoint before it`);
    before = c;
  }

  // 4. Audit heads still where the checkpoints saw them.
  const auditAt = new Map<number, string | undefined>();
  for (const c of checkpoints) {
    if (c.auditLength === 0 || auditAt.has(c.auditLength)) continue;
    const r = (await get(`/api/register/audit-hashes?from=${c.auditLength}&limit=1`)) as {
      items: { position: number; hash: string }[];
    };
    auditAt.set(c.auditLength, r.items[0]?.hash);
  }
  for (const c of checkpoints) {
    if (c.auditLength === 0) continue;
    const name = 'id' in c && c.id ? `checkpoint ${c.id}` : 'current checkpoint';
    if (auditAt.get(c.auditLength) !== c.auditHead)
      problems.push(`${name}: the audit chain no longer has its head at entry ${c.auditLength}`);
  }

  // 5. Each line's audit entry.
  for (const e of log) {
    if (e.auditHashNow !== e.line.audit.hash)
      problems.push(`register log line ${e.seq}: its audit entry ${e.line.audit.id} has changed or is gone`);
    if (e.auditNextPrevHash !== null && e.auditNextPrevHash !== e.auditHashNow)
      problems.push(
        `register log line ${e.seq}: the audit entry after ${e.line.audit.id} does not link to it`,
      );
  }

  // 6. The public register against the log: release lines by release, decision lines by bid.
  const bySeq = new Map<number, RegisterChainLine>(log.map((e) => [e.seq, e.line]));
  const byRelease = new Map<string, RegisterLogLine>();
  const byDecision = new Map<string, DecisionLogLine>();
  const byAmendment = new Map<string, AmendmentLogLine>();
  for (const { line } of log)
    if (line.kind === 'decision') byDecision.set(line.bidId, line);
    else if (line.kind === 'amendment') byAmendment.set(`${line.bidId}:${line.agreementReference}`, line);
    else byRelease.set(line.releaseId, line);
  const onRegister = new Set<RegisterChainLine>();
  const releaseFacts = (x: RegisterLine | RegisterLogLine) => ({
    bidId: x.bidId,
    tier: x.tier,
    legalBasis: x.legalBasis,
    datasets: x.datasets,
    objectionsApplied: x.objectionsApplied,
    files: x.files,
  });
  const decisionFacts = (x: RegisterLine | DecisionLogLine | AmendmentLogLine) => ({
    bidId: x.bidId,
    organisation: x.organisation,
    organisationKind: x.organisationKind,
    title: x.title,
    purpose: x.purpose,
    tier: x.tier,
    legalBasis: x.legalBasis,
    legalBasisReference: x.legalBasisReference,
    datasets: x.datasets,
    agreementReference: x.agreementReference,
  });
  for (const l of register) {
    const name =
      l.type === 'release'
        ? `register line of release ${l.releaseId}`
        : l.type === 'amendment'
          ? `register line of the amendment ${l.agreementReference} of bid ${l.bidId}`
          : `register line of the decision on bid ${l.bidId}`;
    const line =
      l.type === 'release'
        ? l.releaseId
          ? byRelease.get(l.releaseId)
          : undefined
        : l.type === 'amendment'
          ? byAmendment.get(`${l.bidId}:${l.agreementReference}`)
          : byDecision.get(l.bidId);
    if (!line || (l.registerSeq !== null && bySeq.get(l.registerSeq) !== line)) {
      problems.push(`${name}: not in the register log`);
      continue;
    }
    onRegister.add(line);
    const differs =
      line.kind === 'decision' || line.kind === 'amendment'
        ? !same(decisionFacts(l), decisionFacts(line))
        : !same(releaseFacts(l), releaseFacts(line));
    if (differs) problems.push(`${name}: differs from register log line ${line.seq}`);
  }
  for (const e of log)
    if (!onRegister.has(e.line))
      problems.push(
        e.line.kind === 'decision'
          ? `register log line ${e.seq}: its decision on bid ${e.line.bidId} is missing from the register`
          : e.line.kind === 'amendment'
            ? `register log line ${e.seq}: its amendment ${e.line.agreementReference} is missing from the register`
            : `register log line ${e.seq}: its release is missing from the register`,
      );

  return {
    ok: problems.length === 0,
    problems,
    checked: { checkpoints: checkpoints.length, lines: log.length, registerLines: register.length },
    checkpoint: current,
  };
}
