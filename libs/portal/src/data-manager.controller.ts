import { Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ParseUUIDPipe } from '@custodian/core';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController, UploadForm } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalViews } from './portal-views';
import { afterUpload, forwardUpload, NoFileChosen, uploadProblem, uploadRefusal } from './uploads';

/** The eight linkage steps (SPEC §3) in words, for the linkage report. */
export const LINKAGE_STEPS: { step: string; text: string }[] = [
  { step: '1', text: 'NHS number, sex, date of birth and postcode all agree.' },
  { step: '2', text: 'NHS number, sex and date of birth agree.' },
  {
    step: '3',
    text: 'NHS number, sex and postcode agree, and the date of birth partly (two of day, month and year, or day and month swapped).',
  },
  { step: '4', text: 'NHS number and sex agree, and the date of birth partly.' },
  { step: '5', text: 'NHS number and postcode agree.' },
  {
    step: '6',
    text: 'Sex, date of birth and postcode agree, the NHS number does not contradict, the date of birth is not 1 January and the postcode is a real one (not ZZ99).',
  },
  {
    step: '7',
    text: 'As step 6 with the day and month of the date of birth swapped (the rule of sex and date of birth alone, without the postcode, linked the wrong person about half the time, so it is not used).',
  },
  { step: '8', text: 'The NHS number alone agrees.' },
];

export const SOURCE_TITLES: Record<string, string> = {
  hes: 'Hospital episodes (HES admitted patient care)',
  social_care: 'Social care',
};

const UPLOADS = {
  hes: { api: '/api/sources/hes', label: 'HES file', field: 'file' },
  'social-care': { api: '/api/sources/social-care', label: 'social-care file', field: 'social-care-file' },
} as const;

/**
 * A data manager's pages: loading HES and social-care CSV files (streamed to the API's upload
 * routes, with a progress bar), every load with its report and the linkage per step in words.
 */
@PortalController('data-loads')
@UseGuards(PortalAuthGuard)
@PageAccess(['data_manager'])
export class DataManagerController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
    private readonly guard: PortalAuthGuard,
  ) {}

  @Get()
  async loads(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const loads = await this.api.expect<{ linkedByStep: Record<string, number> }[]>(
      req,
      'GET',
      '/api/sources/loads',
    );
    this.views.page(req, reply, 'operations/data-loads.njk', {
      loads: loads.map((l) => ({
        ...l,
        linked: Object.values(l.linkedByStep ?? {}).reduce((a, b) => a + Number(b), 0),
      })),
      sourceTitles: SOURCE_TITLES,
      uploadError: req.portal?.session.flash?.kind === 'error',
    });
  }

  @Post('hes')
  @UploadForm()
  hes(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    return this.upload(req, reply, 'hes');
  }

  @Post('social-care')
  @UploadForm()
  socialCare(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    return this.upload(req, reply, 'social-care');
  }

  private async upload(req: PortalRequest, reply: FastifyReply, kind: keyof typeof UPLOADS) {
    let res;
    try {
      res = await forwardUpload<{ id?: string; message?: string; rows?: number; rejectedCount?: number }>(
        this.guard,
        this.api,
        req,
        UPLOADS[kind].api,
        'text/csv',
      );
    } catch (e) {
      if (!(e instanceof NoFileChosen)) throw e;
      uploadProblem(req, `Choose the ${UPLOADS[kind].label} to load (a CSV file)`, UPLOADS[kind].field);
      return afterUpload(req, reply, '/data-loads');
    }
    if (res.status === 201 && res.body.id) {
      // Not "Success" when every row was refused (a walk-through, 2026-12-06).
      const rows = Number(res.body.rows ?? 0);
      const refused = Number(res.body.rejectedCount ?? 0);
      req.portal!.session.flash =
        rows > 0 && refused >= rows
          ? {
              title: 'Nothing from the file was stored',
              body: `Every row was refused (${rows.toLocaleString('en-GB')}): the report below says why.`,
              kind: 'warning',
            }
          : { title: 'File loaded and linked' };
      req.portal!.dirty = true;
      return afterUpload(req, reply, `/data-loads/${res.body.id}`);
    }
    uploadProblem(
      req,
      uploadRefusal(
        `The ${UPLOADS[kind].label} was not loaded`,
        res.body?.message,
        'The file could not be taken',
      ),
      UPLOADS[kind].field,
    );
    return afterUpload(req, reply, '/data-loads');
  }

  @Get(':id')
  async report(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const [report, loads] = await Promise.all([
      this.api.expect<{ linkedByStep: Record<string, number>; rows: number; unlinked: number }>(
        req,
        'GET',
        `/api/sources/loads/${id}`,
      ),
      this.api.expect<{ id: string; kind: string; createdAt: string }[]>(req, 'GET', '/api/sources/loads'),
    ]);
    const summary = loads.find((l) => l.id === id);
    const steps = LINKAGE_STEPS.map((s) => ({ ...s, rows: Number(report.linkedByStep?.[s.step] ?? 0) }));
    this.views.page(req, reply, 'operations/data-load.njk', {
      report,
      summary,
      title: summary ? SOURCE_TITLES[summary.kind] : 'Data load',
      steps,
      linked: steps.reduce((a, s) => a + s.rows, 0),
      backHref: '/data-loads',
    });
  }
}
