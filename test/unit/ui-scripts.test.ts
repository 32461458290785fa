/**
 * Helpers of the dashboard's page scripts, run in Node against a stand-in for the browser's
 * `document`. The scripts are plain JavaScript served as they are, without type declarations, so
 * the test loads common.js by URL and names the type of each helper it calls.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

/** A button as whileBusy uses it. */
interface FakeButton {
  disabled: boolean;
  focus(): void;
}

type WhileBusy = <T>(buttons: Iterable<FakeButton>, work: () => Promise<T>) => Promise<T>;

/** The parts of `document` that whileBusy reads. */
interface FakeDocument {
  body: object;
  activeElement: object | null;
}

const COMMON_URL = new URL('../../api/ui/assets/common.js', import.meta.url).href;

let whileBusy: WhileBusy;
let fakeDocument: FakeDocument;

beforeAll(async () => {
  ({ whileBusy } = (await import(COMMON_URL)) as { whileBusy: WhileBusy });
});

afterEach(() => {
  delete (globalThis as { document?: unknown }).document;
});

/** Installs a fake document with the focus on `initial`, or on its body when `initial` is absent. */
function installDocument(initial?: object): FakeDocument {
  const body = {};
  fakeDocument = { body, activeElement: initial ?? body };
  (globalThis as { document?: unknown }).document = fakeDocument;
  return fakeDocument;
}

/** Creates a button that takes the focus of the fake document, as a browser button does. */
function button(): FakeButton {
  const created: FakeButton = {
    disabled: false,
    focus: () => {
      fakeDocument.activeElement = created;
    },
  };
  return created;
}

describe('whileBusy', () => {
  it('disables the buttons while the work runs', async () => {
    installDocument();
    const plan = button();
    const deploy = button();
    let disabledDuringWork: boolean[] = [];

    await whileBusy([plan, deploy], async () => {
      disabledDuringWork = [plan.disabled, deploy.disabled];
    });

    expect(disabledDuringWork).toEqual([true, true]);
    expect([plan.disabled, deploy.disabled]).toEqual([false, false]);
  });

  it('gives the focus back after the body took it', async () => {
    const plan = button();
    const document = installDocument(plan);

    await whileBusy([plan], async () => {
      // A browser moves the focus of a button it disables to the body.
      document.activeElement = document.body;
    });

    expect(document.activeElement).toBe(plan);
  });

  it('gives the focus back after the work fails', async () => {
    const plan = button();
    const document = installDocument(plan);

    const work = whileBusy([plan], async () => {
      document.activeElement = document.body;
      throw new Error('plan failed');
    });

    await expect(work).rejects.toThrow('plan failed');
    expect(document.activeElement).toBe(plan);
  });

  it('keeps the focus the work moved elsewhere', async () => {
    const plan = button();
    const document = installDocument(plan);
    const planHeading = {};

    await whileBusy([plan], async () => {
      document.activeElement = planHeading;
    });

    expect(document.activeElement).toBe(planHeading);
  });

  it('leaves the focus alone when no button had it', async () => {
    const textArea = {};
    const document = installDocument(textArea);
    const deploy = button();

    await whileBusy([deploy], async () => undefined);

    expect(document.activeElement).toBe(textArea);
  });
});
