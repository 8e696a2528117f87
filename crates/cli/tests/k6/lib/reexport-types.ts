export { newUser } from './users.ts';
export type { Account } from './users.ts';
export * from './users.ts';
