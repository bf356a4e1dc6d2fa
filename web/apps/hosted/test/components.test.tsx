import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Chooser } from '../src/components/Chooser';
import { Alert, Frame } from '../src/components/Frame';
import { SignInForm } from '../src/components/SignInForm';
import type { Project } from '../src/lib/api';

const project: Project = { id: 'proj_1', name: 'Acme Cloud', environment: 'test', mode: 'b2b' };
const noop = () => undefined;

describe('the chooser', () => {
  it('is a labelled list of buttons, each named by organization and role', () => {
    const html = renderToStaticMarkup(
      <Chooser
        title="Choose an organization"
        intro={<p>pick</p>}
        options={[
          { organization: { id: 'org_a', name: 'Acme', slug: 'acme' }, role: 'admin', status: 'active' },
          { organization: { id: 'org_g', name: 'Globex', slug: 'globex' }, role: 'member', status: 'active' },
        ]}
        onChoose={noop}
      />,
    );
    expect(html).toContain('<h1 tabindex="-1">Choose an organization</h1>');
    expect(html).toContain('<ul class="org-list" aria-label="Organizations">');
    expect(html).toContain('<button type="button" class="org" aria-label="Acme (admin)">');
    expect(html).toContain('aria-label="Globex (member)"');
    expect(html.match(/<button/g)).toHaveLength(2);
  });
});

describe('the frame', () => {
  it('brands the page with the project name and marks test mode', () => {
    const html = renderToStaticMarkup(
      <Frame project={project}>
        <p>x</p>
      </Frame>,
    );
    expect(html).toContain('<span class="brand">Acme Cloud</span>');
    expect(html).toContain('Test mode');
    expect(html).toContain('<main id="main" class="card">');
    const live = renderToStaticMarkup(<Frame project={{ ...project, environment: 'live' }}>x</Frame>);
    expect(live).not.toContain('Test mode');
  });

  it('an alert renders only when there is something to say', () => {
    expect(renderToStaticMarkup(<Alert>{null}</Alert>)).toBe('');
    expect(renderToStaticMarkup(<Alert>Nope.</Alert>)).toBe('<p role="alert" class="error">Nope.</p>');
  });
});

describe('the sign-in form', () => {
  it('has a labelled email field, prefilled from the hint', () => {
    const html = renderToStaticMarkup(
      <SignInForm
        pk="pk_test_1"
        project={project}
        search="?pk=pk_test_1"
        flow="sign-in"
        email="ada@example.com"
        title="Sign in to Acme Cloud"
        onSignedIn={noop}
      />,
    );
    expect(html).toContain('<h1 tabindex="-1">Sign in to Acme Cloud</h1>');
    const id = html.match(/<label for="([^"]+)">Email<\/label>/)?.[1];
    expect(id).toBeTruthy();
    expect(html).toContain(`id="${id}" type="email"`);
    expect(html).toContain('value="ada@example.com"');
    expect(html).toContain('autoComplete="email"');
    expect(html).toContain('>Email me a sign-in link</button>');
  });
});
