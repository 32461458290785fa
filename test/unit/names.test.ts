import { describe, expect, it } from 'vitest';
import { LABELS, containerName, envName, fnv1a32, hasLetterOrDigit, stackSlug } from '../../core/names';

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

describe('stackSlug', () => {
  it('keeps a simple name', () => {
    expect(stackSlug('shop')).toBe('shop');
  });

  it('replaces spaces and upper case', () => {
    expect(stackSlug('Infisical Stack')).toBe('infisical-stack');
  });

  it('collapses other characters to one dash', () => {
    expect(stackSlug('My  App!!v2')).toBe('my-app-v2');
  });

  it('keeps dots, underscores and dashes inside', () => {
    expect(stackSlug('web_app.v2-b')).toBe('web_app.v2-b');
  });

  it('trims separators at both ends', () => {
    expect(stackSlug('--App..')).toBe('app');
    expect(stackSlug(' _x_ ')).toBe('x');
  });

  it('falls back to stack when empty', () => {
    expect(stackSlug('')).toBe('stack');
    expect(stackSlug('!!!')).toBe('stack');
  });

  it('keeps names outside ASCII apart', () => {
    expect(stackSlug('日本')).toMatch(/^stack-[0-9a-z]{6}$/);
    expect(stackSlug('日本')).not.toBe(stackSlug('中国'));
    expect(stackSlug('Café')).toMatch(/^caf-[0-9a-z]{6}$/);
    expect(stackSlug('Café')).not.toBe(stackSlug('Cafè'));
    expect(containerName('日本', 'db')).not.toBe(containerName('中国', 'db'));
  });

  it('shortens names over 63 characters', () => {
    const slug = stackSlug('a'.repeat(100));
    expect(slug).toHaveLength(63);
    expect(slug).toMatch(/^a{56}-[0-9a-z]{6}$/);
  });

  it('keeps a 63-character name whole', () => {
    expect(stackSlug('b'.repeat(63))).toBe('b'.repeat(63));
  });

  it('separates long names sharing a prefix', () => {
    const prefix = 'x'.repeat(70);
    expect(stackSlug(`${prefix}-one`)).not.toBe(stackSlug(`${prefix}-two`));
  });

  it('trims separators before the hash', () => {
    const slug = stackSlug(`${'a'.repeat(55)}--${'b'.repeat(20)}`);
    expect(slug).toMatch(/^a{55}-[0-9a-z]{6}$/);
  });

  it('is stable across calls', () => {
    const name = `Stable ${'name '.repeat(20)}`;
    expect(stackSlug(name)).toBe(stackSlug(name));
    expect(stackSlug(name)).toBe('stable-name-name-name-name-name-name-name-name-name-name-2g19sm');
  });
});

describe('fnv1a32', () => {
  it('matches the published test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});

describe('containerName', () => {
  it('joins stack and service slugs', () => {
    expect(containerName('Infisical Stack', 'postgres')).toBe('infisical-stack-postgres');
  });

  it('slugs a service name with spaces', () => {
    expect(containerName('shop', 'Auth Service')).toBe('shop-auth-service');
  });

  it('falls back to service when empty', () => {
    expect(containerName('shop', '***')).toBe('shop-service');
  });

  it('shortens names over 63 characters', () => {
    const name = containerName('s'.repeat(40), 'service-'.repeat(5));
    expect(name).toHaveLength(63);
    expect(name).toMatch(DOCKER_NAME);
  });

  it('separates long service names sharing a prefix', () => {
    const prefix = 'worker-'.repeat(10);
    const first = containerName('shop', `${prefix}emails`);
    const second = containerName('shop', `${prefix}invoices`);
    expect(first).not.toBe(second);
    expect(first.slice(0, 56)).toBe(second.slice(0, 56));
  });

  it('separates long stack names sharing a prefix', () => {
    const prefix = 'team-'.repeat(15);
    expect(containerName(`${prefix}a`, 'db')).not.toBe(containerName(`${prefix}b`, 'db'));
  });

  it('stays a valid Docker name', () => {
    const pairs = [
      ['..', '..'],
      ['-A-', '_b_'],
      ['Ω', 'é'],
      ['x'.repeat(200), ''],
    ];
    for (const [stack, service] of pairs) {
      expect(containerName(stack, service)).toMatch(DOCKER_NAME);
      expect(containerName(stack, service).length).toBeLessThanOrEqual(63);
    }
  });

  it('is stable across calls', () => {
    const stack = 'Very Long Stack Name '.repeat(3);
    expect(containerName(stack, 'postgres')).toBe(containerName(stack, 'postgres'));
  });
});

describe('envName', () => {
  it('upper-cases and replaces other characters', () => {
    expect(envName('postgres')).toBe('POSTGRES');
    expect(envName('auth-service')).toBe('AUTH_SERVICE');
    expect(envName('db.v2')).toBe('DB_V2');
    expect(envName('my db')).toBe('MY_DB');
  });

  it('replaces each character on its own', () => {
    expect(envName('a--b')).toBe('A__B');
  });
});

describe('hasLetterOrDigit', () => {
  it.each(['a', 'Z', '7', 'web-shop', '日本語スタック', 'é'])('accepts %j', (name) => {
    expect(hasLetterOrDigit(name)).toBe(true);
  });

  it.each(['', ' ', '..', '-', '!!!', '★', '_'])('rejects %j', (name) => {
    expect(hasLetterOrDigit(name)).toBe(false);
  });
});

describe('LABELS', () => {
  it('uses the io.graphium namespace', () => {
    expect(LABELS).toEqual({
      managed: 'io.graphium.managed',
      stack: 'io.graphium.stack',
      stackName: 'io.graphium.stack.name',
      service: 'io.graphium.service',
      deployment: 'io.graphium.deployment',
    });
  });
});
