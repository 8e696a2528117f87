// compare: counts
// Type-only names in export lists, `export type`, `import type` and
// `import { type X }` are erased as esbuild (k6's TypeScript) erases them.
import { check } from 'k6';
import { User, Admin, newUser, DEFAULT_ROLE, type Role } from './lib/users.ts';
import type { Account, Person } from './lib/users.ts';
import { newUser as again, type Id } from './lib/reexport-types.ts';

export const options = { iterations: 1 };

function account(id: Id, user: User, role: Role = DEFAULT_ROLE): Account {
  return { id, user, role };
}

export default function (): void {
  const p: Person = newUser('ada');
  const a = account(1, p);
  check(a, {
    'type-only exports are erased': (x: Account) => x.user.name === 'ada' && x.role === 'user',
    're-exported value': () => again('bob').name === 'bob',
    'class implementing an interface': () => new Admin().name === 'root',
  });
}
