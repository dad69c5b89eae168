// CSV as pandas reads the files FedMultimodal uses (RFC 4180: comma-separated, double-quoted fields may hold
// commas, newlines and "" for a quote). Rows keep the line number they start on, for error messages.

export interface CsvTable {
  readonly file: string;
  readonly header: readonly string[];
  /** Data rows (after the header), each with the 1-based line it starts on. */
  readonly rows: readonly { readonly line: number; readonly cells: readonly string[] }[];
}

/** Parses `text` (the contents of `file`); every row must have as many cells as the header. */
export function parseCsv(file: string, text: string): CsvTable {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let afterQuote = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell === '' && !afterQuote) {
      quoted = true;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
      afterQuote = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      if (!(cells.length === 1 && cells[0] === '')) rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      afterQuote = false;
      line++;
      rowLine = line;
    } else {
      if (afterQuote) throw new Error(`${file}:${line}: text after a closing quote`);
      cell += ch;
    }
  }
  if (quoted) throw new Error(`${file}:${rowLine}: unterminated quoted field: truncated file`);
  if (cell !== '' || cells.length > 0) {
    cells.push(cell);
    rows.push({ line: rowLine, cells });
  }
  if (rows.length === 0) throw new Error(`${file}: empty CSV file`);
  const header = rows[0].cells;
  const body = rows.slice(1);
  for (const r of body) {
    if (r.cells.length !== header.length) throw new Error(`${file}:${r.line}: ${r.cells.length} fields, the header has ${header.length}`);
  }
  return { file, header, rows: body };
}

/** The index of a header column; a clear error when absent. */
export function column(t: CsvTable, name: string): number {
  const k = t.header.indexOf(name);
  if (k < 0) throw new Error(`${t.file}: no column '${name}' in the header`);
  return k;
}
