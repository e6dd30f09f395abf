import { evalDuplicates } from './eval/attribution/duplicates.ts';
const t = Date.now();
console.log(JSON.stringify(await evalDuplicates({ quick: true }), null, 1));
console.log('ms', Date.now() - t);
