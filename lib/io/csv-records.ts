const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Counts the records of a CSV stream as its chunks pass, so a COPY can report exact rows while it
 * runs. A newline inside a quoted field is not a record end; a doubled quote ("") toggles the
 * quote state twice, so it needs no special case. Chunks may split anywhere.
 */
export class CsvRecordCounter {
  private inQuotes = false;
  records = 0;

  push(chunk: Uint8Array): number {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Most chunks hold no quote at all: count newlines with the native search.
    if (!this.inQuotes && bytes.indexOf(QUOTE) < 0) {
      for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) this.records++;
      return this.records;
    }
    let quoted = this.inQuotes;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (byte === QUOTE) quoted = !quoted;
      else if (byte === NEWLINE && !quoted) this.records++;
    }
    this.inQuotes = quoted;
    return this.records;
  }
}
