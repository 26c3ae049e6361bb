import { Command, CommandRunner, Option } from 'nest-commander';
import { verifyRegister } from '@custodian/register';

/**
 * `verify-register --url <base>` (#24): checks a deployment's public register against its signed
 * checkpoints with nothing but its public routes (docs/TRANSPARENCY.md). Exit 1 on any problem.
 */
@Command({
  name: 'verify-register',
  description: "Verify a deployment's public register against its signed checkpoints; exit 1 on any problem",
})
export class VerifyRegisterCommand extends CommandRunner {
  async run(_args: string[], opts: { url?: string }): Promise<void> {
    if (!opts.url) throw new Error('give --url <base URL of the deployment>');
    const base = new URL(opts.url);
    const get = async (path: string) => {
      const res = await fetch(new URL(path, base), { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
      return res.json();
    };
    const result = await verifyRegister(get);
    const c = result.checkpoint;
    console.log(
      JSON.stringify(
        {
          ok: result.ok,
          checked: result.checked,
          checkpoint: c && { at: c.at, registerLength: c.registerLength, auditLength: c.auditLength },
          problems: result.problems,
        },
        null,
        2,
      ),
    );
    if (!result.ok) process.exitCode = 1;
  }

  @Option({ flags: '--url <url>', description: 'base URL of the deployment, e.g. https://custodian.example' })
  url(v: string) {
    return v;
  }
}
