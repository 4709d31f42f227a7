import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { serviceClient } from '../service-client.ts';

interface TemplateView {
  name: string;
  version: number;
  status: string;
  body: { description: string; validityDays: number };
  draftedBy: string | null;
  decidedBy: string | null;
  retirementRequestedBy: string | null;
  findings: { code: string; message: string }[];
}

function client() {
  return serviceClient(cliContext().config, 'ra', 'a business administrator');
}

const path = (name: string, version: string) =>
  `/v1/admin/templates/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;

function summary(t: TemplateView): string {
  const pending =
    t.status === 'draft'
      ? 'draft'
      : t.status === 'approved' && t.retirementRequestedBy
        ? 'approved, retirement asked'
        : t.status;
  return [
    t.name,
    t.version,
    pending,
    `${t.body.validityDays}d`,
    t.draftedBy ?? 'seeded',
    t.body.description,
  ].join('\t');
}

/**
 * Certificate templates through the RA's /v1/admin/templates, as the business administrator in
 * SM2CA_OPERATOR_CREDENTIAL: one drafts a version or a retirement, another approves it.
 */
export function registerTemplateCommands(program: Command): void {
  const template = program
    .command('template')
    .description(
      "certificate templates, through the RA's admin API as the business administrator in SM2CA_OPERATOR_CREDENTIAL",
    );
  template
    .command('list')
    .description('every version: name, version, status, validity, drafter, description')
    .action(async () => {
      const { items } = await client()<{ items: TemplateView[] }>('GET', '/v1/admin/templates');
      for (const t of items) console.log(summary(t));
    });
  template
    .command('show <name> <version>')
    .description('one version as JSON, with the lint findings that would stop its approval')
    .action(async (name: string, version: string) => {
      console.log(JSON.stringify(await client()<TemplateView>('GET', path(name, version)), null, 2));
    });
  template
    .command('draft <name> <file>')
    .description('draft the next version of a template from a JSON body (`-`: standard input)')
    .action(async (name: string, file: string) => {
      const body = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as unknown;
      const drafted = await client()<TemplateView>(
        'POST',
        `/v1/admin/templates/${encodeURIComponent(name)}/versions`,
        body,
      );
      console.log(summary(drafted));
      for (const f of drafted.findings) process.stderr.write(`lint: ${f.code}: ${f.message}\n`);
    });
  template
    .command('approve <name> <version>')
    .description(
      "approve another administrator's draft (refused when a sample certificate fails lint) or retirement",
    )
    .action(async (name: string, version: string) => {
      console.log(summary(await client()<TemplateView>('POST', `${path(name, version)}/approve`)));
    });
  template
    .command('reject <name> <version>')
    .description('reject a draft, or withdraw a pending retirement')
    .requiredOption('--reason <text>', 'why, for the record')
    .action(async (name: string, version: string, options: { reason: string }) => {
      console.log(
        summary(
          await client()<TemplateView>('POST', `${path(name, version)}/reject`, { reason: options.reason }),
        ),
      );
    });
  template
    .command('retire <name> <version>')
    .description('ask for an approved version to be retired; another administrator approves it')
    .action(async (name: string, version: string) => {
      console.log(summary(await client()<TemplateView>('POST', `${path(name, version)}/retire`)));
    });
}
