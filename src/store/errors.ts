/**
 * A write that broke a unique key: on PostgreSQL a concurrent writer got there first (23505), on
 * SQLite a constraint named the same row. Callers decide again on fresh state or with a fresh id.
 */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
}
