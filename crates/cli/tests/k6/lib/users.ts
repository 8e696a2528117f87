// Types next to values, exported together as TypeScript users write them.
interface User {
  name: string;
  age?: number;
}
type Id = string | number;
export type Role = 'admin' | 'user';
export interface Account { id: Id; user: User; role: Role }

class Admin implements User {
  name = 'root';
}

function newUser(name: string): User {
  const u = { name } satisfies User;
  return u as User;
}
const DEFAULT_ROLE: Role = 'user';

export { User, Id, Admin, newUser, DEFAULT_ROLE };
export type { User as Person };
