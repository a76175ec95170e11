// Types for scripts/browser.mjs, for the tests that import it.
import type { Page } from 'playwright-core';

export const CHROMIUM: string;
export const CHROMIUM_FLAGS: string[];
export function browserMissing(): string | undefined;
export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** URLs the page asked for beyond itself (refused). */
  requests: string[];
}
export function launchBrowser(): Promise<{
  open(file: string, width: number, height?: number): Promise<OpenedPage>;
  close(): Promise<void>;
}>;
