#!/usr/bin/env node
// The CDK app, as `cdk synth` / `cdk deploy` run it (cdk.json: node dist/bin/app.js).
// Context: -c env=test|prod (sizes, default test), -c namespace=<dns name> (default comms.local),
// -c serviceConnectTls=true (Service Connect TLS with an AWS Private CA; default false).
import { createApp } from '../src/app.js';

createApp().app.synth();
