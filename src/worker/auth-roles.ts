/** Token roles, each including the ones after it: admin ⊃ publisher ⊃ analyst (DESIGN §4). */
export const ROLES = ['admin', 'publisher', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `held` grants what `needed` requires. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) <= ROLES.indexOf(needed);
}
