import { Command, CommandRunner, Option } from 'nest-commander';
import { isOdsCode } from '@custodian/core';
import { ExtractRefusedError, runExtractor, uploadExtract } from '@custodian/practices';

interface ExtractOptions {
  practice?: string;
  input?: string;
  output?: string;
  upload?: string;
  token?: string;
}

/**
 * The practice-side extractor (SPEC §2): `extract --practice A81001 --input export.ndjson
 * --output extract.ndjson [--upload URL --token T]`. Prints counts only — never identifiers.
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
    if (opts.upload && !opts.token) throw new Error('--upload needs --token <access token>');
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
    console.log(`  resources outside the specification: ${r.unsupportedResources}`);
    console.log(`  lines that are not JSON objects:    ${r.malformedLines}`);
    console.log(`  fields outside the specification:   ${r.fields}`);
    for (const [field, n] of Object.entries(r.byField)) console.log(`    ${field}: ${n}`);
    // Objection entries read in an odd way (still objections) or not applied: line numbers only.
    console.log(`warnings: ${report.warnings.length}`);
    for (const w of report.warnings.slice(0, 50)) console.log(`  line ${w.line}: ${w.reason}`);
    if (report.warnings.length > 50) console.log(`  … and ${report.warnings.length - 50} more`);
    if (opts.upload) {
      const res = await uploadExtract({
        url: opts.upload,
        practiceOds: practice,
        token: opts.token!,
        file: output,
      });
      console.log(`upload: HTTP ${res.status}`);
      console.log(JSON.stringify(res.body, null, 2));
      if (res.status >= 300) process.exitCode = 1;
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
  @Option({ flags: '--token <token>', description: "the practice account's access token" }) token(v: string) {
    return v;
  }
}
