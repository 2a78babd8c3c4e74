/**
 * The client adapters of docs/protocol.md §9 and §10, one module each, mounted under `/v1/apps`. Each turns its
 * client's request into a `ClientQuery` for the shared pipeline (pipeline.ts) and the decision into
 * that client's wire format.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types.ts';
import { electron } from './electron.ts';
import { expo } from './expo.ts';
import { sparkle } from './sparkle.ts';
import { squirrel } from './squirrel.ts';
import { tauri } from './tauri.ts';

export const adapters = new Hono<AppEnv>();
adapters.route('/', sparkle);
adapters.route('/', tauri);
adapters.route('/', squirrel);
adapters.route('/', electron);
adapters.route('/', expo);
