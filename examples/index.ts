import { App } from 'cdk8s';
import * as confinedMonitoringAgent from './confined-monitoring-agent';
import * as managedGkeSandbox from './managed-gke-sandbox';
import * as multiTenantSaas from './multi-tenant-saas';
import * as runcToKataMigration from './runc-to-kata-migration';
import * as serverlessFunctions from './serverless-functions';

/** Every example, by the folder it synthesizes into. */
export const EXAMPLES: { [name: string]: (app: App) => void } = {
  'multi-tenant-saas': multiTenantSaas.build,
  'confined-monitoring-agent': confinedMonitoringAgent.build,
  'serverless-functions': serverlessFunctions.build,
  'managed-gke-sandbox': managedGkeSandbox.build,
  'runc-to-kata-migration': runcToKataMigration.build,
};
