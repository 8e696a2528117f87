// Types next to values, exported together as TypeScript users write them.
interface User {
  name: string;
  age?: number;
}
type Id = string | number;
export type Role = 'admin' | 'user';
export interface Account { id: Id; user: User; role: Role }

function newUser(name: string): User {
  return { name };
}
const DEFAULT_ROLE: Role = 'user';

export { User, Id, newUser, DEFAULT_ROLE };
export type { User as Person };
