import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { ErrorBoundary } from './components/ErrorBoundary';
import { takeMagicLinkToken, takeSsoCode } from './lib/startup';
import './styles.css';

// First of all, before any rendering or request: a magic link's token and an SSO
// return's handoff code leave the address bar and the history, kept in memory for
// /hosted/magic-link and /hosted/sso.
const magicLinkToken = takeMagicLinkToken();
const ssoCode = takeSsoCode();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing');
createRoot(root).render(
  <StrictMode>
    <ErrorBoundary>
      <App magicLinkToken={magicLinkToken} ssoCode={ssoCode} />
    </ErrorBoundary>
  </StrictMode>,
);
