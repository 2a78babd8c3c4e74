/**
 * The Expo manifest route's load (docs/protocol.md §10, docs/clients/expo.md): the app, the request an
 * expo-updates client sends, and a check that the route answers it, shared by run.ts and profile.ts.
 */
import type { Workload } from './types.ts';

/** The Expo app: BENCH_APP's shape (1.0.0 everywhere, 1.1.0 staged to half) as Expo releases for iOS. */
export const EXPO_APP = 'expo-bench';
export const EXPO_RUNTIME = '1.0.0';
/** The update built into the app binary: the client runs 1.0.0, downloaded over it. */
export const EMBEDDED_UPDATE_ID = '0b5e7c1a-4f3d-4e2a-9c1b-7d6e5f4a3b2c';
/**
 * expo-updates' manifest request (protocol v1, docs/clients/expo.md) from an iPhone running update
 * `currentUpdateId` over its embedded update, with its `eas-client-id`.
 */
export const expoWorkload = (
  app: string,
  currentUpdateId: string,
  clients: number,
): Extract<Workload, { kind: 'get' }> => ({
  kind: 'get',
  path: `/v1/apps/${app}/expo/manifest`,
  clients,
  headers: {
    'expo-protocol-version': '1',
    accept: 'multipart/mixed',
    'expo-platform': 'ios',
    'expo-runtime-version': EXPO_RUNTIME,
    'eas-client-id': '{client}',
    'expo-current-update-id': currentUpdateId,
    'expo-embedded-update-id': EMBEDDED_UPDATE_ID,
  },
});

/**
 * Before measuring: the Expo route must answer both outcomes of the staged rollout (a manifest for
 * the clients in 1.1.0's half, `noUpdateAvailable` for the others) with 200, or the benchmark would
 * time error answers.
 */
export async function expectExpoAnswers(origin: string, workload: Workload): Promise<void> {
  if (workload.kind !== 'get') return;
  const names = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const headers = Object.fromEntries(
      Object.entries(workload.headers ?? {}).map(([k, v]) => [k, v.replaceAll('{client}', `probe-${i}`)]),
    );
    const response = await fetch(`${origin}${workload.path}`, { headers });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`expo manifest answered ${response.status}: ${body}`);
    names.add(/name="(\w+)"/.exec(body)?.[1] ?? 'none');
  }
  if (!names.has('manifest') || !names.has('directive'))
    throw new Error(`expo manifest: expected manifests and directives across clients, got ${[...names]}`);
}
