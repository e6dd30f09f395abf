import { OlError } from '../core/errors.js';

/** A node-level refusal (bad transaction, wrong chain, broken database), with a code. */
export class NodeError extends OlError {}
