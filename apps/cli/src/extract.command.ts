import { readFileSync } from 'node:fs';
import { Command, CommandRunner, Option } from 'nest-commander';
import { isOdsCode } from '@custodian/core';
import { ExtractRefusedError, runExtractor, uploadExtract } from '@custodian/practices';

interface ExtractOptions {
  practice?: string;
  input?: string;
  output?: string;
  upload?: string;
  tokenFile?: string;
  allowInsecureHttp?: boolean;
  /** Refused: a token on the command line is visible in the process list and the shell's history. */
  token?: string;
}

/** The environment variable the access token may be given in (instead of --token-file). */
export const TOKEN_ENV = 'CUSTODIAN_TOKEN';

/** Loopback hosts, where plain HTTP never leaves the machine. */
function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Where the extract may go: HTTPS anywhere, plain HTTP only to this machine unless the operator
 * says so explicitly (the extract carries NHS numbers, dates of birth and postcodes).
 */
export function checkUploadUrl(raw: string, allowInsecureHttp = false): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(
      `--upload must be a URL, e.g. https://centre.example.nhs.uk (got ${JSON.stringify(raw)})`,
    );
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol !== 'http:') throw new Error(`--upload must be an https:// URL (got ${url.protocol})`);
  if (isLoopback(url.hostname) || allowInsecureHttp) return url;
  throw new Error(
    `refusing to upload patient data over plain HTTP to ${url.hostname}: use https://, or --allow-insecure-http if this network is trusted`,
  );
}

/** The access token from --token-file or the environment; never from the command line. */
export function readToken(opts: Pick<ExtractOptions, 'token' | 'tokenFile'>, env = process.env): string {
  if (opts.token !== undefined)
    throw new Error(
      `--token is not accepted (the command line is visible in the process list and shell history): use --token-file <file> or ${TOKEN_ENV}`,
    );
  const token = opts.tokenFile ? readFileSync(opts.tokenFile, 'utf8').trim() : (env[TOKEN_ENV] ?? '').trim();
  if (!token) throw new Error(`--upload needs the access token: --token-file <file> or ${TOKEN_ENV}`);
  return token;
}

/**
 * The practice-side extractor (SPEC §2): `extract --practice A81001 --input export.ndjson
 * --output extract.ndjson [--upload URL --token-file F]`. Prints counts only — never identifiers.
 */
@Command({
  name: 'extract',
  description:
    'Make the extract that may leave a practice (Type 1 objectors removed, fields outside the specification stripped); optionally upload it',
})
export class ExtractCommand extends CommandRunner {
  async run(_args: string[], opts: ExtractOptions): Promise<void> {
    const { practice, input, output } = opts;
    if (!practice || !isOdsCode(practice)) throw new Error('give --practice <ODS code>, e.g. A81001');
    if (!input || !output) throw new Error('give --input <export.ndjson> and --output <extract.ndjson>');
    // Checked before any work: a refused upload must not leave a half-done run behind.
    const target = opts.upload ? checkUploadUrl(opts.upload, opts.allowInsecureHttp) : undefined;
    const token = target ? readToken(opts) : undefined;
    let report;
    try {
      report = await runExtractor({ practiceOds: practice, input, output });
    } catch (e) {
      // An objection that names no patient: nothing is written or uploaded (fail closed).
      if (!(e instanceof ExtractRefusedError)) throw e;
      console.error(e.message);
      process.exitCode = 1;
      return;
    }
    const r = report.removed;
    console.log(`read ${report.lines} line(s), wrote ${report.written} to ${output}`);
    console.log('removed:');
    console.log(`  type 1 objectors (marker kept):     ${r.type1Patients}`);
    console.log(`  their other resources:              ${r.type1Resources}`);
    console.log(
      `patients marked as sharing sex, DOB and postcode with a Type 1 objector: ${report.patientsSharingKeyWithType1}`,
    );
    console.log(`  resources outside the specification: ${r.unsupportedResources}`);
    console.log(`  lines that are not JSON objects:    ${r.malformedLines}`);
    console.log(`  without an element FHIR R4 requires: ${r.incompleteResources}`);
    console.log(`  with a value not of its FHIR R4 type: ${r.invalidResources}`);
    console.log(`  recorded in error (entered-in-error): ${r.enteredInError}`);
    console.log(`  of what did not happen (refuted, not-done, not-taken, cancelled): ${r.notHappened}`);
    console.log(`  fields outside the specification:   ${r.fields}`);
    for (const [field, n] of Object.entries(r.byField)) console.log(`    ${field}: ${n}`);
    // Objection entries read in an odd way (still objections) or not applied: line numbers only.
    console.log(`warnings: ${report.warnings.length}`);
    for (const w of report.warnings.slice(0, 50)) console.log(`  line ${w.line}: ${w.reason}`);
    if (report.warnings.length > 50) console.log(`  … and ${report.warnings.length - 50} more`);
    // Resources not written because they are not FHIR R4 (objection entries never are among them).
    console.log(`not written (not FHIR R4): ${report.rejected.length}`);
    for (const x of report.rejected.slice(0, 50)) console.log(`  line ${x.line}: ${x.reason}`);
    // Lines, and not one a JSON object: not an NDJSON export (a CSV, an image). Said and exit 1,
    // not a success with an empty extract (a new user's tryout, 2026-12-07); nothing is uploaded.
    // Blank lines are neither (a CSV's last line ending, a line left empty): counted apart.
    const lines = report.lines - report.blankLines;
    if (lines > 0 && r.malformedLines === lines) {
      console.error(`${input} is not an NDJSON export: none of its ${lines} line(s) is a JSON object`);
      process.exitCode = 1;
      return;
    }
    if (target && token) {
      const res = await uploadExtract({
        url: target.toString(),
        practiceOds: practice,
        token,
        file: output,
      });
      console.log(`upload: HTTP ${res.status}`);
      console.log(typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2));
      if (res.status >= 300) process.exitCode = 1;
      // Nothing kept because every line was refused (another practice's export, say) is a failure.
      // Nothing new stored with only some lines refused is not: an extract sent again (a retry whose
      // first answer was lost) stores nothing new, and its refused lines are refused again (it was
      // told "all 1 line(s) refused" and exit 1: a review, 2026-12-07).
      const b = res.body as {
        patients?: number;
        resources?: number;
        objections?: number;
        rejectedCount?: number;
      };
      const refused = b.rejectedCount ?? 0;
      if (res.status < 300 && !b.patients && !b.resources && !b.objections && refused > 0) {
        if (refused >= report.written) {
          console.error(
            `the centre stored nothing of the extract: all ${refused} line(s) refused (see above)`,
          );
          process.exitCode = 1;
        } else
          console.log(
            `nothing new stored (the centre holds the rest already); ${refused} of ${report.written} line(s) refused (see above)`,
          );
      }
    }
  }

  @Option({ flags: '--practice <ods>', description: 'the practice ODS code' }) practice(v: string) {
    return v;
  }
  @Option({ flags: '--input <file>', description: "the practice system's FHIR R4 NDJSON export" }) input(
    v: string,
  ) {
    return v;
  }
  @Option({ flags: '--output <file>', description: 'where to write the extract' }) output(v: string) {
    return v;
  }
  @Option({ flags: '--upload <url>', description: 'the centre (base URL, or the full extracts URL)' }) upload(
    v: string,
  ) {
    return v;
  }
  @Option({
    flags: '--token-file <file>',
    description: `a file holding the practice account's access token (or set ${TOKEN_ENV})`,
  })
  tokenFile(v: string) {
    return v;
  }
  @Option({
    flags: '--allow-insecure-http',
    description: 'allow --upload over plain HTTP to a host other than this machine',
  })
  allowInsecureHttp() {
    return true;
  }
  @Option({ flags: '--token <token>', description: `not accepted: use --token-file or ${TOKEN_ENV}` })
  token(v: string) {
    return v;
  }
}
