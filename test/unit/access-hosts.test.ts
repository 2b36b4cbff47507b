import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localReturnPath } from '../../lib/access/return-path';
import { hostAllowed, isLoopbackBind, originAllowed, parseAllowedHosts } from '../../lib/access/hosts';
import { SignInThrottle } from '../../lib/access/throttle';

const loopback = { boundHost: '127.0.0.1', port: 6789, allowedHosts: [] };

test('on a loopback bind only loopback names with our port, and listed names, are answered', () => {
  for (const h of ['127.0.0.1:6789', 'localhost:6789', '[::1]:6789', 'LOCALHOST:6789']) assert.equal(hostAllowed(h, loopback), true, h);
  for (const h of ['evil.com:6789', 'evil.com', '127.0.0.1', '127.0.0.1:80', 'localhost.evil.com:6789', '127.0.0.1.nip.io:6789', '', undefined]) {
    assert.equal(hostAllowed(h, loopback), false, String(h));
  }
  const listed = { ...loopback, allowedHosts: parseAllowedHosts(' grimoire.lan , box:8080') };
  assert.deepEqual(listed.allowedHosts, ['grimoire.lan', 'box:8080']);
  assert.equal(hostAllowed('grimoire.lan:6789', listed), true);
  assert.equal(hostAllowed('grimoire.lan', listed), true);
  assert.equal(hostAllowed('box:8080', listed), true);
  assert.equal(hostAllowed('box:6789', listed), false);
});

test('on a wide bind any Host is answered until GRIMOIRE_ALLOWED_HOSTS pins it', () => {
  const wide = { boundHost: '0.0.0.0', port: 6789, allowedHosts: [] };
  assert.equal(hostAllowed('10.1.2.3:6789', wide), true);
  const pinned = { ...wide, allowedHosts: ['grimoire.example.com'] };
  assert.equal(hostAllowed('grimoire.example.com', pinned), true);
  assert.equal(hostAllowed('10.1.2.3:6789', pinned), false);
  assert.equal(hostAllowed('127.0.0.1:6789', pinned), true);
});

test('loopback binds are told from the rest', () => {
  for (const h of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) assert.equal(isLoopbackBind(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '127.0.0.1.example.com']) assert.equal(isLoopbackBind(h), false, h);
});

test('only our own Origin may change state; no Origin is a script, "null" never matches', () => {
  assert.equal(originAllowed('http://127.0.0.1:6789', '127.0.0.1:6789'), true);
  assert.equal(originAllowed(undefined, '127.0.0.1:6789'), true);
  assert.equal(originAllowed('http://evil.com', '127.0.0.1:6789'), false);
  assert.equal(originAllowed('null', '127.0.0.1:6789'), false);
  assert.equal(originAllowed('http://127.0.0.1:6790', '127.0.0.1:6789'), false);
});

test('after sign-in a browser is sent only to a path on this server', () => {
  assert.equal(localReturnPath('/projects/demo?x=1'), '/projects/demo?x=1');
  for (const bad of ['//evil.com/x', 'https://evil.com', '/\\evil.com', 'javascript:alert(1)', '', null, '/a/../b']) assert.equal(localReturnPath(bad), '/', String(bad));
});

test('failed sign-ins: five per name and address, twenty per name, then each waits twice as long; a success clears them', () => {
  let now = 1_000_000;
  const t = new SignInThrottle(() => now);
  const keys = ['pair:ana|1.2.3.4', 'user:ana'];
  for (let i = 0; i < 5; i++) {
    assert.equal(t.waitMs(keys), 0);
    t.failed(keys);
  }
  assert.equal(t.waitMs(keys), 1000);
  now += 1000;
  assert.equal(t.waitMs(keys), 0);
  t.failed(keys);
  assert.equal(t.waitMs(keys), 2000);
  // Someone else on the same address is not locked out by that guesser.
  assert.equal(t.waitMs(['pair:bob|1.2.3.4', 'user:bob']), 0);
  // Ana guessed at from many addresses: her name waits after twenty.
  for (let i = 0; i < 14; i++) t.failed([`pair:ana|9.9.9.${i}`, 'user:ana']);
  assert.equal(t.waitMs(['pair:ana|5.5.5.5', 'user:ana']), 1000);
  t.succeeded(keys);
  assert.equal(t.waitMs(keys), 0);
});

test('a flood of failed sign-ins writes at most twenty audit entries a minute, and says how many it left out', () => {
  let now = 0;
  const t = new SignInThrottle(() => now);
  const written = Array.from({ length: 500 }, () => t.auditFailure()).filter((d) => d.write);
  assert.equal(written.length, 20);
  now += 60_000;
  assert.deepEqual(t.auditFailure(), { write: true, unaudited: 480 });
  assert.deepEqual(t.auditFailure(), { write: true, unaudited: 0 });
});
