import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl, splitUserinfo } from '../../src/util/redact.ts';

/** Passwords holding each character that ends a URL part, and the forms messages quote URLs in. */
const SPECIAL = [
  '/',
  '?',
  '#',
  '@',
  ':',
  '%',
  '&',
  '=',
  '+',
  ';',
  '[',
  ']',
  '!',
  '$',
  "'",
  '(',
  ')',
  '*',
  ',',
];

test('every URL-special character in a password: the whole userinfo goes, the rest stays', () => {
  for (const c of SPECIAL) {
    const secret = `s3${c}cr${c}et`;
    for (const url of [
      `https://user:${secret}@github.com/org/repo@0123abcd`,
      `https://user:${secret}@example.com:8443/alpine/v3.19/main`,
      `http://user:${secret}@127.0.0.1:5000/repo`,
      `https://user:${secret}@[::1]:5000/repo?x=1#frag`,
    ]) {
      const clean = url.replace(`user:${secret}@`, '');
      for (const text of [url, `fetching ${url} failed`, JSON.stringify(url), `(${url}), next`]) {
        const out = redactUrl(text);
        assert.ok(!out.includes('cr'), `${text} → ${out}`);
        assert.ok(out.includes(clean), `${text} → ${out}`);
      }
      assert.deepEqual(splitUserinfo(url), { userinfo: `user:${secret}`, rest: clean });
    }
  }
});

test('the issue case: a token with / before a revision with @', () => {
  const url = 'https://user:tok/EN@github.com/o/r@SHA';
  assert.equal(redactUrl(url), 'https://github.com/o/r@SHA');
  assert.equal(redactUrl(`a ${url} b ${url}`), 'a https://github.com/o/r@SHA b https://github.com/o/r@SHA');
});

test('URLs without userinfo are unchanged, whatever their paths hold', () => {
  for (const url of [
    'https://github.com/o/r@SHA',
    'https://example.com:8443/a@b/c@d',
    'https://registry.npmjs.org/@scope/pkg',
    'file:///tmp/x@y',
    'https://host?q=a@b',
    'https://host#a@b',
    'not a url: user:pass@host',
    'https://',
  ]) {
    assert.equal(redactUrl(url), url);
    assert.deepEqual(splitUserinfo(url), { rest: url });
  }
});

test('the hint placeholder stays; a token-only userinfo goes', () => {
  assert.equal(redactUrl('put them in https://USER:PASS@host/…'), 'put them in https://USER:PASS@host/…');
  assert.equal(redactUrl('https://ghp_abc@github.com/o/r'), 'https://github.com/o/r');
});

test('a password holding @ before / ? or #: cut at the later @ that precedes a real host', () => {
  for (const c of ['/', '?', '#']) {
    for (const host of ['example.com', '127.0.0.1:5000', '[::1]', 'localhost:8080']) {
      const url = `https://user:p@ss${c}w@rd@${host}/repo`;
      assert.equal(redactUrl(url), `https://${host}/repo`, url);
    }
  }
  // a dotless host with a dotted revision after it: the revision is taken for the host (no secret shown)
  assert.equal(redactUrl('https://u:p@gitlab/o/r@v1.2'), 'https://v1.2');
  assert.equal(redactUrl('https://u:p@gitlab/o/r@abc'), 'https://gitlab/o/r@abc');
  assert.equal(redactUrl('https://u:p@github.com/o/r@v1.2'), 'https://github.com/o/r@v1.2');
});
