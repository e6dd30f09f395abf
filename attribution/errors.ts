import { ValidationError } from '../core/errors.js';

/**
 * Bad job input (params, corpus, receipt, training spec). Thrown by validation before any heavy
 * work; `runJob` turns it into a failed `JobResult` whose `error` is the code, so every validator
 * settles the same failure. Codes are stable: clients and the vm may match on them.
 */
export class AttributionError extends ValidationError {}
