import { IDENTIFIER_COLUMNS } from '@custodian/catalog';

export { TIERS } from '@custodian/catalog';

/** What the catalogue (GET /api/datasets) answers: datasets, their fields and the columns per tier. */
export interface CatalogAnswer {
  datasets: {
    id: string;
    title: string;
    description: string;
    fields: { name: string; classification: string; description: string }[];
    columnsByTier?: Record<string, string[]>;
  }[];
  dimensions: { name: string; description: string }[];
}

/** field → output column, per dataset and record-level tier, from the catalogue. */
export function columnMapping(
  catalog: CatalogAnswer,
): Record<string, Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, Record<string, string>>> = {};
  for (const d of catalog.datasets) {
    out[d.id] = {};
    for (const tier of ['identifiable', 'pseudonymised', 'anonymised'] as const) {
      const listed = d.columnsByTier?.[tier];
      out[d.id][tier] = Object.fromEntries(
        d.fields.map((f, i) => [
          f.name,
          listed && listed.length === d.fields.length
            ? listed[i]
            : (IDENTIFIER_COLUMNS[tier][f.name] ?? f.name),
        ]),
      );
    }
  }
  return out;
}

export interface FileColumns {
  title: string;
  file: string;
  tier: string;
  columns: { field: string; column: string }[];
}

/** The files and columns a release of this request would contain at `tier` (SPEC §5 step 6). */
export function releaseColumns(
  catalog: CatalogAnswer,
  tier: string,
  datasets: { dataset: string; fields: string[] }[],
  dimensions: string[] = [],
): FileColumns[] {
  if (tier === 'aggregate') {
    return [
      {
        title: 'Aggregate counts',
        file: 'aggregate.csv.gz',
        tier,
        columns: [
          ...dimensions.map((d) => ({ field: d, column: d })),
          { field: 'distinct patients (counts 1 to 7 shown as *, others rounded to 5)', column: 'patients' },
        ],
      },
    ];
  }
  const mapping = columnMapping(catalog);
  return datasets.map((d) => ({
    title: catalog.datasets.find((c) => c.id === d.dataset)?.title ?? d.dataset,
    file: `${d.dataset}.csv.gz`,
    tier,
    columns: d.fields.map((f) => ({ field: f, column: mapping[d.dataset]?.[tier]?.[f] ?? f })),
  }));
}
