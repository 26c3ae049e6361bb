import { ModuleRef } from '@nestjs/core';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AuditService } from '@custodian/audit';
import { Role, ROLES } from '@custodian/core';

/*
 * The commands that use the database take their services when they run, not when they are made: so
 * that help, a missing or misspelt command are answered without a database (cli.module.ts).
 */
import { IdentityService } from '@custodian/identity';

@Command({ name: 'migrate', description: 'Apply pending database migrations (also done at every start)' })
export class MigrateCommand extends CommandRunner {
  async run(): Promise<void> {
    // prepareDatabase in main.ts has already applied them before the command runs.
    console.log('migrations are up to date');
  }
}

@Command({
  name: 'create-admin',
  description: 'Create a user (an administrator unless --roles says otherwise)',
})
export class CreateAdminCommand extends CommandRunner {
  constructor(private readonly modules: ModuleRef) {
    super();
  }

  async run(
    _args: string[],
    opts: { email?: string; password?: string; name?: string; roles?: Role[] },
  ): Promise<void> {
    const email = opts.email ?? process.env.ADMIN_EMAIL;
    const password = opts.password ?? process.env.ADMIN_PASSWORD;
    if (!email || !password)
      throw new Error('give --email and --password (or ADMIN_EMAIL and ADMIN_PASSWORD)');
    const user = await this.modules
      .get(IdentityService, { strict: false })
      .createUser(
        null,
        { email, password, displayName: opts.name ?? 'Administrator', roles: opts.roles ?? ['admin'] },
        undefined,
        { passwordRules: true },
      );
    console.log(`created ${user.email} (${user.roles.join(', ')}) with id ${user.id}`);
  }

  @Option({ flags: '--email <email>' }) email(v: string) {
    return v;
  }
  @Option({ flags: '--password <password>' }) password(v: string) {
    return v;
  }
  @Option({ flags: '--name <displayName>' }) name(v: string) {
    return v;
  }
  @Option({ flags: '--roles <roles>', description: `comma-separated: ${ROLES.join(', ')}` }) roles(
    v: string,
  ) {
    return v.split(',').map((r) => r.trim());
  }
}

@Command({
  name: 'verify-audit',
  description: 'Verify the hash chain of the audit trail; exit 1 at the first broken entry',
})
export class VerifyAuditCommand extends CommandRunner {
  constructor(private readonly modules: ModuleRef) {
    super();
  }

  async run(): Promise<void> {
    const res = await this.modules.get(AuditService, { strict: false }).verify();
    console.log(JSON.stringify(res));
    if (!res.ok) process.exitCode = 1;
  }
}
