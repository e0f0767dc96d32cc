/** ISBN-10 / ISBN-13 parsing. Pure functions; the catalogue stores the ISBN-13 form so both forms of a book meet. */

function isbn10CheckDigit(first9: string): string {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (10 - i) * Number(first9[i]);
  const check = (11 - (sum % 11)) % 11;
  return check === 10 ? 'X' : String(check);
}

function isbn13CheckDigit(first12: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (i % 2 === 0 ? 1 : 3) * Number(first12[i]);
  return String((10 - (sum % 10)) % 10);
}

/** Strip hyphens and spaces, upper-case a trailing x. */
export function cleanIsbn(raw: string): string {
  return raw.replace(/[\s-]/g, '').toUpperCase();
}

export function isValidIsbn10(isbn: string): boolean {
  return /^\d{9}[\dX]$/.test(isbn) && isbn10CheckDigit(isbn.slice(0, 9)) === isbn[9];
}

export function isValidIsbn13(isbn: string): boolean {
  return /^97[89]\d{10}$/.test(isbn) && isbn13CheckDigit(isbn.slice(0, 12)) === isbn[12];
}

export function isbn10To13(isbn10: string): string {
  const body = '978' + isbn10.slice(0, 9);
  return body + isbn13CheckDigit(body);
}

/** The ISBN-10 form of a 978-prefixed ISBN-13, or undefined (979 ISBNs have none). */
export function isbn13To10(isbn13: string): string | undefined {
  if (!isbn13.startsWith('978')) return undefined;
  const body = isbn13.slice(3, 12);
  return body + isbn10CheckDigit(body);
}

/**
 * The key an ISBN is stored and looked up under: the ISBN-13 for any valid ISBN-10 or ISBN-13. Strings of ISBN
 * shape with a wrong check digit exist in real catalogues; they are kept as cleaned so that the same string still
 * finds the same cover. Anything else is not an ISBN.
 */
export function normaliseIsbn(raw: string): string | undefined {
  const isbn = cleanIsbn(raw);
  if (isValidIsbn10(isbn)) return isbn10To13(isbn);
  if (isValidIsbn13(isbn)) return isbn;
  if (/^\d{9}[\dX]$/.test(isbn) || /^\d{13}$/.test(isbn)) return isbn;
  return undefined;
}
