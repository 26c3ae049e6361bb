/**
 * The same date with day and month swapped, the same year (SQL over the date expression `d`), or NULL
 * where that is no other date (day above 12, or day = month): `swappedDob()` of linkage-rules.ts.
 */
export const swappedDobSql = (d: string) =>
  `CASE WHEN date_part('day', ${d}) <= 12 AND date_part('day', ${d}) <> date_part('month', ${d})
        THEN make_date(date_part('year', ${d})::int, date_part('day', ${d})::int, date_part('month', ${d})::int) END`;
