import { writeFileSync } from 'node:fs';
import { AppError } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { assembleReport } from '../report/report-assembly.ts';
import { reportHtml } from '../report/report-html.ts';
import { reportPdf } from '../report/report-pdf.ts';
import { serviceClient } from '../service-client.ts';

const who = 'an auditor or business admin';

interface ReportOptions {
  year?: string;
  month?: string;
  json?: boolean;
  format: string;
  output?: string;
  pdf?: string;
}

/**
 * The annual report template's statistics from live data, computed by the RA and the CRL service
 * and read under the operator's credential: JSON, a self-contained HTML page with charts, or PDF.
 */
export function registerReportCommands(program: Command): void {
  const report = program.command('report').description('compliance reports from live data');
  report
    .command('yearly')
    .description(
      'certificates issued / valid / revoked / renewed by holder and certificate type, applications on time, availability, CRL cycle, revocation timeliness',
    )
    .option('--year <YYYY>', 'the calendar year (China Standard Time)')
    .option('--month <YYYY-MM>', 'one month instead of a year')
    .option('--json', 'the figures as JSON (same as --format json)')
    .option('--format <format>', 'json or html', 'html')
    .option('-o, --output <file>', 'write the JSON or HTML here instead of standard output')
    .option('--pdf <file>', 'also print the HTML report to this PDF file (headless Chromium)')
    .action(async (options: ReportOptions) => {
      if (!options.year === !options.month) {
        throw new AppError('REPORT_PERIOD_REQUIRED', 'give --year YYYY or --month YYYY-MM');
      }
      const format = options.json ? 'json' : options.format;
      if (format !== 'json' && format !== 'html') {
        throw new AppError('REPORT_FORMAT_INVALID', `--format is json or html, not ${format}`);
      }
      const config = cliContext().config;
      const figures = await assembleReport(
        options.year ? { year: options.year } : { month: options.month! },
        serviceClient(config, 'ra', who),
        serviceClient(config, 'crl', who),
      );
      const html = reportHtml(figures);
      const text = format === 'json' ? `${JSON.stringify(figures, null, 2)}\n` : html;
      if (options.output) writeFileSync(options.output, text);
      else if (!options.pdf) process.stdout.write(text);
      if (options.pdf) writeFileSync(options.pdf, await reportPdf(html));
    });
}
