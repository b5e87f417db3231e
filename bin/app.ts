import { buildApp } from '../lib/app.js';

// The CDK app entry (`cdk.json`): builds the stacks in lib/ and synthesizes them. Nothing imports this file.
buildApp().synth();
