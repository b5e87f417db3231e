import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { bundledConfig } from '../lambdas/core/config.js';
import { sampleFleet } from '../local/sample-fleet.js';
import { generatedFleet } from './fleet.js';

// Writes a fleet file of any size, cloned from the sample fleet, for `npm start -- --fleet FILE`.
const options = new Command('npm run generate-fleet --')
  .requiredOption('--customers <n>', 'how many customers', (value) => Number.parseInt(value, 10))
  .requiredOption('--out <file>', 'where to write the fleet JSON')
  .parse()
  .opts<{ customers: number; out: string }>();
const fleet = generatedFleet(sampleFleet(bundledConfig().policies), options.customers);
writeFileSync(options.out, `${JSON.stringify(fleet, null, 2)}\n`);
console.log(`Wrote ${fleet.customers.length} customers to ${options.out}`);
