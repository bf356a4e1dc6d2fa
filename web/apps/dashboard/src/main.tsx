import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { saveToken, tokenFromHash } from './lib/session';
import './styles.css';

// `#token=cs_…` signs in directly: keep the token, then drop it from the address bar
// and history before anything renders.
const fromHash = tokenFromHash(window.location.hash);
if (fromHash) {
  saveToken(fromHash);
  history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/`);
}

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
