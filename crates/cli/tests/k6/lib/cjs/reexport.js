export { count } from './reads-data.js';
