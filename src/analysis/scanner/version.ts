/**
 * Which import scan made a module's records: part of the compile cache's key. Its own
 * module, so a warm run (every module from the cache) does not load the scanner.
 * Bump when the records this scan produces could change.
 */
export const SCAN_VERSION = 'pyscan 2';
