/** What a spreadsheet takes for the start of a formula: `=`, `+`, `-`, `@`, a tab or a carriage return. */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A `;` before a piece that starts like a formula (after spaces or quotes, which a spreadsheet skips or reads as quoting). */
const FORMULA_AFTER_SEMICOLON = /;(?=[\s"]*[=+\-@\t\r])/g;

/**
 * Text for a CSV cell that no spreadsheet runs as a formula: `'` before text that starts like one,
 * and after each `;` before a piece that does — a spreadsheet whose list separator is `;` (many
 * European locales) splits a line at every `;`, whatever the quoting, so `Statins;=1+1;x` opened
 * there as a cell `=1+1` (probe 36). The caller quotes the cell (RFC 4180) as it needs.
 */
export function spreadsheetText(s: string): string {
  return (FORMULA_START.test(s) ? `'${s}` : s).replace(FORMULA_AFTER_SEMICOLON, ";'");
}
